-- purge_dead: one bounded trim step of the dead letters: the oldest over a max len, then those dead-lettered at
-- The Rust side, crates/queue/src/script/purge_dead.rs, builds the KEYS and ARGV below in this order (its test
-- holds them against this header).
-- least an age ago by Redis's clock (the letters are stamped with it too), at most N in all.
-- KEYS[1] dead (ZSET id -> ms)   KEYS[2] dead jobs (HASH)   KEYS[3] counts (HASH)
-- ARGV[1] age (ms; '' = none)   ARGV[2] N (at most 1000)   ARGV[3] max len ('' = none)
-- Returns: how many were removed; the caller repeats while it gets N.
local age = tonumber(ARGV[1])
local cutoff = age and (now_ms() - age) or false
return trim_dead(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[3]) or false, cutoff, tonumber(ARGV[2]))
