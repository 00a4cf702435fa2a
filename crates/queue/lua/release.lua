-- release: hand leased jobs back, unchanged, to the front of their lanes (graceful shutdown, a job that may not
-- The Rust side, crates/queue/src/script/release.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- run yet, a job whose account has no rate-limit slot within the horizon). No attempt is spent and no reclaim is
-- counted. Only the holder's token releases a lease.
-- KEYS[1] leased (ZSET)   KEYS[2] the accounts with ready jobs (LIST, the lanes' root)   KEYS[3] wake (LIST)
-- KEYS[4] jobs (HASH)   KEYS[5] counts (HASH)   KEYS[6] holders (HASH)
-- ARGV[1] 'waiting' (only leases whose call has not started: a call in flight keeps its lease) or 'any'
-- ARGV[2] R, the ready prefix   ARGV[3] an account whose next rate-limit slot is later than the leases assumed
--   ('' for none)   ARGV[4] ms from Redis's now until that slot: the shard's pace for the account (lease.lua) moves
--   there, so its jobs wait in their lanes until their calls fit the horizon
-- ARGV[5..]: per job: id, holder token
-- Returns: how many were released (an id whose lease expired was reclaimed and is ready already, or held by
-- another worker now: it is left alone).
local n = 0
local waiting_only = ARGV[1] == 'waiting'
local ready = ready_batch(ARGV[2], true)
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local holder = redis.call('HGET', KEYS[6], id)
  local releasable = holder and (holder == ARGV[i + 1] or (not waiting_only and held_by(holder, ARGV[i + 1])))
  if releasable and redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('HDEL', KEYS[6], id)
    local value = redis.call('HGET', KEYS[4], id)
    if value then
      count(KEYS[5], 'leased', (header(value)), -1)
      ready_add(ready, id, value)
    end
    n = n + 1
  end
end
ready_flush(ready)
if ARGV[3] ~= '' then
  local pace, at = ARGV[2] .. ':pace', now_ms() + tonumber(ARGV[4])
  if (tonumber(redis.call('HGET', pace, ARGV[3])) or 0) < at then
    redis.call('HSET', pace, ARGV[3], at)
    redis.call('PEXPIRE', pace, PACE_KEPT)
  end
end
if n > 0 then
  wake(KEYS[3])
end
return n
