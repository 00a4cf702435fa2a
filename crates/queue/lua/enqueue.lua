-- enqueue: store new jobs and make them ready (or scheduled, when due later), honouring idempotency keys.
-- The Rust side, crates/queue/src/script/enqueue.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- KEYS[1] jobs (HASH id -> stored value)   KEYS[2] the accounts with ready jobs (LIST: the lanes' root, shared.lua)
-- KEYS[3] scheduled (ZSET id -> due ms)
-- KEYS[4] wake (LIST, one token)   KEYS[5] pending per account (HASH)   KEYS[6] counts (HASH "<state>:<account>")
-- KEYS[7..] this call's batch marker (STRING, expiring; when ARGV[2] > 0), then idempotency keys (STRING -> first
--   job id, expiring)
-- ARGV[1] idempotency retention (ms)   ARGV[2] m = index in KEYS of the batch marker (0 = none)   ARGV[3] how long
--   the marker is kept (ms: longer than the producer repeats a batch)   ARGV[4] R, the ready prefix; then per job: id, due (ms since the epoch,
--   0 = now), stored value, k = index in KEYS of its idempotency key (0 = none), account. Stored values carry their
--   header (shared.lua). A due time is compared with Redis's clock, never the producer's.
-- Returns: per job, the id it is known by: its own, or the first job's when its idempotency key was seen within the
-- retention (then nothing is stored). An id that already exists is left untouched, so a retried enqueue is harmless.
-- The batch marker makes a retry of the very same call (its reply was lost: the producer cannot tell whether it
-- ran) store nothing, even after its jobs ran and were deleted: it answers what the first run answered.
local now = now_ms()
local m = tonumber(ARGV[2])
local out = {}
local ready = ready_batch(ARGV[4], false)
if m > 0 and redis.call('EXISTS', KEYS[m]) == 1 then
  for i = 5, #ARGV, 5 do
    local k = tonumber(ARGV[i + 3])
    out[#out + 1] = (k > 0 and redis.call('GET', KEYS[k])) or ARGV[i]
  end
  return out
end
if m > 0 then redis.call('SET', KEYS[m], '1', 'PX', ARGV[3]) end
for i = 5, #ARGV, 5 do
  local id, due, k = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 3])
  local first = false
  if k > 0 then
    first = redis.call('GET', KEYS[k])
    if not first then redis.call('SET', KEYS[k], id, 'PX', ARGV[1]) end
  end
  if first then
    out[#out + 1] = first
  else
    if redis.call('HSETNX', KEYS[1], id, ARGV[i + 2]) == 1 then
      redis.call('HINCRBY', KEYS[5], ARGV[i + 4], 1)
      if due > now then
        redis.call('ZADD', KEYS[3], due, id)
        count(KEYS[6], 'scheduled', ARGV[i + 4], 1)
      else
        ready_add(ready, id, ARGV[i + 2])
      end
    end
    out[#out + 1] = id
  end
end
if ready_flush(ready) > 0 then
  wake(KEYS[4])
end
return out
