--
-- The shared name directory and per-name statistics, seen from one session.
-- Two expected outputs: directory.out where a directory exists (preloaded,
-- or PostgreSQL 17 and later), directory_1.out for 15 without preloading.
--

\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT current_setting('server_version_num')::int >= 170000
	OR current_setting('shared_preload_libraries') ~ 'advlock_named' AS has_directory \gset

\if :has_directory
\else
-- PostgreSQL 15 without shared_preload_libraries: the lock functions work
-- as before, and what needs the directory says how to get it
SELECT named_lock_exclusive('dir-import'), named_unlock_exclusive('dir-import');
SELECT count(*) FROM named_lock_waits;
SELECT * FROM named_lock_activity;
SELECT * FROM named_lock_stats;
SELECT * FROM named_lock_stats_info;
SELECT named_lock_stats_reset();
\set VERBOSITY sqlstate
SELECT * FROM named_lock_stats_info;
\quit
\endif

SELECT named_lock_stats_reset();
SELECT resets > 0 AS was_reset, stats_reset <= now() AS reset_time, max_names
FROM named_lock_stats_info;
-- a reset goes to each of the directory's parts, and counts once
SELECT resets AS resets_before FROM named_lock_stats_info \gset
SELECT named_lock_stats_reset();
SELECT resets - :resets_before AS resets_added FROM named_lock_stats_info;

-- taking a lock publishes its name; the activity view shows it by name
SELECT named_lock_exclusive('dir-import');
SELECT named_lock_shared(ARRAY['dir-a', 'dir-b']);
SELECT name, key = named_lock_key(name) AS key_matches, pid = pg_backend_pid() AS mine,
	   role = current_user AS my_role, application_name, mode, granted, wait_start, blocked_by
FROM named_lock_activity WHERE pid = pg_backend_pid() ORDER BY name;

-- an integer advisory lock has no name, but shows up; int4 keys do not
SELECT pg_advisory_lock(42), pg_advisory_lock(1, 2);
SELECT name, key, mode FROM named_lock_activity WHERE name IS NULL AND pid = pg_backend_pid();
SELECT pg_advisory_unlock(42), pg_advisory_unlock(1, 2);

-- each acquisition counts once per lock: re-entrant, transaction, try and
-- timed (free, so no wait) forms alike; unlocking counts nothing
SELECT named_lock_exclusive('dir-import');
SELECT named_try_lock_exclusive('dir-import'), named_lock_exclusive('dir-import', '1s');
BEGIN;
SELECT named_xact_lock_shared('dir-a'), named_try_xact_lock_shared(ARRAY['dir-a', 'dir-c']);
COMMIT;
SELECT named_unlock_all();
SELECT name, acquisitions, waited_acquisitions, total_wait_ms, max_wait_ms, timeouts,
	   failed_tries, deadlocks, last_acquired > now() - interval '1 hour' AS recent,
	   role = current_user AS my_role, database = current_database() AS this_database,
	   key = named_lock_key(name) AS key_matches
FROM named_lock_stats WHERE database = current_database() AND name LIKE 'dir-%' ORDER BY name;

-- names are kept up to 128 bytes, cut at a character boundary; the key is
-- that of the whole name
SELECT named_lock_exclusive('x' || repeat('é', 100)), named_unlock_all();
SELECT octet_length(name) AS stored_bytes, name = 'x' || repeat('é', 63) AS cut_at_character,
	   key = named_lock_key('x' || repeat('é', 100)) AS whole_name_key
FROM named_lock_stats WHERE database = current_database() AND name LIKE 'xé%';

-- named_lock_waits names keys from the directory as well
SELECT count(*) AS waits FROM named_lock_waits;

-- Privacy, as in pg_stat_activity: a name is shown to roles that have the
-- privileges of the role it belongs to, and to pg_read_all_stats.
CREATE ROLE regress_anl_alice;
CREATE ROLE regress_anl_bob;
CREATE ROLE regress_anl_carol IN ROLE pg_read_all_stats;
SET ROLE regress_anl_alice;
SELECT named_lock_exclusive('alice-secret'), named_unlock_exclusive('alice-secret');
RESET ROLE;

-- statistics belong to the role that took the lock
SET ROLE regress_anl_bob;
SELECT role, name, acquisitions FROM named_lock_stats
WHERE database = current_database() AND key = named_lock_key('alice-secret');
RESET ROLE;
SET ROLE regress_anl_carol;
SELECT role, name, acquisitions FROM named_lock_stats
WHERE database = current_database() AND key = named_lock_key('alice-secret');
RESET ROLE;
GRANT regress_anl_alice TO regress_anl_bob;
SET ROLE regress_anl_bob;
SELECT role, name, acquisitions FROM named_lock_stats
WHERE database = current_database() AND key = named_lock_key('alice-secret');
RESET ROLE;

-- a lock request belongs to its backend's (login) role, here the superuser's
SELECT named_lock_exclusive('superuser-secret');
SET ROLE regress_anl_bob;
SELECT name, key = named_lock_key('superuser-secret') AS key_shown, role
FROM named_lock_activity WHERE pid = pg_backend_pid();
-- resetting is for superusers unless granted
SELECT named_lock_stats_reset();
RESET ROLE;
SET ROLE regress_anl_carol;
SELECT name FROM named_lock_activity WHERE pid = pg_backend_pid();
RESET ROLE;
SELECT named_unlock_all();

