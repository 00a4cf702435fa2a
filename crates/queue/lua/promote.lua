-- promote: move up to N due jobs from a time-ordered set to the ready list. Used for scheduled jobs and retries
-- The Rust side, crates/queue/src/script/promote.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- (scheduled set, to the back), parked jobs of a resumed account (to the back) and expired leases (leased set, to
-- the front: a killed worker's jobs). A reclaim is counted only for a job whose provider call had started (its
-- holder entry ends in '*'), so a job that kills every worker can be stopped without punishing the jobs that
-- waited in its worker's buffer.
-- KEYS[1] source (ZSET id -> Redis ms)   KEYS[2] the accounts with ready jobs (LIST, the lanes' root)
-- KEYS[3] wake (LIST)   KEYS[4] jobs (HASH)
-- KEYS[5] counts (HASH)   KEYS[6] reclaims (HASH)   KEYS[7] holders (HASH)
-- ARGV[1] 'now' (members due by Redis's clock) or 'all'   ARGV[2] N (at most 1000, under Lua's unpack limit)
-- ARGV[3] 'front' or 'back'   ARGV[4] the state counted for the source ('scheduled', 'leased', or '' for none)
-- ARGV[5] R, the ready prefix: each job goes to its own lane and flow (a job already finished is dropped)
-- Returns: how many moved; the caller repeats while it gets N.
local cutoff = ARGV[1] == 'all' and '+inf' or now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(ids))
local state = ARGV[4]
local values = redis.call('HMGET', KEYS[4], unpack(ids))
local holders = state == 'leased' and redis.call('HMGET', KEYS[7], unpack(ids)) or {}
local ready = ready_batch(ARGV[5], ARGV[3] == 'front')
for n = 1, #ids do
  if values[n] then
    if state ~= '' then count(KEYS[5], state, (header(values[n])), -1) end
    local holder = holders[n]
    if holder and string.sub(holder, -1) == '*' then redis.call('HINCRBY', KEYS[6], ids[n], 1) end
    ready_add(ready, ids[n], values[n])
  end
end
if state == 'leased' then redis.call('HDEL', KEYS[7], unpack(ids)) end
ready_flush(ready)
wake(KEYS[3])
return #ids
