-- enqueue: store new jobs and make them ready (or scheduled, when due later).
-- KEYS[1] jobs (HASH id -> "rev|envelope")   KEYS[2] ready (LIST)   KEYS[3] scheduled (ZSET id -> due ms)
-- KEYS[4] wake (LIST, one token)
-- ARGV[1] now (ms), then per job: id, due (ms), stored value
-- Returns: how many jobs were new (an id that already exists is left untouched, so a retried enqueue is harmless).
local now = tonumber(ARGV[1])
local added, ready = 0, 0
for i = 2, #ARGV, 3 do
  local id, due = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('HSETNX', KEYS[1], id, ARGV[i + 2]) == 1 then
    added = added + 1
    if due > now then
      redis.call('ZADD', KEYS[3], due, id)
    else
      redis.call('RPUSH', KEYS[2], id)
      ready = ready + 1
    end
  end
end
if ready > 0 then
  redis.call('LPUSH', KEYS[4], '1')
  redis.call('LTRIM', KEYS[4], 0, 0)
end
return added
