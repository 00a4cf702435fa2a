-- Helpers prepended to the scripts that need them (script/mod.rs joins the text; Redis sees one script).

-- Redis's clock (ms since the epoch): the one clock every stored or compared time is read from, so no worker's
-- clock can steal, strand or stretch a lease or move a due time. (Redis 7 replicates a script's effects, so reading
-- TIME in a script that writes is safe.)
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A time (ms) as the text a command takes: made once per script call, it spares Redis formatting the number again
-- for each job it is written with (it prints Lua numbers with "%.17g", which is slow).
local function ms_text(ms)
  return string.format('%d', ms)
end

-- Whether `holder` (a holders-hash value: the token, with '*' appended once the call started) is `token`'s.
local function held_by(holder, token)
  return holder == token or holder == token .. '*'
end

-- Whether the stored job value is at revision `rev` ("<rev>|..."); 'any' matches a value that exists (the ack of
-- a value the worker could not read).
local function at_revision(stored, rev)
  if rev == 'any' then return stored ~= false and stored ~= nil end
  -- 124 is '|'.
  return stored and string.byte(stored, #rev + 1) == 124 and string.sub(stored, 1, #rev) == rev
end

-- Appends `nrec` audit records to `stream`, trimmed to about `maxlen`. They start at ARGV[first], each as `nf`
-- name, value pairs (2 * nf arguments), so they go to XADD as they came, without building a table.
local function write_records(stream, maxlen, nf, first, nrec)
  for r = 0, nrec - 1 do
    local from = first + r * 2 * nf
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(ARGV, from, from + 2 * nf - 1))
  end
end

-- Items per variadic call inside a script: well under Lua's unpack limit (about 8,000 values).
local VARIADIC_CHUNK = 1000

