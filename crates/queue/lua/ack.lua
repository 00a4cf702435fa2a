-- ack: finish jobs: write their terminal audit records, dead-letter the failed ones, and forget them, atomically.
-- KEYS[1] jobs (HASH)   KEYS[2] leased (ZSET)   KEYS[3] scheduled (ZSET)   KEYS[4] audit (STREAM)
-- KEYS[5] dead (ZSET id -> ms)   KEYS[6] dead jobs (HASH id -> "rev|envelope")   KEYS[7] pending per account (HASH)
-- ARGV[1] now (ms)   ARGV[2] audit max len   ARGV[3] dead max len   ARGV[4] dead max age (ms)
-- ARGV[5] F = number of audit fields   ARGV[6 .. 5+F] the field names; then per job: id, rev, dead-letter value
--   ("" = none), account, R = records,
--   then R * F values.
-- Returns: per job 1 if it was finished here, 0 if it was not (already finished, or rewritten by a retry since it
-- was leased). The job record is the terminal marker: a re-run after a crash, or a second worker whose lease had
-- expired, finds it gone or at a newer revision and writes nothing, so every message gets one terminal record.
local nf = tonumber(ARGV[5])
local names = {}
for f = 1, nf do names[f] = ARGV[5 + f] end
local results = {}
local dead_written = false
local i = 6 + nf
while i <= #ARGV do
  local id, rev, dead, account, nrec = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  i = i + 5
  local current = redis.call('HGET', KEYS[1], id)
  local ok = at_revision(current, rev)
  if ok then
    redis.call('HDEL', KEYS[1], id)
    if redis.call('HINCRBY', KEYS[7], account, -1) <= 0 then redis.call('HDEL', KEYS[7], account) end
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    write_records(KEYS[4], ARGV[2], names, nf, i, nrec)
    if dead ~= '' then
      dead_written = true
      redis.call('HSET', KEYS[6], id, dead)
      redis.call('ZADD', KEYS[5], ARGV[1], id)
      local excess = redis.call('ZCARD', KEYS[5]) - tonumber(ARGV[3])
      if excess > 0 then
        local oldest = redis.call('ZPOPMIN', KEYS[5], excess)
        for o = 1, #oldest, 2 do redis.call('HDEL', KEYS[6], oldest[o]) end
      end
    end
  end
  results[#results + 1] = ok and 1 or 0
  i = i + nrec * nf
end
-- Dead letters older than the max age go too, a bounded number per call.
if dead_written then
  local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[4]), 'LIMIT', 0, 100)
  if #old > 0 then
    redis.call('ZREM', KEYS[5], unpack(old))
    redis.call('HDEL', KEYS[6], unpack(old))
  end
end
return results
