-- reschedule: put leased jobs back for a later attempt, with their rewritten envelope and a retry audit record.
-- Also sets a parked account's jobs aside (target = its parked set, which is counted by its own size).
-- KEYS[1] jobs (HASH)   KEYS[2] leased (ZSET)   KEYS[3] target (ZSET id -> ms)   KEYS[4] audit (STREAM)
-- KEYS[5] counts (HASH)   KEYS[6] campaign counts (HASH)   KEYS[7] (parking only) parked accounts (SET): each
--   job's account is added
-- ARGV[1] audit max len   ARGV[2] F   ARGV[3] state counted for the target ('scheduled', or '' for none)
-- ARGV[4 .. 3+F] field names; then per job: id, rev, due (ms), new envelope, R = records, then R * F name, value pairs.
-- Returns: per job 1 if rescheduled, 0 if skipped: finished, rewritten since, or no longer leased (its lease
-- expired and it is back in the ready list, where it will run again anyway).
local nf = tonumber(ARGV[2])
local state = ARGV[3]
local names = {}
for f = 1, nf do names[f] = ARGV[3 + f] end
local oi = position(names, 'outcome')
local results, outcomes = {}, {}
local i = 4 + nf
while i <= #ARGV do
  local id, rev, due, envelope, nrec = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  i = i + 5
  local current = redis.call('HGET', KEYS[1], id)
  local ok = at_revision(current, rev) and redis.call('ZSCORE', KEYS[2], id)
  if ok then
    local account, campaign = header(current)
    redis.call('HSET', KEYS[1], id, restamp(current, tonumber(rev) + 1, envelope))
    redis.call('ZREM', KEYS[2], id)
    count(KEYS[5], 'leased', account, -1)
    if redis.call('ZADD', KEYS[3], due, id) == 1 and state ~= '' then count(KEYS[5], state, account, 1) end
    if KEYS[7] then redis.call('SADD', KEYS[7], account) end
    write_records(KEYS[4], ARGV[1], nf, i, nrec)
    count_outcomes(outcomes, campaign, oi, nf, i, nrec)
  end
  results[#results + 1] = ok and 1 or 0
  i = i + nrec * 2 * nf
end
apply_tally(KEYS[6], outcomes)
return results