-- The replies of `cmd key items...` (HMGET, ZMSCORE: one value per item, false where missing), in item order,
-- read in chunks. One call per chunk instead of one per item: a hot script's cost is its number of redis.calls.
local function read_all(cmd, key, items)
  -- One chunk (the usual case): the reply as it comes, without copying it item by item.
  if #items > 0 and #items <= VARIADIC_CHUNK then return redis.call(cmd, key, unpack(items)) end
  local out = {}
  for first = 1, #items, VARIADIC_CHUNK do
    local part = redis.call(cmd, key, unpack(items, first, math.min(first + VARIADIC_CHUNK - 1, #items)))
    for k = 1, #part do out[#out + 1] = part[k] end
  end
  return out
end

-- Runs `cmd key [flag] items...` (HDEL, ZREM, HSET pairs, ZADD score-member pairs) in chunks of whole units of
-- `per` items; returns the sum of the integer replies.
local function write_all(cmd, key, flag, items, per)
  local total, step = 0, VARIADIC_CHUNK * per
  for first = 1, #items, step do
    local last = math.min(first + step - 1, #items)
    if flag then
      total = total + redis.call(cmd, key, flag, unpack(items, first, last))
    else
      total = total + redis.call(cmd, key, unpack(items, first, last))
    end
  end
  return total
end

-- Makes sure one wake token is waiting for idle workers.
local function wake(list)
  redis.call('LPUSH', list, '1')
  redis.call('LTRIM', list, 0, 0)
end

-- A stored job value is "<rev>|<account>|<campaign>|<lane>|<flow>|<envelope>": the header lets scripts keep
-- per-account and per-campaign counts and place the job in its lane without decoding JSON. The lane is 'high',
-- 'normal' or 'low'; the flow is what shares a lane round-robin (a campaign's jobs, one bulk job's children, or
-- '' for an account's other jobs). Returns its account, campaign, lane and flow. Older forms read too:
-- "<rev>|<account>|<campaign>|<envelope>" (lane 'normal', flow its campaign) and "<rev>|<envelope>" (no header:
-- its envelope starts with '{', which no header part contains). crates/queue/src/stored.rs writes and reads the
-- same form (its test checks the pattern below).
local function header(stored)
  local account, campaign, lane, flow = string.match(stored, '^%d+|([^|{]*)|([^|{]*)|(%l+)|([^|{]*)|')
  if account then
    if lane ~= 'high' and lane ~= 'low' then lane = 'normal' end
    return account, campaign, lane, flow
  end
  account, campaign = string.match(stored, '^%d+|([^|{]*)|([^|{]*)|')
  return account or '', campaign or '', 'normal', campaign or ''
end

-- Just the account and campaign of a stored value, as `header` reads them (every form): the hot scripts need no
-- more per job, and the shorter match is about half the work.
local function account_and_campaign(stored)
  local account, campaign = string.match(stored, '^%d+|([^|{]*)|([^|{]*)|')
  return account or '', campaign or ''
end

-- `stored`'s header at revision `rev` (its flow replaced by `flow` when given), followed by a new envelope.
local function restamp(stored, rev, envelope, flow)
  local account, campaign, lane, own_flow = header(stored)
  return rev .. '|' .. account .. '|' .. campaign .. '|' .. lane .. '|' .. (flow or own_flow) .. '|' .. envelope
end

-- Ready jobs wait in lanes (DESIGN §6), under a shard's ready prefix R ('{tag}:ready'):
--   R..':accounts'                           LIST  the accounts with ready jobs, each once, taken in turn
--   R..':'..lane..':'..account               LIST  the lane's flows with ready jobs, each once, taken in turn
--   R..':'..lane..':'..account..':'..flow    LIST  the flow's job ids, in order
--   R..':depth'                              HASH  "<lane>:<account>" -> ids waiting
-- An account is in the accounts list exactly while one of its lanes has a flow; a flow is in its lane's list
-- exactly while it has ids (both kept so by the scripts that push and take, atomically). Ids of jobs finished
-- meanwhile may wait there: leasing drops them. Account names never contain ':' (config rule), so the names
-- cannot collide.
local LANES = {'high', 'normal', 'low'}

-- How long a shard's pace (R..':pace') outlives its last write (ms): a pace only matters up to a horizon ahead,
-- so an idle queue keeps no pace key.
local PACE_KEPT = 60000

local function lane_key(R, lane, account)
  return R .. ':' .. lane .. ':' .. account
end

-- Whether `account` has ready jobs in any lane (then it is in the accounts list).
local function has_ready(R, account)
  for _, lane in ipairs(LANES) do
    if redis.call('EXISTS', lane_key(R, lane, account)) == 1 then return true end
  end
  return false
end

-- Ids to put in their lanes, gathered per flow in order and pushed once per flow by `ready_flush`.
local function ready_batch(R, front)
  return {R = R, front = front, flows = {}, order = {}}
end

-- Adds job `id` (stored value `value`) to `batch`.
local function ready_add(batch, id, value)
  local account, _, lane, flow = header(value)
  local key = lane .. '\0' .. account .. '\0' .. flow
  local entry = batch.flows[key]
  if not entry then
    entry = {lane = lane, account = account, flow = flow, ids = {}}
    batch.flows[key] = entry
    batch.order[#batch.order + 1] = entry
  end
  entry.ids[#entry.ids + 1] = id
end

-- Pushes a list's `items` to the back (RPUSH) or, keeping their order, to the front (LPUSH), in chunks under Lua's
-- unpack limit. Returns the list's new length.
local function push_all(key, items, front)
  local n = 0
  if front then
    for last = #items, 1, -1000 do
      local chunk = {}
      for i = last, math.max(1, last - 999), -1 do chunk[#chunk + 1] = items[i] end
      n = redis.call('LPUSH', key, unpack(chunk))
    end
  else
    for first = 1, #items, 1000 do
      n = redis.call('RPUSH', key, unpack(items, first, math.min(first + 999, #items)))
    end
  end
  return n
end

-- Pushes the gathered ids into their flows (at the back, or the front for a batch handed back), and each flow
-- and account that had nothing ready into its rotation (at the same end). Returns how many ids it pushed.
local function ready_flush(batch)
  local R, front, pushed = batch.R, batch.front, 0
  local depth = {}
  for _, entry in ipairs(batch.order) do
    local lanes = lane_key(R, entry.lane, entry.account)
    if push_all(lanes .. ':' .. entry.flow, entry.ids, front) == #entry.ids then
      if redis.call(front and 'LPUSH' or 'RPUSH', lanes, entry.flow) == 1 then
        local listed = false
        for _, other in ipairs(LANES) do
          if other ~= entry.lane and redis.call('EXISTS', lane_key(R, other, entry.account)) == 1 then
            listed = true
          end
        end
        if not listed then redis.call(front and 'LPUSH' or 'RPUSH', R .. ':accounts', entry.account) end
      end
    end
    local field = entry.lane .. ':' .. entry.account
    depth[field] = (depth[field] or 0) + #entry.ids
    pushed = pushed + #entry.ids
  end
  for field, by in pairs(depth) do redis.call('HINCRBY', R .. ':depth', field, by) end
  return pushed
end

-- Puts one job in its lane (see `ready_batch`).
local function ready_push(R, id, value, front)
  local batch = ready_batch(R, front)
  ready_add(batch, id, value)
  ready_flush(batch)
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
