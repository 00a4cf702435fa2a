-- promote: move up to N due jobs from a time-ordered set to the ready list. Used for scheduled jobs and retries
-- (scheduled set, to the back) and for expired leases (leased set, to the front: a killed worker's jobs).
-- KEYS[1] source (ZSET id -> ms)   KEYS[2] ready (LIST)   KEYS[3] wake (LIST)
-- ARGV[1] now (ms)   ARGV[2] N (at most 1000, under Lua's unpack limit)   ARGV[3] 'front' or 'back'
-- Returns: how many moved; the caller repeats while it gets N.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(ids))
if ARGV[3] == 'front' then
  redis.call('LPUSH', KEYS[2], unpack(ids))
else
  redis.call('RPUSH', KEYS[2], unpack(ids))
end
wake(KEYS[3])
return #ids
