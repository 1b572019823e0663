--
-- Two different names with the same key are the same lock; the name
-- directory notices (a second, independent fingerprint of each name
-- differs), warns once per backend and pair, and counts it.
--
-- Two expected outputs: collision.out where a directory exists (preloaded,
-- or PostgreSQL 17 and later), collision_1.out for 15 without preloading.
-- Neither contains the names themselves (VERBOSITY terse hides the detail
-- that names them), so changing the pair needs no new expected output.
--

-- ===== THE COLLIDING PAIR: the only place it is written =====
-- Two names with equal named_lock_key(), found by tools/find_key_collision.cpp
-- (default seed): key 6367857746472533293, 0x585f2ce1ceb6fd2d.
\set name_a 'advlock-collision-7a7b802c941fbd50'
\set name_b 'advlock-collision-1092ac1e4d268321'
-- =============================================================

\set VERBOSITY terse
\set SHOW_CONTEXT never

-- the pair must really be one: different names, one key
SELECT :'name_a' <> :'name_b' AS different_names,
	   named_lock_key(:'name_a') = named_lock_key(:'name_b') AS same_key;

SELECT current_setting('server_version_num')::int >= 170000
	OR current_setting('shared_preload_libraries') ~ 'advlock_named' AS has_directory \gset

-- one lock: holding one name holds the other
SELECT named_lock_exclusive(:'name_a');
SELECT named_lock_is_held(:'name_b') AS other_name_is_held,
	   named_unlock_exclusive(:'name_b') AS unlocked_through_other_name;

\if :has_directory
\else
\quit
\endif

SELECT collisions AS collisions_before FROM named_lock_stats_info \gset

-- the first name is published; the second warns, once per backend
SELECT named_lock_exclusive(:'name_a'), named_unlock_exclusive(:'name_a');
SELECT named_lock_exclusive(:'name_b'), named_unlock_exclusive(:'name_b');
SELECT named_lock_exclusive(:'name_b'), named_unlock_exclusive(:'name_b');
SELECT collisions - :collisions_before AS new_collisions FROM named_lock_stats_info;

-- the directory keeps the first name it saw for the key
SELECT name = :'name_a' AS first_name_kept, acquisitions
FROM named_lock_stats
WHERE database = current_database() AND key = named_lock_key(:'name_a');

-- another backend that uses the second name first learns it from the directory
\c
SELECT named_lock_exclusive(:'name_b'), named_unlock_exclusive(:'name_b');
SELECT named_lock_exclusive(:'name_b'), named_unlock_exclusive(:'name_b');
SELECT collisions - :collisions_before AS new_collisions FROM named_lock_stats_info;

-- a name is no collision with itself, whichever way its fingerprint came:
-- with the key derived by this call, or apart from a key already cached
\c
SELECT named_lock_exclusive('advlock-fingerprint-check'), named_unlock_exclusive('advlock-fingerprint-check');
\c
SELECT named_lock_key('advlock-fingerprint-check') <> 0 AS key_cached;
SELECT named_lock_exclusive('advlock-fingerprint-check'), named_unlock_exclusive('advlock-fingerprint-check');
SELECT collisions - :collisions_before AS new_collisions FROM named_lock_stats_info;
