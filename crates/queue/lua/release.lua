-- release: hand leased jobs back, unchanged, to the front of the ready list (graceful shutdown, a job that may
-- not run yet). No attempt is spent.
-- KEYS[1] leased (ZSET)   KEYS[2] ready (LIST)   KEYS[3] wake (LIST)   KEYS[4] jobs (HASH)   KEYS[5] counts (HASH)
-- ARGV: job ids
-- Returns: how many were released (an id whose lease already expired was reclaimed and is ready already).
local n = 0
for _, id in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    local value = redis.call('HGET', KEYS[4], id)
    if value then count(KEYS[5], 'leased', (header(value)), -1) end
    redis.call('LPUSH', KEYS[2], id)
    n = n + 1
  end
end
if n > 0 then
  wake(KEYS[3])
end
return n
