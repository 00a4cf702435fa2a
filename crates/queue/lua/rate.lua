-- rate: one account's limiter, shared by every worker. GCRA with reservations (each call is given its slot), a
-- The Rust side, crates/queue/src/script/rate.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- slow-down after a 429 (halving again for every quiet period without one; while the provider's reported window
-- lasts, a 429 spends that window instead; either way it revokes the slots handed out), and the budget the provider reports
-- (calls left until its window resets): while that budget is known, calls are spaced so that it lasts until the
-- reset, and none is placed before the reset once it is spent. With the provider's limit known and its window
-- length learnt (the distance between two reset instants), calls are also never closer than window / limit, so
-- a window's budget is spread over it rather than spent at its start; this lasts one window past the last reset
-- reported. Slots are handed out in generations: a report whose
-- budget cannot cover the slots already handed out (jobs deferred to their slot hold them, possibly seconds ahead)
-- revokes them all by starting a new generation; a deferred job of an older generation reserves again. Every
-- time is Redis's TIME (ms); workers pass durations only.
-- KEYS[1] the account's limiter (HASH; tat = theoretical arrival time, factor = slow-down, calm = last 429 or
--   halving, step = spacing of the latest slot, b_reset = when the provider's window resets, b_left = calls of it
--   not yet handed out, b_remaining / b_limit / b_seen = the provider's report and when it came, b_window = the
--   shortest distance seen between two reset instants, gen = the generation of the slots handed out, run = when
--   the current run of back-to-back slots began; times in ms)
-- ARGV[1] 'reserve', 'penalize', 'observe' or 'peek'   ARGV[2] emission interval (ms, may be fractional)
--   ARGV[3] burst   ARGV[4] quiet period (ms)
--   reserve: ARGV[5] most slots   ARGV[6] span (ms): slots starting that far ahead are left for later refills
--     ARGV[7] horizon (ms): no slot is handed out further ahead than this (no job holds the future: a job whose
--     slot would be later waits in its lane, and a later `high` job takes the next free slot)
--   observe: ARGV[5] remaining   ARGV[6] reset after (ms)   ARGV[7] the provider's limit ('' when not reported)
--     ARGV[8] how late a slot's call may reach the provider (ms; jobs deferred to a slot come back late)
-- Returns: reserve, {gen, 0, then one wait (ms from now) per slot, in order}, or {gen, ms until the first slot}
--   when it is beyond the horizon (nothing is reserved then); penalize, the new factor; observe,
--   {the spacing (ms) the next slot gets, as a string; gen}; peek, {factor, b_limit, b_remaining, b_left, ms until
--   b_reset, b_seen, now, gen, b_window} as strings ('' for unknown fields).
local now = now_ms()
local mode, interval, burst, quiet = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'calm', 'step', 'b_reset', 'b_left', 'b_limit',
  'b_remaining', 'b_seen', 'gen', 'b_window', 'run')
local tat, factor, calm = tonumber(h[1]) or now, tonumber(h[2]) or 1, tonumber(h[3]) or now
local last_step, reset, left = tonumber(h[4]), tonumber(h[5]), tonumber(h[6])
local gen = tonumber(h[10]) or 0
local plan_limit, window = tonumber(h[7]), tonumber(h[11])
local run = tonumber(h[12]) or now
while factor > 1 and now - calm >= quiet do
  factor = math.max(1, factor / 2)
  calm = calm + quiet
end
local configured = interval * factor
local base = configured
-- The provider's plan, spread evenly: window / limit, while it is known and the last report is at most a window old.
local function pace()
  base = configured
  if plan_limit and plan_limit > 0 and window and reset and now < reset + window then
    base = math.max(configured, window / plan_limit)
  end
end
pace()

if mode == 'peek' then
  local reset_in = reset and math.max(reset - now, 0) or ''
  return {tostring(factor), h[7] or '', h[8] or '', h[6] or '', tostring(reset_in), h[9] or '', tostring(now),
    tostring(gen), h[11] or ''}
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
  if reset and now < reset then
    -- The provider's window is known: a 429 says it is spent (calls in flight overtook the report). No slot
    -- before its reset, and no slow-down on top: the budget already paces the account.
    left = 0
    redis.call('HSET', KEYS[1], 'b_left', 0)
  else
    factor = math.min(factor * 2, 64)
    calm = now
  end
  -- The slots handed out at the old rate are revoked: a 429 applies at once to every call not yet made (a job
  -- waiting for its slot reserves again; the revoked slots stay spent, so the account pauses a moment).
  gen = gen + 1
  result = tostring(factor)
