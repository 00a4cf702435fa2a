-- reschedule: put leased jobs back for a later attempt, with their rewritten envelope and a retry audit record.
-- The Rust side, crates/queue/src/script/reschedule.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- Also sets a parked account's jobs aside (target = its parked set, which is counted by its own size). Due times
-- are Redis's now + the delay asked for: no worker's clock moves them.
-- KEYS[1] jobs (HASH)   KEYS[2] leased (ZSET)   KEYS[3] target (ZSET id -> Redis ms)   KEYS[4] audit (STREAM)
-- KEYS[5] counts (HASH)   KEYS[6] campaign counts (HASH)   KEYS[7] holders (HASH)   KEYS[8] reclaims (HASH)
-- KEYS[9] (parking only) parked accounts (SET): each job's account is added
-- ARGV[1] audit max len   ARGV[2] F   ARGV[3] state counted for the target ('scheduled', or '' for none)
-- ARGV[4 .. 3+F] field names; then per job: id, rev, holder token, delay (ms), attempted (1: its provider call
--   returned, so its reclaim count starts over; 0: keep it), new envelope, R = records, then R * F name, value pairs.
-- Returns: per job 1 if rescheduled, 0 if skipped: finished, rewritten since, or no longer held with this token
-- (its lease expired and it was reclaimed, or it was released: it will run again anyway).
local nf = tonumber(ARGV[2])
local state = ARGV[3]
local names = {}
for f = 1, nf do names[f] = ARGV[3 + f] end
local oi = position(names, 'outcome')
local now = now_ms()
local results, outcomes = {}, {}
local i = 4 + nf
while i <= #ARGV do
  local id, rev, token, delay, attempted, envelope, nrec =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
  i = i + 7
  local current = redis.call('HGET', KEYS[1], id)
  local holder = redis.call('HGET', KEYS[7], id)
  local ok = at_revision(current, rev) and holder and held_by(holder, token)
  if ok then
    local account, campaign = header(current)
    redis.call('HSET', KEYS[1], id, restamp(current, tonumber(rev) + 1, envelope))
    redis.call('HDEL', KEYS[7], id)
    if redis.call('ZREM', KEYS[2], id) == 1 then count(KEYS[5], 'leased', account, -1) end
    if attempted == '1' then redis.call('HDEL', KEYS[8], id) end
    if redis.call('ZADD', KEYS[3], now + delay, id) == 1 and state ~= '' then count(KEYS[5], state, account, 1) end
    if KEYS[9] then redis.call('SADD', KEYS[9], account) end
    write_records(KEYS[4], ARGV[1], nf, i, nrec)
    count_outcomes(outcomes, campaign, oi, nf, i, nrec)
  end
  results[#results + 1] = ok and 1 or 0
  i = i + nrec * 2 * nf
end
apply_tally(KEYS[6], outcomes)
return results