GRANT EXECUTE ON FUNCTION named_lock_stats_reset() TO regress_anl_bob;
SET ROLE regress_anl_bob;
SELECT named_lock_stats_reset();
SELECT count(*) > 0 AS names_stay, sum(acquisitions) AS acquisitions
FROM named_lock_stats WHERE database = current_database();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION named_lock_stats_reset() FROM regress_anl_bob;

-- advlock_named.track_names = off: the session publishes no name and counts
-- nothing; a lock whose name is in the directory already shows by name.
-- Only superusers may turn it off (so, unless granted, may not roles).
SET advlock_named.track_names = off;
SELECT named_lock_exclusive('dir-untracked'), named_lock_exclusive('dir-import', '1s');
SELECT name, key = named_lock_key('dir-untracked') AS untracked_key, mode
FROM named_lock_activity WHERE pid = pg_backend_pid() ORDER BY 2;
SELECT name, acquisitions FROM named_lock_stats
WHERE database = current_database() AND name IN ('dir-import', 'dir-untracked');
SELECT named_unlock_all();
RESET advlock_named.track_names;
SELECT named_lock_exclusive('dir-untracked'), named_lock_exclusive('dir-import');
SELECT name, mode FROM named_lock_activity WHERE pid = pg_backend_pid() ORDER BY name;
SELECT named_unlock_all();
SELECT name, acquisitions FROM named_lock_stats
WHERE database = current_database() AND name IN ('dir-import', 'dir-untracked') ORDER BY name;
SET ROLE regress_anl_bob;
SET advlock_named.track_names = off;
\set VERBOSITY sqlstate
SET advlock_named.track_names = off;
\set VERBOSITY default
RESET ROLE;
GRANT SET ON PARAMETER advlock_named.track_names TO regress_anl_bob;
SET ROLE regress_anl_bob;
SET advlock_named.track_names = off;
SELECT named_lock_exclusive('dir-bob-untracked'), named_unlock_all();
SELECT count(*) AS counted FROM named_lock_stats WHERE name = 'dir-bob-untracked';
RESET advlock_named.track_names;
RESET ROLE;
REVOKE SET ON PARAMETER advlock_named.track_names FROM regress_anl_bob;

DROP ROLE regress_anl_alice, regress_anl_bob, regress_anl_carol;

-- More names than max_names, each used once: the full directory evicts
-- idle names, least used first and, among names used alike, the oldest
-- first.  A name held all along stays, and so does one used more often
-- than the churning ones, each with its exact counts; the newest name is
-- there.  The churn fills every one of the directory's sixteen parts, so
-- it keeps far more than the sixteenth one part can hold.  (Reading
-- named_lock_stats flushes this session's counts.)
SELECT max_names, evictions AS evictions_before FROM named_lock_stats_info \gset
SELECT named_lock_exclusive('dir-held');
SELECT count(CASE WHEN named_try_lock_shared('dir-busy') THEN named_unlock_shared('dir-busy') END) AS busy
FROM generate_series(1, 5);
SELECT count(*) > 0 AS flushed FROM named_lock_stats;
SELECT count(CASE WHEN named_try_lock_exclusive('dir-churn-' || g)
			 THEN named_unlock_exclusive('dir-churn-' || g) END) = :max_names + 500 AS churned
FROM generate_series(1, :max_names + 500) g;
SELECT names <= max_names AS within_max_names, names > max_names / 2 AS fills_every_part,
	   evictions > :evictions_before AS evicted
FROM named_lock_stats_info;
SELECT CASE WHEN name LIKE 'dir-churn-%' THEN 'the newest' ELSE name END AS name, acquisitions
FROM named_lock_stats
WHERE database = current_database() AND name IN ('dir-held', 'dir-busy', 'dir-churn-' || (:max_names + 500))
ORDER BY name;

-- A name evicted (which ones depends on what earlier tests left in the
-- directory): used again, it is published again, its counts started over.
SELECT min(g) AS gone FROM generate_series(1, :max_names + 500) g
WHERE NOT EXISTS (SELECT FROM named_lock_stats WHERE name = 'dir-churn-' || g) \gset
SELECT named_lock_exclusive('dir-churn-' || :gone);
SELECT acquisitions FROM named_lock_stats WHERE name = 'dir-churn-' || :gone;
SELECT name = 'dir-churn-' || :gone AS named, mode FROM named_lock_activity
WHERE pid = pg_backend_pid() AND key = named_lock_key('dir-churn-' || :gone);
SELECT named_unlock_all();

-- Each name new to the directory is one more name or, once it is full, one
-- more eviction: names + evictions grows by exactly the names published.
SELECT names + evictions AS counted_before, pg_backend_pid() AS pid FROM named_lock_stats_info \gset
SELECT count(CASE WHEN named_try_lock_exclusive('dir-count-' || :pid || '-' || g)
			 THEN named_unlock_exclusive('dir-count-' || :pid || '-' || g) END) = :max_names + 100 AS published
FROM generate_series(1, :max_names + 100) g;
SELECT names + evictions - :counted_before = :max_names + 100 AS each_one_counted FROM named_lock_stats_info;
