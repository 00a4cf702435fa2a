-- replay: move dead letters back into the queue as fresh jobs, with an audit record saying so.
-- The Rust side, crates/queue/src/script/replay.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- KEYS[1] dead (ZSET)   KEYS[2] dead jobs (HASH)   KEYS[3] jobs (HASH)   KEYS[4] the accounts with ready jobs (LIST,
-- the lanes' root)   KEYS[5] wake (LIST)
-- KEYS[6] audit (STREAM)   KEYS[7] pending per account (HASH)   KEYS[8] counts (HASH)
-- KEYS[9] campaign counts (HASH)
-- ARGV[1] audit max len   ARGV[2] R, the ready prefix   ARGV[3] F   ARGV[4 .. 3+F] field names; then per job: id, revision it comes back at,
--   envelope (attempts reset), messages it held as `failed`, as `dead`, R = records, R * F name, value pairs
-- Returns: how many were replayed (an id no longer dead-lettered, or already queued again, is skipped). A
-- campaign's `failed`/`dead` counts give those messages back: they are pending again.
local nf = tonumber(ARGV[3])
local names = {}
for f = 1, nf do names[f] = ARGV[3 + f] end
local replayed = 0
local ready = ready_batch(ARGV[2], false)
local i = 4 + nf
while i <= #ARGV do
  local id, rev, envelope, failed, dead, nrec =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  i = i + 6
  local letter = redis.call('HGET', KEYS[2], id)
  local value = letter and restamp(letter, rev, envelope)
  if value and redis.call('HSETNX', KEYS[3], id, value) == 1 then
    local account, campaign = header(letter)
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[1], id)
    ready_add(ready, id, value)
    redis.call('HINCRBY', KEYS[7], account, 1)
    count(KEYS[8], 'dead', account, -1)
    if campaign ~= '' then
      if failed > 0 then redis.call('HINCRBY', KEYS[9], campaign .. ':failed', -failed) end
      if dead > 0 then redis.call('HINCRBY', KEYS[9], campaign .. ':dead', -dead) end
    end
    write_records(KEYS[6], ARGV[1], nf, i, nrec)
    replayed = replayed + 1
  end
  i = i + nrec * 2 * nf
end
ready_flush(ready)
if replayed > 0 then wake(KEYS[5]) end
return replayed
