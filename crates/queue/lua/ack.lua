-- ack: finish jobs: write their terminal audit records, dead-letter the failed ones, and forget them, atomically.
-- The Rust side, crates/queue/src/script/ack.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- KEYS[1] jobs (HASH)   KEYS[2] leased (ZSET)   KEYS[3] audit (STREAM)   KEYS[4] dead (ZSET id -> ms)
-- KEYS[5] dead jobs (HASH id -> stored value)   KEYS[6] pending per account (HASH)   KEYS[7] counts (HASH)
-- KEYS[8] reclaims (HASH)   KEYS[9] campaign counts (HASH)   KEYS[10] holders (HASH)
-- ARGV[1] audit max len   ARGV[2] dead max len   ARGV[3] dead max age (ms)
-- ARGV[4] F = number of audit fields   ARGV[5 .. 4+F] the field names; then per job: id, rev, dead-letter envelope
--   ("" = none), R = records, then R * F name, value pairs. Dead letters are stamped with Redis's clock.
-- Returns: the positions (1-based, in ARGV order) of the jobs not finished here (already finished, or rewritten by
-- a retry since they were leased): an empty list when every job was. The job record is the terminal marker: a re-run after a crash, or a second worker whose lease had
-- expired, finds it gone or at a newer revision and writes nothing, so every message gets one terminal record, and
-- every campaign counter moves once per message.
-- A stale holder's ack (its lease expired and another worker holds the job now) counts when the job is still at
-- the revision it leased: its call was made and its answer is the truth. It ends the current holder's lease too,
-- so a holder whose call has not started finds its lease gone (hold.lua) and never calls; one whose call started
-- finds the job finished and writes nothing. Only the holder reschedules or releases (reschedule.lua, release.lua).
local nf = tonumber(ARGV[4])
local names = {}
for f = 1, nf do names[f] = ARGV[4 + f] end
local now = now_ms()
local oi = position(names, 'outcome')
local misses, n_misses = {}, 0
local dead_written = false
local any_reclaimed = redis.call('EXISTS', KEYS[8]) == 1
local pending, counts, outcomes = {}, {}, {}

-- The jobs' ids and where each one's arguments start, then one read of all their values.
local ids, at = {}, {}
local i, argc, count = 5 + nf, #ARGV, 0
while i <= argc do
  count = count + 1
  ids[count] = ARGV[i]
  at[count] = i
  i = i + 4 + tonumber(ARGV[i + 3]) * 2 * nf
end
local values = read_all('HMGET', KEYS[1], ids)
-- Finished here, written once per batch (per account for the leases, so the leased counts stay exact).
local finished, seen, unleased, n_finished = {}, {}, {}, 0
for n = 1, count do
  local id, first = ids[n], at[n]
  local rev, dead, nrec = ARGV[first + 1], ARGV[first + 2], tonumber(ARGV[first + 3])
  local current = values[n]
  -- An id twice in one batch is finished by its first entry only (the second finds it gone, as it would have).
  local ok = not seen[id] and at_revision(current, rev)
  if ok then
    seen[id] = true
    local account, campaign = account_and_campaign(current)
    n_finished = n_finished + 1
    finished[n_finished] = id
    local of_account = unleased[account]
    if not of_account then
      of_account = {}
      unleased[account] = of_account
    end
    of_account[#of_account + 1] = id
    -- Nothing to remove from the scheduled set: a job waiting there is at a revision no lease holds.
    write_records(KEYS[3], ARGV[1], nf, first + 4, nrec)
    count_outcomes(outcomes, campaign, oi, nf, first + 4, nrec)
    if dead ~= '' then
      dead_written = true
      local letter = restamp(current, rev == 'any' and 0 or rev, dead)
      if redis.call('HSET', KEYS[5], id, letter) == 1 then tally(counts, 'dead:' .. account, 1) end
      redis.call('ZADD', KEYS[4], now, id)
    end
  end
  if not ok then
    n_misses = n_misses + 1
    misses[n_misses] = n
  end
end
if #finished > 0 then
  write_all('HDEL', KEYS[1], false, finished, 1)
  write_all('HDEL', KEYS[10], false, finished, 1)
  if any_reclaimed then write_all('HDEL', KEYS[8], false, finished, 1) end
  for account, of_account in pairs(unleased) do
    tally(pending, account, -#of_account)
    tally(counts, 'leased:' .. account, -write_all('ZREM', KEYS[2], false, of_account, 1))
  end
end
apply_tally(KEYS[6], pending)
apply_tally(KEYS[7], counts)
apply_tally(KEYS[9], outcomes)
-- One bounded trim step (the oldest over the max len, then those past the max age): it removes at least what this
-- call added, and a set left over its bound (the bound was lowered) shrinks by the rest of the step each time;
-- maintenance catches up the rest.
if dead_written then
  trim_dead(KEYS[4], KEYS[5], KEYS[7], tonumber(ARGV[2]), now - tonumber(ARGV[3]), TRIM_STEP)
end
return misses
