-- expand: turn (part of) a leased bulk job into child jobs, atomically. Children get ids derived from the parent
-- and their position, so a crash anywhere neither loses nor duplicates one: either this whole step happened (the
-- parent moved to its next revision or is gone) or none of it did (the parent is reclaimed and expanded again, to
-- the same child ids). Children inherit the parent's header (account, campaign).
-- KEYS[1] jobs (HASH)   KEYS[2] ready (LIST)   KEYS[3] leased (ZSET)   KEYS[4] wake (LIST)
-- KEYS[5] pending per account (HASH)   KEYS[6] counts (HASH)   KEYS[7] holders (HASH)   KEYS[8] reclaims (HASH)
-- ARGV[1] parent id   ARGV[2] parent revision leased   ARGV[3] the parent's next envelope ("" = fully
--   expanded: delete it)   then per child: id, envelope
-- Returns: 1 if expanded, 0 if the parent was finished or rewritten since it was leased.
local parent, rev, rest = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', KEYS[1], parent)
if not at_revision(current, rev) then return 0 end
local account = header(current)
local added = 0
for i = 4, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], restamp(current, 0, ARGV[i + 1])) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    added = added + 1
  end
end
if redis.call('ZREM', KEYS[3], parent) == 1 then count(KEYS[6], 'leased', account, -1) end
redis.call('HDEL', KEYS[7], parent)
if rest == '' then
  -- Gone with its reclaim count: a bulk parent leaves nothing behind.
  redis.call('HDEL', KEYS[1], parent)
  redis.call('HDEL', KEYS[8], parent)
  added = added - 1
else
  -- More to expand: the parent goes first in line, at its next revision, for any worker to continue.
  redis.call('HSET', KEYS[1], parent, restamp(current, tonumber(rev) + 1, rest))
  redis.call('LPUSH', KEYS[2], parent)
end
if redis.call('HINCRBY', KEYS[5], account, added) <= 0 then redis.call('HDEL', KEYS[5], account) end
wake(KEYS[4])
return 1
