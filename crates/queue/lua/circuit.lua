-- circuit: count an account's server-side failures across every worker and open its circuit when they pile up,
-- so a provider outage costs a few calls, not every job's retry budget. Each opening lasts twice the last one
-- (capped); after a long calm the next opening starts short again.
-- KEYS[1] the account's circuit (HASH: failures, window_start, open_until, opens, last_open; all ms)
-- ARGV[1] now (ms)   ARGV[2] 'check' or 'failure'   ARGV[3] window (ms)   ARGV[4] failures that open it
-- ARGV[5] first opening (ms)   ARGV[6] longest opening (ms)   ARGV[7] calm after which openings start short (ms)
-- Returns: the time (ms) until which the circuit is open; 0 or a past time when closed.
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'failures', 'window_start', 'open_until', 'opens', 'last_open')
local failures, window_start = tonumber(h[1]) or 0, tonumber(h[2]) or now
local open_until, opens, last_open = tonumber(h[3]) or 0, tonumber(h[4]) or 0, tonumber(h[5]) or 0
if ARGV[2] == 'check' then return open_until end
if now - window_start > tonumber(ARGV[3]) then
  failures, window_start = 0, now
end
failures = failures + 1
if failures >= tonumber(ARGV[4]) and now >= open_until then
  if now - last_open > tonumber(ARGV[7]) then opens = 0 end
  open_until = now + math.min(tonumber(ARGV[5]) * 2 ^ opens, tonumber(ARGV[6]))
  opens, last_open, failures, window_start = opens + 1, now, 0, now
end
redis.call('HSET', KEYS[1], 'failures', failures, 'window_start', window_start, 'open_until', open_until,
  'opens', opens, 'last_open', last_open)
redis.call('PEXPIRE', KEYS[1], math.max(open_until - now, 0) + tonumber(ARGV[7]))
return open_until
