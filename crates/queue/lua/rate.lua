-- rate: reserve call slots for one account under GCRA, shared by every worker; or, after a 429, slow the
-- account down for everyone. The slow-down halves again for every quiet period without a 429.
-- KEYS[1] the account's limiter (HASH: tat = theoretical arrival time ms, factor = slow-down, calm = ms)
-- ARGV[1] now (ms)   ARGV[2] emission interval (ms, may be fractional)   ARGV[3] burst   ARGV[4] slots to reserve
--   ARGV[5] quiet period (ms)   ARGV[6] 'reserve' or 'penalize'
-- Returns: for 'reserve', one wait (ms from now) per slot, in order; for 'penalize', the new factor.
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n, quiet = tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'calm')
local tat, factor, calm = tonumber(h[1]) or now, tonumber(h[2]) or 1, tonumber(h[3]) or now
while factor > 1 and now - calm >= quiet do
  factor = math.max(1, factor / 2)
  calm = calm + quiet
end
if ARGV[6] == 'penalize' then
  factor = math.min(factor * 2, 64)
  calm = now
  n = 0
end
local step = interval * factor
local tolerance = step * (burst - 1)
local waits = {}
for i = 1, n do
  local start = math.max(tat, now)
  waits[i] = math.max(0, math.ceil(start - tolerance - now))
  tat = start + step
end
redis.call('HSET', KEYS[1], 'tat', tat, 'factor', factor, 'calm', calm)
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(tat - now, 0) + quiet * 8 + 60000))
if ARGV[6] == 'penalize' then return tostring(factor) end
return waits
