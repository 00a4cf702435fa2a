-- hold: keep one worker's leases: push their expiry to Redis's now + lease, and mark the jobs whose provider call
-- The Rust side, crates/queue/src/script/hold.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- starts now (a reclaim counts toward a job's poison limit only if its call had started).
-- KEYS[1] leased (ZSET id -> lease expiry, Redis ms)   KEYS[2] holders (HASH id -> token, '*' once started)
-- ARGV[1] lease (ms)   then per job: id, holder token, 's' (its call starts: mark it; its lease was taken or
--   extended moments ago, so it is not extended here) or 'e' (extend only)
-- Returns: per job 1 if the token holds it (extended for 'e', marked for 's'), 0 if not: finished, released,
-- cancelled before its call (cancel.lua), or its lease expired and was reclaimed. Nothing is written for those.
local expiry = now_ms() + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 3 do
  local id, token = ARGV[i], ARGV[i + 1]
  local holder = redis.call('HGET', KEYS[2], id)
  if holder and held_by(holder, token) then
    if ARGV[i + 2] == 's' then
      if holder == token then redis.call('HSET', KEYS[2], id, token .. '*') end
    else
      redis.call('ZADD', KEYS[1], 'XX', expiry, id)
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
