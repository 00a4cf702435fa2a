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
local ids = {}
for i = 2, #ARGV, 3 do ids[#ids + 1] = ARGV[i] end
-- One read of every holder, then one write of each kind: no call per job.
local holders = read_all('HMGET', KEYS[2], ids)
local out, marks, extends = {}, {}, {}
for n = 1, #ids do
  local i = 2 + (n - 1) * 3
  local id, token, holder = ids[n], ARGV[i + 1], holders[n]
  if holder and held_by(holder, token) then
    if ARGV[i + 2] == 's' then
      if holder == token then
        marks[#marks + 1] = id
        marks[#marks + 1] = token .. '*'
      end
    else
      extends[#extends + 1] = expiry
      extends[#extends + 1] = id
    end
    out[n] = 1
  else
    out[n] = 0
  end
end
if #marks > 0 then write_all('HSET', KEYS[2], false, marks, 2) end
if #extends > 0 then write_all('ZADD', KEYS[1], 'XX', extends, 2) end
return out
