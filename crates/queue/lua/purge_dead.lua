-- purge_dead: forget up to N dead letters dead-lettered at or before a time.
-- KEYS[1] dead (ZSET id -> ms)   KEYS[2] dead jobs (HASH)   KEYS[3] counts (HASH)
-- ARGV[1] cutoff (ms)   ARGV[2] N (at most 1000)
-- Returns: how many were removed; the caller repeats while it gets N.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
forget_dead(KEYS[1], KEYS[2], KEYS[3], ids)
return #ids
