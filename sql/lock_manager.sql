--
-- named_locks() reports what the lock manager holds, however holds came and
-- went: cursors, savepoints, exception blocks, releases behind its back.
--
\set VERBOSITY terse

-- this session's named-key advisory locks as the lock manager has them
CREATE VIEW lock_manager AS
	SELECT (classid::bigint << 32 | objid::bigint) AS key,
		   CASE mode WHEN 'ShareLock' THEN 'shared' ELSE 'exclusive' END AS mode
	FROM pg_locks
	WHERE locktype = 'advisory' AND objsubid = 1 AND pid = pg_backend_pid() AND granted;
CREATE VIEW disagreements AS
	(SELECT 'only in pg_locks' AS side, key, mode FROM lock_manager
	 EXCEPT SELECT 'only in pg_locks', key, mode FROM named_locks())
	UNION ALL
	(SELECT 'only in named_locks', key, mode FROM named_locks()
	 EXCEPT SELECT 'only in named_locks', key, mode FROM lock_manager);

-- a cursor's locks belong to its portal, which a rollback to a savepoint
-- set after it was opened does not touch
BEGIN;
DECLARE c CURSOR FOR SELECT named_xact_lock_exclusive('cur' || g) FROM generate_series(1, 3) g;
SAVEPOINT s;
FETCH 1 FROM c;
ROLLBACK TO SAVEPOINT s;
SELECT name, mode, scope, holds FROM named_locks();
SELECT * FROM disagreements;
FETCH ALL FROM c;
SELECT name, scope, holds FROM named_locks();
COMMIT;
SELECT * FROM named_locks();

-- the same with a timed lock, which a wait would have taken in a
-- subtransaction of its own
BEGIN;
DECLARE t CURSOR FOR SELECT named_xact_lock_shared('timed-cur', '1s');
SAVEPOINT s;
FETCH 1 FROM t;
ROLLBACK TO SAVEPOINT s;
SELECT name, mode, scope, holds FROM named_locks();
SELECT * FROM disagreements;
COMMIT;

-- exception blocks: what a block took goes with its rollback, what it
-- released stays released, in a loop of any length
DO $$
BEGIN
	FOR i IN 1..200 LOOP
		BEGIN
			PERFORM named_lock_exclusive('loop-' || i);
			PERFORM named_xact_lock_shared('loop-' || i);
			IF i % 2 = 0 THEN
				PERFORM named_unlock_exclusive('loop-' || i);
			ELSE
				RAISE EXCEPTION 'roll back %', i;
			END IF;
		EXCEPTION WHEN raise_exception THEN NULL;
		END;
	END LOOP;
END
$$;
SELECT count(*) AS named_rows FROM named_locks();
SELECT * FROM disagreements;
SELECT named_unlock_all();

-- a failed unlock leaves no stale count behind: a later integer hold on
-- the key is not taken for a named one
SELECT named_lock_exclusive('stale');
SELECT pg_advisory_unlock_all();
SELECT named_unlock_exclusive('stale');
SELECT pg_advisory_lock(named_lock_key('stale'));
SELECT * FROM named_locks();
SELECT named_unlock_all();
SELECT pg_advisory_unlock(named_lock_key('stale'));

-- unlocking what is not held answers false without a warning, whatever the
-- message levels, and leaves them as they were
SET log_min_messages = error;
SELECT named_unlock_exclusive('never-held');
RESET log_min_messages;
SET client_min_messages = warning;
SELECT named_unlock_shared('never-held'), named_unlock_shared(ARRAY['never-held', 'nor-this']);
BEGIN;
SELECT named_xact_lock_shared('xact-only');
SELECT named_unlock_shared('xact-only');
COMMIT;
SELECT current_setting('log_min_messages') AS log_min_messages,
	   current_setting('client_min_messages') AS client_min_messages;
SELECT pg_advisory_unlock(12345) AS builtin_still_warns;
RESET client_min_messages;

-- names are kept cut to 1 KiB (at a character boundary); the key stays
-- the whole name's
SELECT named_lock_exclusive(repeat('n', 2000)), named_lock_shared(repeat('é', 600));
SELECT length(name) AS characters, octet_length(name) AS bytes,
	   key = named_lock_key(repeat('n', 2000)) OR key = named_lock_key(repeat('é', 600)) AS whole_name_key
FROM named_locks() ORDER BY bytes, characters;
SELECT named_unlock_all();

-- the kept kilobyte of a cut name is another name, with its own key
SELECT named_lock_exclusive(repeat('n', 2000));
SELECT named_lock_key(repeat('n', 1024)) =
	   ('x' || left(encode(sha256(convert_to(repeat('n', 1024), 'UTF8')), 'hex'), 16))::bit(64)::bigint
	   AS kept_bytes_have_their_own_key;
SELECT named_unlock_all();

-- memory stays bounded whatever the names' lengths: 300 names of 1 MiB
-- take under 1 MiB while held, and about as much once released, kept for
-- reuse; past 1,024 names, those no longer held are dropped at the end of
-- the transaction
BEGIN;
SELECT count(named_xact_lock_exclusive(g || repeat('m', 1048570))) AS locked FROM generate_series(1, 300) g;
SELECT total_bytes < 1024 * 1024 AS under_1_mib_while_held
FROM pg_backend_memory_contexts WHERE name = 'advlock_named names';
COMMIT;
SELECT total_bytes < 1024 * 1024 AS under_1_mib_after
FROM pg_backend_memory_contexts WHERE name = 'advlock_named names';
SET advlock_named.max_locks_per_session = 0;
BEGIN;
SELECT count(named_xact_lock_exclusive(g || repeat('k', 2000))) AS locked FROM generate_series(1, 1100) g;
COMMIT;
RESET advlock_named.max_locks_per_session;
SELECT total_bytes < 64 * 1024 AS under_64_kib_after_more_than_1024
FROM pg_backend_memory_contexts WHERE name = 'advlock_named names';

-- that end-of-transaction prune drops the names no longer held, but never
-- a name held at session level by name
SELECT named_lock_shared('kept across the prune');
SET advlock_named.max_locks_per_session = 0;
BEGIN;
SELECT count(named_xact_lock_exclusive('dropped ' || g || repeat('x', 2000))) AS locked FROM generate_series(1, 1100) g;
COMMIT;
RESET advlock_named.max_locks_per_session;
SELECT name, mode, scope, holds FROM named_locks();
SELECT * FROM disagreements;
SELECT total_bytes < 64 * 1024 AS dropped_the_rest
FROM pg_backend_memory_contexts WHERE name = 'advlock_named names';
SELECT named_unlock_all();

-- a set whose first name is new to a full table, which prunes it, still
-- records the names after it that the table had before ('a new name' has
-- the smaller key, so it is taken first)
\c
SET advlock_named.max_locks_per_session = 0;
SELECT count(named_try_lock_exclusive('p' || g) AND named_unlock_exclusive('p' || g)) AS used
FROM generate_series(1, 1024) g;
SELECT named_lock_key('a new name') < named_lock_key('p1') AS new_name_first;
SELECT named_lock_exclusive(ARRAY['p1', 'a new name']);
RESET advlock_named.max_locks_per_session;
SELECT name, mode, scope, holds FROM named_locks();
SELECT * FROM disagreements;
SELECT named_unlock_all();

DROP VIEW disagreements;
DROP VIEW lock_manager;
