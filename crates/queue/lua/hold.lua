-- hold: keep one worker's leases: push their expiry to Redis's now + lease, and mark the jobs whose provider call
-- The Rust side, crates/queue/src/script/hold.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- starts now (a reclaim counts toward a job's poison limit only if its call had started).
-- KEYS[1] leased (ZSET id -> lease expiry, Redis ms)   KEYS[2] holders (HASH id -> token, '*' once started)
-- ARGV[1] lease (ms)   then runs of jobs that share a holder token and a kind: the token, 's' (their calls start:
--   mark them; their leases were taken or extended moments ago, so they are not extended here) or 'e' (extend
--   only), the number of jobs in the run, and their ids (a batch is mostly one or two runs: each id costs one
--   argument, not three)
-- Returns: per job 1 if the token holds it (extended for 'e', marked for 's'), 0 if not: finished, released,
-- cancelled before its call (cancel.lua), or its lease expired and was reclaimed. Nothing is written for those.
local expiry = ms_text(now_ms() + tonumber(ARGV[1]))
local ids, tokens, kinds = {}, {}, {}
local i, argc, n_ids = 2, #ARGV, 0
while i <= argc do
  local token, kind, count = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  for j = i + 3, i + 2 + count do
    n_ids = n_ids + 1
    ids[n_ids] = ARGV[j]
    tokens[n_ids] = token
    kinds[n_ids] = kind
  end
  i = i + 3 + count
end
-- One read of every holder, then one write of each kind: no call per job.
local holders = read_all('HMGET', KEYS[2], ids)
local out, marks, extends = {}, {}, {}
local n_marks, n_extends = 0, 0
for n = 1, n_ids do
  local id, token, holder = ids[n], tokens[n], holders[n]
  if holder and held_by(holder, token) then
    if kinds[n] == 's' then
      if holder == token then
        marks[n_marks + 1] = id
        marks[n_marks + 2] = token .. '*'
        n_marks = n_marks + 2
      end
    else
      extends[n_extends + 1] = expiry
      extends[n_extends + 2] = id
      n_extends = n_extends + 2
    end
    out[n] = 1
  else
    out[n] = 0
  end
end
if #marks > 0 then write_all('HSET', KEYS[2], false, marks, 2) end
if #extends > 0 then write_all('ZADD', KEYS[1], 'XX', extends, 2) end
return out
