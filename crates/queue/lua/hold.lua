-- hold: keep one worker's leases: push their expiry to Redis's now + lease, and mark the jobs whose provider call
-- starts now (a reclaim counts toward a job's poison limit only if its call had started).
-- KEYS[1] leased (ZSET id -> lease expiry, Redis ms)   KEYS[2] holders (HASH id -> token, '*' once started)
-- ARGV[1] lease (ms)   then per job: id, holder token, 's' (its call starts: mark it) or 'e' (extend only)
-- Returns: per job 1 if the token holds it (now extended, and marked for 's'), 0 if not: finished, released, or
-- its lease expired and was reclaimed. Nothing is written for those, and a call not started yet must not start.
local expiry = now_ms() + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 3 do
  local id, token = ARGV[i], ARGV[i + 1]
  local holder = redis.call('HGET', KEYS[2], id)
  if holder and held_by(holder, token) then
    redis.call('ZADD', KEYS[1], 'XX', expiry, id)
    if ARGV[i + 2] == 's' and holder == token then redis.call('HSET', KEYS[2], id, token .. '*') end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
