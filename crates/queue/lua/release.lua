-- release: hand leased jobs back, unchanged, to the front of the ready list (graceful shutdown, a job that may
-- not run yet). No attempt is spent and no reclaim is counted. Only the holder's token releases a lease.
-- KEYS[1] leased (ZSET)   KEYS[2] ready (LIST)   KEYS[3] wake (LIST)   KEYS[4] jobs (HASH)   KEYS[5] counts (HASH)
-- KEYS[6] holders (HASH)
-- ARGV[1] 'waiting' (only leases whose call has not started: a call in flight keeps its lease) or 'any'
-- ARGV[2..]: per job: id, holder token
-- Returns: how many were released (an id whose lease expired was reclaimed and is ready already, or held by
-- another worker now: it is left alone).
local n = 0
local waiting_only = ARGV[1] == 'waiting'
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local holder = redis.call('HGET', KEYS[6], id)
  local releasable = holder and (holder == ARGV[i + 1] or (not waiting_only and held_by(holder, ARGV[i + 1])))
  if releasable and redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('HDEL', KEYS[6], id)
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
