-- Helpers prepended to the scripts that need them (scripts.rs joins the text; Redis sees one script).

-- Redis's clock (ms since the epoch): the one clock every stored or compared time is read from, so no worker's
-- clock can steal, strand or stretch a lease or move a due time. (Redis 7 replicates a script's effects, so reading
-- TIME in a script that writes is safe.)
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether `holder` (a holders-hash value: the token, with '*' appended once the call started) is `token`'s.
local function held_by(holder, token)
  return holder == token or holder == token .. '*'
end

-- Whether the stored job value is at revision `rev` ("<rev>|..."); 'any' matches a value that exists (the ack of
-- a value the worker could not read).
local function at_revision(stored, rev)
  if rev == 'any' then return stored ~= false and stored ~= nil end
  return stored and string.sub(stored, 1, #rev + 1) == rev .. '|'
end

-- Appends `nrec` audit records to `stream`, trimmed to about `maxlen`. They start at ARGV[first], each as `nf`
-- name, value pairs (2 * nf arguments), so they go to XADD as they came, without building a table.
local function write_records(stream, maxlen, nf, first, nrec)
  for r = 0, nrec - 1 do
    local from = first + r * 2 * nf
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(ARGV, from, from + 2 * nf - 1))
  end
end

-- Makes sure one wake token is waiting for idle workers.
local function wake(list)
  redis.call('LPUSH', list, '1')
  redis.call('LTRIM', list, 0, 0)
end

-- A stored job value is "<rev>|<account>|<campaign>|<envelope>": the header lets scripts keep per-account and
-- per-campaign counts without decoding JSON. Returns its account and campaign ('' for none; also for a value of
-- the older "<rev>|<envelope>" form, whose envelope starts with '{', which no header part contains).
local function header(stored)
  local account, campaign = string.match(stored, '^%d+|([^|{]*)|([^|{]*)|')
  return account or '', campaign or ''
end

-- `stored`'s header at revision `rev`, followed by a new envelope.
local function restamp(stored, rev, envelope)
  local account, campaign = header(stored)
  return rev .. '|' .. account .. '|' .. campaign .. '|' .. envelope
end

-- Adds `by` to the count of jobs of `account` in `state` (leased, scheduled, dead) in the counts hash; a field
-- goes when it reaches zero.
local function count(counts, state, account, by)
  local field = state .. ':' .. account
  if redis.call('HINCRBY', counts, field, by) <= 0 then redis.call('HDEL', counts, field) end
end

-- Counts the terminal records among `nrec` records (from ARGV[first], `nf` name, value pairs each, the outcome
-- the `oi`-th field) for `campaign` ("<campaign>:<outcome>"), gathered in `changes` (see `tally`): the caller
-- writes them to the campaign counts hash once per batch with `apply_tally`.
local function count_outcomes(changes, campaign, oi, nf, first, nrec)
  if campaign == '' then return end
  for r = 0, nrec - 1 do
    local outcome = ARGV[first + r * 2 * nf + 2 * (oi - 1) + 1]
    if outcome ~= 'retry_scheduled' and outcome ~= 'replayed' then
      changes[campaign .. ':' .. outcome] = (changes[campaign .. ':' .. outcome] or 0) + 1
    end
  end
end

-- The position of field `name` among `names`.
local function position(names, name)
  for f = 1, #names do
    if names[f] == name then return f end
  end
  return 0
end

-- Forgets the dead letters `ids` (ZSET `dead`, HASH `dead_jobs`), keeping the per-account dead counts in `counts`.
local function forget_dead(dead, dead_jobs, counts, ids)
  if #ids == 0 then return end
  local values = redis.call('HMGET', dead_jobs, unpack(ids))
  for d = 1, #ids do
    if values[d] then count(counts, 'dead', (header(values[d])), -1) end
  end
  redis.call('ZREM', dead, unpack(ids))
  redis.call('HDEL', dead_jobs, unpack(ids))
end

-- At most this many dead letters are forgotten by one trim step: the set is trimmed in bounded steps that catch up
-- over time (each ack that dead-letters, and the workers' maintenance while the set is over its bound), never by
-- unpacking the whole excess (Lua's unpack stops at 8,000 values, and a long step would hold Redis).
local TRIM_STEP = 1000

-- One trim step: forgets the oldest dead letters over `max_len`, then those dead-lettered at or before `cutoff`
-- (ms; false = none), at most `step` (<= TRIM_STEP) in all. Returns how many it forgot.
local function trim_dead(dead, dead_jobs, counts, max_len, cutoff, step)
  step = math.min(step, TRIM_STEP)
  local forgotten = 0
  if max_len then
    local excess = math.min(redis.call('ZCARD', dead) - max_len, step)
    if excess > 0 then
      local oldest = redis.call('ZRANGE', dead, 0, excess - 1)
      forget_dead(dead, dead_jobs, counts, oldest)
      forgotten = #oldest
    end
  end
  if cutoff and forgotten < step then
    local old = redis.call('ZRANGEBYSCORE', dead, '-inf', cutoff, 'LIMIT', 0, step - forgotten)
    forget_dead(dead, dead_jobs, counts, old)
    forgotten = forgotten + #old
  end
  return forgotten
end

-- Count changes gathered over a whole batch (field -> delta) and written once per field at the end: a batch of a
-- thousand jobs of one account costs one HINCRBY, not a thousand.
local function tally(changes, field, by)
  changes[field] = (changes[field] or 0) + by
end

-- Writes gathered count changes to the hash `counts`; a field goes when it reaches zero.
local function apply_tally(counts, changes)
  for field, by in pairs(changes) do
    if by ~= 0 and redis.call('HINCRBY', counts, field, by) <= 0 then redis.call('HDEL', counts, field) end
  end
end
