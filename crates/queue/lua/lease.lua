-- lease: take up to N ready jobs from the lanes (shared.lua) and reserve them for one holder until Redis's clock
-- The Rust side, crates/queue/src/script/lease.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- passes the lease.
-- KEYS[1] legacy ready (LIST: ids queued before lanes; drained first)   KEYS[2] leased (ZSET id -> lease expiry, Redis
--   ms)   KEYS[3] jobs (HASH)   KEYS[4] wake (LIST)   KEYS[5] counts (HASH)   KEYS[6] reclaims (HASH id -> reclaims
--   counted)   KEYS[7] cancelled campaigns (SET)   KEYS[8] holders (HASH id -> holder token; '*' appended once its
--   provider call started)   KEYS[9] the accounts with ready jobs (LIST, R..':accounts')
-- ARGV[1] lease (ms)   ARGV[2] N   ARGV[3] holder token (the worker's id and a sequence number of its own)
-- ARGV[4] 'one' (the caller may take one quarantined job) or 'none' (it runs one already: quarantined jobs stay
--   first in line for another worker, or for this one once that job is done)
-- ARGV[5] R, the ready prefix   ARGV[6] horizon (ms): a paced account's jobs are leased at most this far ahead of
--   its rate   ARGV[7] the least share of an account's jobs for `normal` while `high` waits   ARGV[8] the same
--   for `low` while `high` or `normal` waits   ARGV[9..] per paced account: name, spacing of its calls (ms), the
--   calls it may make back to back (its burst), and how far from now its next free slot is as the caller last
--   heard from the account's limiter (ms, 0 = unknown): every shard learns what one shard's jobs found out
--
-- Order: accounts in turn (each gets an equal part of N, so one account's backlog never holds another back); in an
-- account, `high` before `normal` before `low`, except that each lower lane is owed its share of the account's
-- jobs while it waits (credits carried from call to call, so the shares hold even one job at a time); in a lane,
-- its flows in turn. A paced account (one with a rate limit) is handed out only as far as its calls fit within
-- the horizon by the shard's pace (R..':pace', account -> Redis ms when its next call may go, as this shard
-- knows it): its other jobs wait here, in order, holding no slot, so a later `high` job is next.
-- Returns: first the ms until a paced account held back here may be leased again ('' when none was held back),
-- then the marked jobs: a flat list position (1-based, among the jobs below), reclaims counted, cancelled (1/0),
-- for each job with a reclaim counted or a cancelled campaign (most batches have none), then id, value per job. Ids whose job is gone (finished while the id
-- waited) and ids held already (an id may wait twice) are dropped here, which is why nothing ever scans the lanes
-- to remove them. Quarantine: a job with a reclaim counted is leased alone (the batch ends before it, or is only
-- it), and a worker runs one such job at a time, so a job that kills its worker cannot take batch-mates or other
-- suspects with it.
local now = now_ms()
local want = tonumber(ARGV[2])
local R, horizon = ARGV[5], tonumber(ARGV[6])
local shares = {normal = tonumber(ARGV[7]), low = tonumber(ARGV[8])}
local spacing, burst, heard = {}, {}, {}
for i = 9, #ARGV, 4 do
  spacing[ARGV[i]] = tonumber(ARGV[i + 1])
  burst[ARGV[i]] = tonumber(ARGV[i + 2])
  heard[ARGV[i]] = now + tonumber(ARGV[i + 3])
end
local accounts_key, pace_key, credits_key = KEYS[9], R .. ':pace', R .. ':credits'

-- Taken ids, in order (the lane depths they leave are gathered in `depth`).
local taken = {}
local depth = {}
local function took(ids, lane, account)
  for _, id in ipairs(ids) do taken[#taken + 1] = id end
  local field = lane .. ':' .. account
  depth[field] = (depth[field] or 0) - #ids
end

-- Takes up to `k` ids of one lane, its flows in turn; returns how many.
local function take_lane(lane, account, k)
  local flows_key = lane_key(R, lane, account)
  local flows = redis.call('LLEN', flows_key)
  if flows == 0 or k <= 0 then return 0 end
  local quantum = math.max(1, math.ceil(k / flows))
  local got, turns = 0, 0
  while got < k and turns < flows * 2 and turns < k + 8 do
    turns = turns + 1
    local flow = redis.call('LINDEX', flows_key, 0)
    if not flow then break end
    local flow_key = flows_key .. ':' .. flow
    local ids = redis.call('LPOP', flow_key, math.min(quantum, k - got))
    if ids then
      took(ids, lane, account)
      got = got + #ids
    end
    if redis.call('EXISTS', flow_key) == 1 then
      redis.call('LMOVE', flows_key, flows_key, 'LEFT', 'RIGHT')
    else
      redis.call('LPOP', flows_key)
    end
  end
  return got
end

-- Takes up to `k` ids of one account by lane order and shares; returns how many, and whether it has more.
local function take_account(account, k)
  local present, top = {}, nil
  for l, lane in ipairs(LANES) do
    present[l] = redis.call('EXISTS', lane_key(R, lane, account)) == 1
    if present[l] and not top then top = l end
  end
  if not top then return 0, false end
  local alloc, rest = {0, 0, 0}, k
  local credit_fields = {nil, account .. ':normal', account .. ':low'}
  local credits = redis.call('HMGET', credits_key, credit_fields[2], credit_fields[3])
  for l = 3, 2, -1 do
    local field = credit_fields[l]
    if present[l] and l > top then
      -- Owed its share of these k while a lane above waits: whole jobs now, the fraction carried to the next call.
      local credit = (tonumber(credits[l - 1]) or 0) + k * shares[LANES[l]]
      local n = math.min(math.floor(credit), rest)
      alloc[l], rest = n, rest - n
      redis.call('HSET', credits_key, field, credit - n)
    elseif credits[l - 1] then
      -- Nothing above it waits (or it is empty): no credit is banked for later.
      redis.call('HDEL', credits_key, field)
    end
  end
  alloc[top] = alloc[top] + rest
  local got, short = 0, 0
  for l = top, 3 do
    if present[l] then
      local n = take_lane(LANES[l], account, alloc[l] + short)
      short = alloc[l] + short - n
      got = got + n
    else
      short = short + alloc[l]
    end
  end
  return got, has_ready(R, account)
end

-- Ids queued before lanes existed come first, as they did.
if redis.call('EXISTS', KEYS[1]) == 1 then
  local ids = redis.call('LPOP', KEYS[1], want)
  if ids then
    for _, id in ipairs(ids) do taken[#taken + 1] = id end
  end
end

-- Accounts in turn, an equal part each, paced ones within their horizon; what an account could not use goes to
-- the others in another pass.
local wait_hint = false
local paced_leased = {}
local more_ready = false
local accounts = redis.call('LLEN', accounts_key)
for _ = 1, 3 do
  if #taken >= want or accounts == 0 then break end
  local before = #taken
  local part = math.max(1, math.ceil((want - #taken) / accounts))
  more_ready = false
  for _ = 1, accounts do
    if #taken >= want then
      more_ready = true
      break
    end
    local account = redis.call('LMOVE', accounts_key, accounts_key, 'LEFT', 'RIGHT')
    if not account then break end
    local k = math.min(part, want - #taken)
    local step = spacing[account]
    local pace = paced_leased[account]
    local capped = false
    if step then
      if not pace then
        local stored = tonumber(redis.call('HGET', pace_key, account)) or now
        pace = {next_free = math.max(stored, now, heard[account]), step = step, n = 0, popped = 0}
        paced_leased[account] = pace
      end
      -- Its calls at next_free, next_free + step, ... up to the horizon (plus its burst) fit.
      local next_free = pace.next_free + pace.popped * step
      local reach = now + horizon + (burst[account] - 1) * step
      local room = next_free <= reach and math.floor((reach - next_free) / step) + 1 or 0
      if room < k then
        -- When one more of its calls fits.
        local open = math.max(1, math.ceil(next_free + room * step - reach))
        if not wait_hint or open < wait_hint then wait_hint = open end
      end
      capped = room < k
      k = math.min(k, room)
    end
    local more
    if k > 0 then
      local got
      got, more = take_account(account, k)
      if pace then pace.popped = pace.popped + got end
    else
      more = has_ready(R, account)
    end
    if not more then
      -- Nothing of it is ready any more: out of the turn (it was moved to the tail just now).
      redis.call('LREM', accounts_key, -1, account)
    elseif not capped then
      -- It has more that another worker may take now (a paced account only while its calls fit).
      more_ready = true
    end
  end
  accounts = redis.call('LLEN', accounts_key)
  if #taken == before then break end
end
for field, by in pairs(depth) do
  if redis.call('HINCRBY', R .. ':depth', field, by) <= 0 then redis.call('HDEL', R .. ':depth', field) end
end

local marked = {}
local out = {wait_hint and tostring(wait_hint) or '', marked}
if #taken == 0 then return out end
local expiry = ms_text(now + tonumber(ARGV[1]))
-- One read each of the taken jobs' values, lease scores and (rare: only when some job has one) reclaim counts,
-- and one write each of the leases and holders below: no call per job.
local ids = taken
local values = read_all('HMGET', KEYS[3], ids)
local held = read_all('ZMSCORE', KEYS[2], ids)
local reclaim_counts = redis.call('EXISTS', KEYS[6]) == 1 and read_all('HMGET', KEYS[6], ids) or {}
local any_cancelled = redis.call('EXISTS', KEYS[7]) == 1
local cancelled_campaigns = {}
local counts = {}
local may_quarantine = ARGV[4] == 'one'
local back = ready_batch(R, true)
local leases, holders, seen, leased_of = {}, {}, {}, {}
-- Lengths kept by hand in the loop below: `#t` is a search on every append.
local n_leases, n_out, token = 0, #out, ARGV[3]
-- Hands taken[from..] back to the front of their lanes, in their order.
local function give_back(from)
  for n = from, #taken do
    if values[n] then ready_add(back, ids[n], values[n]) end
  end
end
local leased = 0
for n = 1, #taken do
  local id, value = ids[n], values[n]
  -- Held already (an id may wait twice, even in one batch): dropped, its holder has it.
  if value and not held[n] and not seen[id] then
    local reclaims = reclaim_counts[n] or false
    if reclaims and not may_quarantine then
      ready_add(back, id, value)
    elseif reclaims and leased > 0 then
      give_back(n)
      break
    else
      seen[id] = true
      local account, campaign = account_and_campaign(value)
      leases[n_leases + 1] = expiry
      leases[n_leases + 2] = id
      holders[n_leases + 1] = id
      holders[n_leases + 2] = token
      n_leases = n_leases + 2
      leased_of[account] = (leased_of[account] or 0) + 1
      leased = leased + 1
      local cancelled = false
      if any_cancelled and campaign ~= '' then
        cancelled = cancelled_campaigns[campaign]
        if cancelled == nil then
          cancelled = redis.call('SISMEMBER', KEYS[7], campaign) == 1
          cancelled_campaigns[campaign] = cancelled
        end
      end
      -- A cancelled job ends without a call: it takes no room in its account's pace.
      if paced_leased[account] and not cancelled then paced_leased[account].n = paced_leased[account].n + 1 end
      out[n_out + 1] = id
      out[n_out + 2] = value
      n_out = n_out + 2
      if reclaims or cancelled then
        local at = #marked
        marked[at + 1] = leased
        marked[at + 2] = tonumber(reclaims) or 0
        marked[at + 3] = cancelled and 1 or 0
      end
      if reclaims then
        give_back(n + 1)
        break
      end
    end
  end
end
if #leases > 0 then
  write_all('ZADD', KEYS[2], false, leases, 2)
  write_all('HSET', KEYS[8], false, holders, 2)
end
-- Quarantined jobs this caller may not take, and the rest of a batch cut short, go back first in line.
ready_flush(back)
for account, n in pairs(leased_of) do tally(counts, 'leased:' .. account, n) end
apply_tally(KEYS[5], counts)
-- The shard's pace moves on by the calls handed out.
for account, pace in pairs(paced_leased) do
  if pace.n > 0 then
    redis.call('HSET', pace_key, account, pace.next_free + pace.n * pace.step)
    redis.call('PEXPIRE', pace_key, PACE_KEPT)
  end
end
-- More work is waiting now: pass the token on so another idle worker wakes too.
if more_ready or redis.call('LLEN', KEYS[1]) > 0 then
  wake(KEYS[4])
end
return out
