-- lease: take up to N ready jobs and reserve them for one holder until Redis's clock passes the lease.
-- KEYS[1] ready (LIST)   KEYS[2] leased (ZSET id -> lease expiry, Redis ms)   KEYS[3] jobs (HASH)   KEYS[4] wake (LIST)
-- KEYS[5] counts (HASH)   KEYS[6] reclaims (HASH id -> reclaims counted)   KEYS[7] cancelled campaigns (SET)
-- KEYS[8] holders (HASH id -> holder token; '*' appended once its provider call started)
-- ARGV[1] lease (ms)   ARGV[2] N   ARGV[3] holder token (the worker's id and a sequence number of its own)
-- ARGV[4] 'one' (the caller may take one quarantined job) or 'none' (it runs one already: quarantined jobs stay
--   first in line for another worker, or for this one once that job is done)
-- Returns: a flat list id, value, reclaims, cancelled (1/0) per job. Ids whose job is gone (finished while the id
-- waited in the list) and ids held already (an id may wait in the list twice) are dropped here, which is why
-- nothing ever scans the list to remove them. Quarantine: a job with a reclaim counted is leased alone (the batch
-- ends before it, or is only it), and a worker runs one such job at a time, so a job that kills its worker cannot
-- take batch-mates or other suspects with it.
local ids = redis.call('LPOP', KEYS[1], tonumber(ARGV[2]))
local out = {}
if not ids then return out end
local expiry = now_ms() + tonumber(ARGV[1])
-- Reclaims are rare: look them up only when some job has one.
local any_reclaimed = redis.call('EXISTS', KEYS[6]) == 1
local any_cancelled = redis.call('EXISTS', KEYS[7]) == 1
local counts = {}
local may_quarantine = ARGV[4] == 'one'
local set_aside = {}
-- Hands ids[from..] back to the head of the ready list, in their order.
local function give_back(from)
  local back = {}
  for n = #ids, from, -1 do back[#back + 1] = ids[n] end
  if #back > 0 then redis.call('LPUSH', KEYS[1], unpack(back)) end
end
for n, id in ipairs(ids) do
  local value = redis.call('HGET', KEYS[3], id)
  if value then
    local reclaims = any_reclaimed and redis.call('HGET', KEYS[6], id) or false
    if reclaims and not may_quarantine then
      set_aside[#set_aside + 1] = id
    elseif reclaims and #out > 0 then
      give_back(n)
      break
    elseif redis.call('ZADD', KEYS[2], 'NX', expiry, id) == 1 then
      local account, campaign = header(value)
      redis.call('HSET', KEYS[8], id, ARGV[3])
      tally(counts, 'leased:' .. account, 1)
      out[#out + 1] = id
      out[#out + 1] = value
      out[#out + 1] = reclaims or '0'
      out[#out + 1] = (any_cancelled and campaign ~= '' and redis.call('SISMEMBER', KEYS[7], campaign) == 1) and '1' or '0'
      if reclaims then
        give_back(n + 1)
        break
      end
    end
  end
end
-- Quarantined jobs this caller may not take go back first in line, in their order.
if #set_aside > 0 then
  local back = {}
  for n = #set_aside, 1, -1 do back[#back + 1] = set_aside[n] end
  redis.call('LPUSH', KEYS[1], unpack(back))
end
apply_tally(KEYS[5], counts)
-- More work is waiting: pass the token on so another idle worker wakes too.
if redis.call('LLEN', KEYS[1]) > 0 then
  wake(KEYS[4])
end
return out
