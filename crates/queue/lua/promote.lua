-- promote: move up to N due jobs from a time-ordered set to the ready list. Used for scheduled jobs and retries
-- (scheduled set, to the back), parked jobs of a resumed account (to the back) and expired leases (leased set, to
-- the front: a killed worker's jobs). A reclaim is counted only for a job whose provider call had started (its
-- holder entry ends in '*'), so a job that kills every worker can be stopped without punishing the jobs that
-- waited in its worker's buffer.
-- KEYS[1] source (ZSET id -> Redis ms)   KEYS[2] ready (LIST)   KEYS[3] wake (LIST)   KEYS[4] jobs (HASH)
-- KEYS[5] counts (HASH)   KEYS[6] reclaims (HASH)   KEYS[7] holders (HASH)
-- ARGV[1] 'now' (members due by Redis's clock) or 'all'   ARGV[2] N (at most 1000, under Lua's unpack limit)
-- ARGV[3] 'front' or 'back'   ARGV[4] the state counted for the source ('scheduled', 'leased', or '' for none)
-- Returns: how many moved; the caller repeats while it gets N.
local cutoff = ARGV[1] == 'all' and '+inf' or now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(ids))
local state = ARGV[4]
if state ~= '' then
  local values = redis.call('HMGET', KEYS[4], unpack(ids))
  local holders = state == 'leased' and redis.call('HMGET', KEYS[7], unpack(ids)) or {}
  for n = 1, #ids do
    if values[n] then
      count(KEYS[5], state, (header(values[n])), -1)
      local holder = holders[n]
      if holder and string.sub(holder, -1) == '*' then redis.call('HINCRBY', KEYS[6], ids[n], 1) end
    end
  end
  if state == 'leased' then redis.call('HDEL', KEYS[7], unpack(ids)) end
end
if ARGV[3] == 'front' then
  redis.call('LPUSH', KEYS[2], unpack(ids))
else
  redis.call('RPUSH', KEYS[2], unpack(ids))
end
wake(KEYS[3])
return #ids
