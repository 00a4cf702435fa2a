-- cancel: end single jobs whose provider call has not started `cancelled`: remove each from wherever it waits and
-- The Rust side, crates/queue/src/script/cancel.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- write its terminal records, atomically (one shard). Where a job may wait: a lane (ready: its id leaves its flow,
-- the lane's depth and rotations are kept exact), the scheduled set (`run_at`, or waiting for a retry), its
-- account's parked set, or the leased set with its call not started (its holder token has no '*'): the holder
-- loses its lease here, so its start (hold.lua, which the worker awaits before any call) finds it gone and the job
-- is never called. A job whose call started is left alone ("running": the call goes on and ends as it ends).
-- KEYS[1] jobs (HASH)   KEYS[2] leased (ZSET)   KEYS[3] holders (HASH)   KEYS[4] scheduled (ZSET)
-- KEYS[5] audit (STREAM)   KEYS[6] pending per account (HASH)   KEYS[7] counts (HASH)   KEYS[8] campaign counts
-- (HASH)   KEYS[9] reclaims (HASH)   KEYS[10] legacy ready (LIST)   KEYS[11] the accounts with ready jobs (LIST,
-- R..':accounts')
-- ARGV[1] audit max len   ARGV[2] R, the ready prefix   ARGV[3] the parked sets' prefix (an account's parked set
--   is it followed by the account)   ARGV[4] the id lists' prefix (a bulk job's id list is it followed by its id)
--   ARGV[5] F = number of audit fields   ARGV[6 .. 5+F] the field names; then per job: id, revision read, L ('1':
--   also one record per id in its id list, read here), M = messages it carries, those M values of the `message`
--   field ('' for a purge), then the F values of its record (the `message` value is replaced per record)
-- Returns: per job 1 (cancelled: its records written), 2 (its call started: left alone), 0 (gone, or at another
-- revision than read: the caller reads it again).
local nf = tonumber(ARGV[5])
local names = {}
for f = 1, nf do names[f] = ARGV[5 + f] end
local mi, oi = position(names, 'message'), position(names, 'outcome')
local R, parked_prefix, list_prefix = ARGV[2], ARGV[3], ARGV[4]
local results, pending, counts, outcomes, depth = {}, {}, {}, {}, {}

-- Writes one record per message value, from the template at ARGV[from .. from + nf - 1]; returns how many.
local function write(from, messages)
  local fields = {}
  for f = 1, nf do
    fields[2 * f - 1] = names[f]
    fields[2 * f] = ARGV[from + f - 1]
  end
  for _, message in ipairs(messages) do
    fields[2 * mi] = message
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
  end
  return #messages
end

-- Takes job `id` out of its lane (ready); false when it waits in none.
local function unready(id, account, lane, flow)
  local flows = lane_key(R, lane, account)
  local removed = redis.call('LREM', flows .. ':' .. flow, 0, id)
  if removed == 0 then
    return redis.call('LREM', KEYS[10], 0, id) > 0
  end
  tally(depth, lane .. ':' .. account, -removed)
  if redis.call('EXISTS', flows .. ':' .. flow) == 0 then
    redis.call('LREM', flows, 0, flow)
    if not has_ready(R, account) then redis.call('LREM', KEYS[11], 0, account) end
  end
  return true
end

local i = 6 + nf
while i <= #ARGV do
  local id, rev, listed, nmsg = ARGV[i], ARGV[i + 1], ARGV[i + 2] == '1', tonumber(ARGV[i + 3])
  local messages = {}
  for m = 1, nmsg do messages[m] = ARGV[i + 3 + m] end
  local template = i + 4 + nmsg
  i = template + nf
  local current = redis.call('HGET', KEYS[1], id)
  local holder = redis.call('HGET', KEYS[3], id)
  local result = 0
  if at_revision(current, rev) and holder and string.sub(holder, -1) == '*' then
    result = 2
  elseif at_revision(current, rev) then
    local account, campaign, lane, flow = header(current)
    if redis.call('ZREM', KEYS[2], id) == 1 then
      tally(counts, 'leased:' .. account, -1)
    elseif redis.call('ZREM', KEYS[4], id) == 1 then
      tally(counts, 'scheduled:' .. account, -1)
    elseif redis.call('ZREM', parked_prefix .. account, id) == 0 then
      unready(id, account, lane, flow)
    end
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[9], id)
    tally(pending, account, -1)
    if listed then
      for _, message in ipairs(redis.call('LRANGE', list_prefix .. id, 0, -1)) do
        messages[#messages + 1] = message
      end
    end
    redis.call('DEL', list_prefix .. id)
    local written = write(template, messages)
    if campaign ~= '' and written > 0 then
      tally(outcomes, campaign .. ':' .. ARGV[template + oi - 1], written)
    end
    result = 1
  end
  results[#results + 1] = result
end
apply_tally(KEYS[6], pending)
apply_tally(KEYS[7], counts)
apply_tally(KEYS[8], outcomes)
apply_tally(R .. ':depth', depth)
return results
