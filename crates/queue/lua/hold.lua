-- hold: keep one worker's leases: push their expiry to Redis's now + lease, and mark the jobs whose provider call
-- The Rust side, crates/queue/src/script/hold.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- starts now (a reclaim counts toward a job's poison limit only if its call had started).
-- KEYS[1] leased (ZSET id -> lease expiry, Redis ms)   KEYS[2] holders (HASH id -> token, '*' once started)
-- ARGV[1] lease (ms)   then runs of jobs that share a holder token and a kind: the token, 's' (their calls start:
--   mark them; their leases were taken or extended moments ago, so they are not extended here) or 'e' (extend
--   only), the number of jobs in the run, and their ids (a batch is mostly one or two runs: each id costs one
--   argument, not three)
-- Returns: the positions (1-based, in ARGV order) of the jobs the token does not hold: finished, released, cancelled
-- before its call (cancel.lua), or reclaimed after their lease expired; nothing is written for those. The others
-- are held (extended for 'e', marked for 's'). An empty list when every job is held.
local expiry = ms_text(now_ms() + tonumber(ARGV[1]))
-- Each run's holders are read straight from its ids in ARGV (one HMGET per run and chunk), with no table of ids,
-- tokens and kinds built first; then one write of each kind: no call per job.
local misses, marks, extends = {}, {}, {}
local n_misses, n_marks, n_extends, n_jobs = 0, 0, 0, 0
local i, argc = 2, #ARGV
while i <= argc do
  local token, kind, count = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local started, marking, last = token .. '*', kind == 's', i + 2 + count
  for from = i + 3, last, VARIADIC_CHUNK do
    local to = math.min(from + VARIADIC_CHUNK - 1, last)
    local holders = redis.call('HMGET', KEYS[2], unpack(ARGV, from, to))
    for k = 1, to - from + 1 do
      local holder = holders[k]
      n_jobs = n_jobs + 1
      if holder == token then
        if marking then
          marks[n_marks + 1] = ARGV[from + k - 1]
          marks[n_marks + 2] = started
          n_marks = n_marks + 2
        else
          extends[n_extends + 1] = expiry
          extends[n_extends + 2] = ARGV[from + k - 1]
          n_extends = n_extends + 2
        end
      elseif holder == started then
        -- Started already: held; an extension pushes its lease on, a second start mark changes nothing.
        if not marking then
          extends[n_extends + 1] = expiry
          extends[n_extends + 2] = ARGV[from + k - 1]
          n_extends = n_extends + 2
        end
      else
        n_misses = n_misses + 1
        misses[n_misses] = n_jobs
      end
    end
  end
  i = last + 1
end
if n_marks > 0 then write_all('HSET', KEYS[2], false, marks, 2) end
if n_extends > 0 then write_all('ZADD', KEYS[1], 'XX', extends, 2) end
return misses
