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
-- the `oi`-th field) for `campaign`, in the campaign counts hash ("<campaign>:<outcome>").
local function count_outcomes(counts, campaign, oi, nf, first, nrec)
  if campaign == '' then return end
  for r = 0, nrec - 1 do
    local outcome = ARGV[first + r * 2 * nf + 2 * (oi - 1) + 1]
    if outcome ~= 'retry_scheduled' and outcome ~= 'replayed' then
      redis.call('HINCRBY', counts, campaign .. ':' .. outcome, 1)
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
