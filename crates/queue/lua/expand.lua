-- expand: turn (part of) a leased bulk job into child jobs, atomically. Children get ids derived from the parent
-- The Rust side, crates/queue/src/script/expand.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- and their position, so a crash anywhere neither loses nor duplicates one: either this whole step happened (the
-- parent moved to its next revision or is gone) or none of it did (the parent is reclaimed and expanded again, to
-- the same child ids). Children inherit the parent's header (account, campaign, lane); their flow is the parent's
-- campaign, or the parent itself when it has none, so one bulk job's children share their lane with the account's
-- other jobs round-robin instead of standing in front of them.
-- The ids not yet expanded are kept once, in the parent's id list: the first step of a job that carries its ids
-- pushes the rest there, each later step takes its ids from the head (the worker read them with LRANGE while it
-- held the lease at this revision), so every step moves only its own ids and the parent's small envelope.
-- KEYS[1] jobs (HASH)   KEYS[2] the accounts with ready jobs (LIST, the lanes' root)   KEYS[3] leased (ZSET)
-- KEYS[4] wake (LIST)
-- KEYS[5] pending per account (HASH)   KEYS[6] counts (HASH)   KEYS[7] the parent's id list (LIST)
-- KEYS[8] holders (HASH)   KEYS[9] reclaims (HASH)
-- ARGV[1] parent id   ARGV[2] parent revision leased   ARGV[3] the parent's next envelope ("" = fully
--   expanded: delete it and its id list)   ARGV[4] ids this step took from the head of the id list
--   ARGV[5] R, the ready prefix   ARGV[6] P = ids to push to the id list, then those P ids; then per child: id,
--   envelope
-- Returns: 1 if expanded, 0 if the parent was finished or rewritten since it was leased.
local parent, rev, rest, pop, npush = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[6])
local R = ARGV[5]
local current = redis.call('HGET', KEYS[1], parent)
if not at_revision(current, rev) then return 0 end
local account, campaign = header(current)
local flow = campaign ~= '' and campaign or parent
local added = 0
local children = ready_batch(R, false)
for i = 7 + npush, #ARGV, 2 do
  local child = restamp(current, 0, ARGV[i + 1], flow)
  if redis.call('HSETNX', KEYS[1], ARGV[i], child) == 1 then
    ready_add(children, ARGV[i], child)
    added = added + 1
  end
end
ready_flush(children)
-- Still leased (by this worker or one that took it over), or reclaimed meanwhile and so in the ready list already.
local held = redis.call('ZREM', KEYS[3], parent) == 1
if held then count(KEYS[6], 'leased', account, -1) end
redis.call('HDEL', KEYS[8], parent)
if pop > 0 then redis.call('LTRIM', KEYS[7], pop, -1) end
for first = 7, 6 + npush, 1000 do
  redis.call('RPUSH', KEYS[7], unpack(ARGV, first, math.min(first + 999, 6 + npush)))
end
if rest == '' then
  -- Gone with its reclaim count: a bulk parent leaves nothing behind.
  redis.call('HDEL', KEYS[1], parent)
  redis.call('DEL', KEYS[7])
  redis.call('HDEL', KEYS[9], parent)
  added = added - 1
else
  -- More to expand: the parent goes first in line, at its next revision, for any worker to continue (once: a
  -- reclaimed parent is in the ready list already).
  local next_value = restamp(current, tonumber(rev) + 1, rest)
  redis.call('HSET', KEYS[1], parent, next_value)
  if held then ready_push(R, parent, next_value, true) end
end
if redis.call('HINCRBY', KEYS[5], account, added) <= 0 then redis.call('HDEL', KEYS[5], account) end
wake(KEYS[4])
return 1
