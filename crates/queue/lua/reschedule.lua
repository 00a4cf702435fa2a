-- reschedule: put leased jobs back for a later attempt, with their rewritten envelope and a retry audit record.
-- KEYS[1] jobs (HASH)   KEYS[2] leased (ZSET)   KEYS[3] scheduled (ZSET)   KEYS[4] audit (STREAM)
-- ARGV[1] audit max len   ARGV[2] F   ARGV[3 .. 2+F] field names; then per job: id, rev, due (ms), new value,
--   R = records, then R * F values.
-- Returns: per job 1 if rescheduled, 0 if skipped: finished, rewritten since, or no longer leased (its lease
-- expired and it is back in the ready list, where it will run again anyway).
local nf = tonumber(ARGV[2])
local names = {}
for f = 1, nf do names[f] = ARGV[2 + f] end
local results = {}
local i = 3 + nf
while i <= #ARGV do
  local id, rev, due, value, nrec = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  i = i + 5
  local current = redis.call('HGET', KEYS[1], id)
  local ok = at_revision(current, rev) and redis.call('ZSCORE', KEYS[2], id)
  if ok then
    redis.call('HSET', KEYS[1], id, value)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZADD', KEYS[3], due, id)
    write_records(KEYS[4], ARGV[1], names, nf, i, nrec)
  end
  results[#results + 1] = ok and 1 or 0
  i = i + nrec * nf
end
return results
