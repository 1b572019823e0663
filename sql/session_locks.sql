--
-- Session-scoped named locks within one session.  Conflicts between sessions
-- are in the isolation specs.
--

CREATE VIEW my_advisory_locks AS
	SELECT (classid::bigint << 32) | objid::bigint AS key, objsubid, mode, granted
	FROM pg_locks
	WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- a named lock is the advisory lock on its int8 key (objsubid 1)
SELECT named_lock_exclusive('import');
SELECT key = named_lock_key('import') AS same_key, objsubid, mode, granted FROM my_advisory_locks;

-- holds are re-entrant and counted
SELECT named_lock_exclusive('import');
SELECT named_try_lock_exclusive('import');
SELECT * FROM named_locks();
SELECT named_unlock_exclusive('import'), named_unlock_exclusive('import');
SELECT * FROM named_locks();
SELECT named_unlock_exclusive('import');
SELECT count(*) AS left_in_pg_locks FROM my_advisory_locks;

-- unlocking what is not held returns false, quietly, in both modes
SELECT named_unlock_exclusive('import') AS exclusive, named_unlock_shared('import') AS shared;

-- the modes are separate holds on the same key
SELECT named_lock_shared('report'), named_try_lock_shared('report'), named_lock_exclusive('report');
SELECT name, mode, scope, holds FROM named_locks();
SELECT mode FROM my_advisory_locks ORDER BY mode;
SELECT named_unlock_exclusive('report') AS x, named_unlock_shared('report') AS s1,
	   named_unlock_shared('report') AS s2, named_unlock_shared('report') AS s3;

-- session locks survive commit and rollback
BEGIN;
SELECT named_lock_exclusive('survivor');
ROLLBACK;
BEGIN;
SELECT named_lock_shared('survivor');
COMMIT;
SELECT name, mode, scope, holds FROM named_locks();

-- named_unlock_all releases every named session hold and counts them
SELECT named_lock_exclusive('survivor');
SELECT named_unlock_all();
SELECT count(*) AS left_in_pg_locks FROM my_advisory_locks;
SELECT named_unlock_all();

-- ...but leaves locks taken with the integer builtins alone
SELECT pg_advisory_lock(42), pg_advisory_lock_shared(7, 8), named_lock_exclusive('mine');
SELECT named_unlock_all();
SELECT key, objsubid, mode FROM my_advisory_locks ORDER BY key;
SELECT pg_advisory_unlock(42), pg_advisory_unlock_shared(7, 8);

-- a named unlock releases the advisory lock on the key, however it was taken
SELECT pg_advisory_lock(named_lock_key('by-key'));
SELECT * FROM named_locks();
SELECT named_unlock_exclusive('by-key');
SELECT count(*) AS left_in_pg_locks FROM my_advisory_locks;

-- the same works from PL/pgSQL
DO $$
BEGIN
	PERFORM named_lock_exclusive('plpgsql');
	IF NOT named_try_lock_shared('plpgsql') THEN
		RAISE EXCEPTION 'a session must not conflict with itself';
	END IF;
END
$$;
SELECT name, mode, holds FROM named_locks();
SELECT named_unlock_all();

DROP VIEW my_advisory_locks;
