-- circuit: count an account's server-side failures across every worker and open its circuit when they pile up,
-- The Rust side, crates/queue/src/script/circuit.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- so a provider outage costs a few calls, not every job's retry budget. Each opening lasts twice the last one
-- (capped); after a long calm the next opening starts short again.
-- KEYS[1] the account's circuit (HASH: failures, window_start, open_until, opens, last_open; all ms)
-- ARGV[1] 'check' or 'failure'   ARGV[2] window (ms)   ARGV[3] failures that open it   ARGV[4] first opening (ms)
-- ARGV[5] longest opening (ms)   ARGV[6] calm after which openings start short (ms)
-- Returns: how long (ms) the circuit stays open from now; 0 when closed. Times are Redis's clock (now_ms).
local now = now_ms()
local h = redis.call('HMGET', KEYS[1], 'failures', 'window_start', 'open_until', 'opens', 'last_open')
local failures, window_start = tonumber(h[1]) or 0, tonumber(h[2]) or now
local open_until, opens, last_open = tonumber(h[3]) or 0, tonumber(h[4]) or 0, tonumber(h[5]) or 0
if ARGV[1] == 'check' then return math.max(open_until - now, 0) end
if now - window_start > tonumber(ARGV[2]) then
  failures, window_start = 0, now
end
failures = failures + 1
if failures >= tonumber(ARGV[3]) and now >= open_until then
  if now - last_open > tonumber(ARGV[6]) then opens = 0 end
  open_until = now + math.min(tonumber(ARGV[4]) * 2 ^ opens, tonumber(ARGV[5]))
  opens, last_open, failures, window_start = opens + 1, now, 0, now
end
redis.call('HSET', KEYS[1], 'failures', failures, 'window_start', window_start, 'open_until', open_until,
  'opens', opens, 'last_open', last_open)
redis.call('PEXPIRE', KEYS[1], math.max(open_until - now, 0) + tonumber(ARGV[6]))
return math.max(open_until - now, 0)
