-- rate: one account's limiter, shared by every worker. GCRA with reservations (each call is given its slot), a
-- slow-down after a 429 (halving again for every quiet period without one), and the budget the provider reports
-- (calls left until its window resets): while that budget is known, calls are spaced so that it lasts until the
-- reset, and none is placed before the reset once it is spent. Every time is Redis's TIME (ms); workers pass
-- durations only.
-- KEYS[1] the account's limiter (HASH; tat = theoretical arrival time, factor = slow-down, calm = last 429 or
--   halving, step = spacing of the latest slot, b_reset = when the provider's window resets, b_left = calls of it
--   not yet handed out, b_remaining / b_limit / b_seen = the provider's report and when it came; times in ms)
-- ARGV[1] 'reserve', 'penalize', 'observe' or 'peek'   ARGV[2] emission interval (ms, may be fractional)
--   ARGV[3] burst   ARGV[4] quiet period (ms)
--   reserve: ARGV[5] most slots   ARGV[6] span (ms): slots starting that far ahead are left for later refills
--   observe: ARGV[5] remaining   ARGV[6] reset after (ms)   ARGV[7] the provider's limit ('' when not reported)
-- Returns: reserve, one wait (ms from now) per slot, in order; penalize, the new factor; observe, the spacing (ms)
--   the next slot gets; peek, {factor, b_limit, b_remaining, b_left, ms until b_reset, b_seen, now} as strings
--   ('' for unknown fields).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode, interval, burst, quiet = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'calm', 'step', 'b_reset', 'b_left', 'b_limit',
  'b_remaining', 'b_seen')
local tat, factor, calm = tonumber(h[1]) or now, tonumber(h[2]) or 1, tonumber(h[3]) or now
local last_step, reset, left = tonumber(h[4]), tonumber(h[5]), tonumber(h[6])
while factor > 1 and now - calm >= quiet do
  factor = math.max(1, factor / 2)
  calm = calm + quiet
end
local base = interval * factor

if mode == 'peek' then
  local reset_in = reset and math.max(reset - now, 0) or ''
  return {tostring(factor), h[7] or '', h[8] or '', h[6] or '', tostring(reset_in), h[9] or '', tostring(now)}
end

-- The slot after `start`: its start (pushed to the reset when the budget is spent) and the spacing after it.
local function place(start)
  if reset and start < reset then
    if left <= 0 then return reset, base end
    return start, math.max(base, (reset - start) / left), true
  end
  return start, base
end

local result
if mode == 'penalize' then
  factor = math.min(factor * 2, 64)
  calm = now
  result = tostring(factor)
elseif mode == 'observe' then
  -- Slots already handed out and not yet due have not reached the provider: they spend this budget too.
  local ahead = 0
  if tat > now then ahead = math.ceil((tat - now) / math.max(last_step or base, 0.001)) end
  reset = now + tonumber(ARGV[6])
  left = math.max(tonumber(ARGV[5]) - ahead, 0)
  redis.call('HSET', KEYS[1], 'b_reset', reset, 'b_left', left, 'b_remaining', ARGV[5], 'b_seen', now)
  if ARGV[7] == '' then redis.call('HDEL', KEYS[1], 'b_limit') else redis.call('HSET', KEYS[1], 'b_limit', ARGV[7]) end
  local start, step = place(math.max(tat, now))
  result = tostring(math.max(step, start - now))
else
  local most, span = tonumber(ARGV[5]), tonumber(ARGV[6])
  -- While the provider's budget applies, its spacing rules: no burst may pull a slot before the reset.
  local capped = reset and now < reset
  local tolerance = capped and 0 or base * (burst - 1)
  result = {}
  for i = 1, most do
    local start, step, counted = place(math.max(tat, now))
    if i > 1 and start - now >= span then break end
    if counted then left = left - 1 end
    result[i] = math.max(0, math.ceil(start - tolerance - now))
    tat = start + step
    last_step = step
  end
  if capped then redis.call('HSET', KEYS[1], 'b_left', left) end
end
redis.call('HSET', KEYS[1], 'tat', tat, 'factor', factor, 'calm', calm, 'step', last_step or base)
local until_ms = math.max(tat - now, (reset or now) - now, 0)
redis.call('PEXPIRE', KEYS[1], math.ceil(until_ms + quiet * 8 + 60000))
return result
