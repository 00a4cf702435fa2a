-- lease: take up to N ready jobs and reserve them until the lease expires.
-- KEYS[1] ready (LIST)   KEYS[2] leased (ZSET id -> lease expiry ms)   KEYS[3] jobs (HASH)   KEYS[4] wake (LIST)
-- KEYS[5] counts (HASH)   KEYS[6] reclaims (HASH id -> times its lease expired)
-- KEYS[7] cancelled campaigns (SET)
-- ARGV[1] lease expiry (ms)   ARGV[2] N
-- Returns: a flat list id, value, reclaims, cancelled (1/0) per job. Ids whose job is gone (finished while the id
-- waited in the list) are dropped here, which is why nothing ever scans the list to remove them.
local ids = redis.call('LPOP', KEYS[1], tonumber(ARGV[2]))
local out = {}
if not ids then return out end
-- Reclaims are rare: look them up only when some job has one.
local any_reclaimed = redis.call('EXISTS', KEYS[6]) == 1
local any_cancelled = redis.call('EXISTS', KEYS[7]) == 1
local counts = {}
for _, id in ipairs(ids) do
  local value = redis.call('HGET', KEYS[3], id)
  if value then
    local account, campaign = header(value)
    if redis.call('ZADD', KEYS[2], ARGV[1], id) == 1 then tally(counts, 'leased:' .. account, 1) end
    out[#out + 1] = id
    out[#out + 1] = value
    out[#out + 1] = any_reclaimed and redis.call('HGET', KEYS[6], id) or '0'
    out[#out + 1] = (any_cancelled and campaign ~= '' and redis.call('SISMEMBER', KEYS[7], campaign) == 1) and '1' or '0'
  end
end
apply_tally(KEYS[5], counts)
-- More work is waiting: pass the token on so another idle worker wakes too.
if redis.call('LLEN', KEYS[1]) > 0 then
  wake(KEYS[4])
end
return out