elseif mode == 'observe' then
  local remaining, reset_after = tonumber(ARGV[5]), tonumber(ARGV[6])
  local new_reset = now + reset_after
  -- A later reset instant is a later window: the distance is a window length, or several (keep the shortest;
  -- 50 ms absorbs the jitter of one window's reports).
  if reset and new_reset > reset + 50 then
    local distance = new_reset - reset
    if not window or distance < window then window = distance end
    redis.call('HSET', KEYS[1], 'b_window', window)
  end
  if ARGV[7] == '' then plan_limit = nil else plan_limit = tonumber(ARGV[7]) end
  -- Slots already handed out and not yet due have not reached the provider: those before the reset spend this
  -- window's budget, those after it the following windows' (at the plan's rate: the limit per window, the window
  -- taken as at least a second until it is learnt; without a limit, at the rate this budget allows).
  local spacing = math.max(last_step or base, 0.001)
  local ahead, after = 0, 0
  if tat > now then
    ahead = math.ceil((math.min(tat, new_reset) - now) / spacing)
    if tat > new_reset then after = math.ceil((tat - new_reset) / spacing) end
  end
  local plan_rate = remaining / math.max(reset_after, 1)
  if plan_limit then plan_rate = plan_limit / (window or math.max(reset_after, 1000)) end
  -- Slots whose time passed lately may not have reached the provider yet: count them too (some have, so this
  -- errs towards leaving part of the budget unused).
  local late, lag = 0, tonumber(ARGV[8])
  local recent, from = math.min(tat, now), math.max(now - lag, run)
  if recent > from then late = math.floor((recent - from) / spacing) end
  if ahead > remaining or (after > 0 and after > plan_rate * (tat - new_reset) + 1) then
    -- More slots are out than the provider will take: revoke them; their jobs reserve again under the cap.
    gen, tat, ahead = gen + 1, now, 0
  end
  local estimate = math.max(remaining - ahead - late, 0)
  -- Reports of one window race each other (sent in the background by several workers): within the lag, one
  -- that says more is left than the last did is older news, and never raises the count.
  local seen = tonumber(h[9])
  if left and reset and math.abs(new_reset - reset) <= 50 and seen and now - seen < lag then
    estimate = math.min(estimate, left)
  end
  reset = new_reset
  left = estimate
  redis.call('HSET', KEYS[1], 'b_reset', reset, 'b_left', left, 'b_remaining', remaining, 'b_seen', now)
  if plan_limit then redis.call('HSET', KEYS[1], 'b_limit', plan_limit) else redis.call('HDEL', KEYS[1], 'b_limit') end
  pace()
  local start, step = place(math.max(tat, now))
  result = {tostring(math.max(step, start - now)), gen}
else
  local most, span, horizon = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  -- While the provider's budget or plan applies, its spacing rules: no burst may pull a slot before the reset.
  local capped = reset and now < reset
  local tolerance = (capped or base > configured) and 0 or base * (burst - 1)
  result = {gen, 0}
  if tat <= now then run = now end
  for i = 1, most do
    local start, step, counted = place(math.max(tat, now))
    if i > 1 and start - now >= span then break end
    local wait = math.max(0, math.ceil(start - tolerance - now))
    if wait > horizon then
      if i == 1 then result[2] = wait end
      break
    end
    if counted then left = left - 1 end
    result[#result + 1] = wait
    tat = start + step
    last_step = step
  end
  if capped then redis.call('HSET', KEYS[1], 'b_left', left) end
end
redis.call('HSET', KEYS[1], 'tat', tat, 'factor', factor, 'calm', calm, 'step', last_step or base, 'gen', gen,
  'run', run)
local until_ms = math.max(tat - now, (reset or now) + (window or 0) - now, 0)
redis.call('PEXPIRE', KEYS[1], math.ceil(until_ms + quiet * 8 + 60000))
return result
