-- promote: move up to N due jobs from a time-ordered set to the ready list. Used for scheduled jobs and retries
-- (scheduled set, to the back), parked jobs of a resumed account (to the back) and expired leases (leased set, to
-- the front: a killed worker's jobs, each reclaim counted so a job that kills every worker can be stopped).
-- KEYS[1] source (ZSET id -> ms)   KEYS[2] ready (LIST)   KEYS[3] wake (LIST)   KEYS[4] jobs (HASH)
-- KEYS[5] counts (HASH)   KEYS[6] reclaims (HASH)
-- ARGV[1] now (ms)   ARGV[2] N (at most 1000, under Lua's unpack limit)   ARGV[3] 'front' or 'back'
-- ARGV[4] the state counted for the source ('scheduled', 'leased', or '' for none)
-- Returns: how many moved; the caller repeats while it gets N.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(ids))
local state = ARGV[4]
if state ~= '' then
  local values = redis.call('HMGET', KEYS[4], unpack(ids))
  for n = 1, #ids do
    if values[n] then
      count(KEYS[5], state, (header(values[n])), -1)
      if state == 'leased' then redis.call('HINCRBY', KEYS[6], ids[n], 1) end
    end
  end
end
if ARGV[3] == 'front' then
  redis.call('LPUSH', KEYS[2], unpack(ids))
else
  redis.call('RPUSH', KEYS[2], unpack(ids))
end
wake(KEYS[3])
return #ids
