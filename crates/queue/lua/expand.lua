-- expand: turn (part of) a leased bulk job into child jobs, atomically. Children get ids derived from the parent
-- and their position, so a crash anywhere neither loses nor duplicates one: either this whole step happened (the
-- parent moved to its next revision or is gone) or none of it did (the parent is reclaimed and expanded again, to
-- the same child ids).
-- KEYS[1] jobs (HASH)   KEYS[2] ready (LIST)   KEYS[3] leased (ZSET)   KEYS[4] wake (LIST)
-- KEYS[5] pending per account (HASH)
-- ARGV[1] parent id   ARGV[2] parent revision leased   ARGV[3] the parent's next stored value ("" = fully
--   expanded: delete it)   ARGV[4] account   then per child: id, stored value
-- Returns: 1 if expanded, 0 if the parent was finished or rewritten since it was leased.
local parent, rev, rest = ARGV[1], ARGV[2], ARGV[3]
if not at_revision(redis.call('HGET', KEYS[1], parent), rev) then return 0 end
local added = 0
for i = 5, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    added = added + 1
  end
end
redis.call('ZREM', KEYS[3], parent)
if rest == '' then
  redis.call('HDEL', KEYS[1], parent)
  added = added - 1
else
  -- More to expand: the parent goes first in line, at its next revision, for any worker to continue.
  redis.call('HSET', KEYS[1], parent, rest)
  redis.call('LPUSH', KEYS[2], parent)
end
if redis.call('HINCRBY', KEYS[5], ARGV[4], added) <= 0 then redis.call('HDEL', KEYS[5], ARGV[4]) end
wake(KEYS[4])
return 1
