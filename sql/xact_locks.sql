--
-- Transaction-scoped named locks and how they follow (sub)transactions.
--

CREATE VIEW my_advisory_locks AS
	SELECT (classid::bigint << 32) | objid::bigint AS key, mode, granted
	FROM pg_locks
	WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- released at commit
BEGIN;
SELECT named_xact_lock_exclusive('batch'), named_try_xact_lock_exclusive('batch');
SELECT name, mode, scope, holds FROM named_locks();
SELECT key = named_lock_key('batch') AS same_key, mode FROM my_advisory_locks;
COMMIT;
SELECT count(*) AS after_commit FROM my_advisory_locks;
SELECT * FROM named_locks();

-- released at rollback
BEGIN;
SELECT named_xact_lock_shared('batch'), named_try_xact_lock_shared('batch');
SELECT name, mode, scope, holds FROM named_locks();
ROLLBACK;
SELECT count(*) AS after_rollback FROM my_advisory_locks;

-- a session unlock does not touch a transaction hold
BEGIN;
SELECT named_xact_lock_exclusive('batch');
SELECT named_unlock_exclusive('batch');
SELECT name, mode, scope, holds FROM named_locks();
COMMIT;

-- session and transaction holds of the same name are counted apart
BEGIN;
SELECT named_lock_exclusive('both'), named_xact_lock_exclusive('both');
SELECT name, mode, scope, holds FROM named_locks();
COMMIT;
SELECT name, mode, scope, holds FROM named_locks();
SELECT named_unlock_exclusive('both');

-- savepoints: a rolled-back savepoint takes its transaction holds along,
-- a released one hands them to its parent, session holds stay regardless
BEGIN;
SELECT named_xact_lock_shared('outer');
SAVEPOINT a;
SELECT named_xact_lock_shared('inner-a'), named_lock_shared('session-in-a');
SAVEPOINT b;
SELECT named_xact_lock_shared('inner-b');
RELEASE SAVEPOINT b;
SELECT name, scope, holds FROM named_locks();
ROLLBACK TO SAVEPOINT a;
SELECT name, scope, holds FROM named_locks();
SELECT key = named_lock_key('outer') AS outer_only FROM my_advisory_locks WHERE key <> named_lock_key('session-in-a');
SAVEPOINT c;
SELECT named_xact_lock_shared('inner-c');
RELEASE SAVEPOINT c;
SELECT name, scope, holds FROM named_locks();
COMMIT;
SELECT name, scope, holds FROM named_locks();
SELECT named_unlock_all();

-- the same through PL/pgSQL exception blocks, which are subtransactions
CREATE FUNCTION lock_then_fail(fail boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM named_xact_lock_exclusive('plpgsql-xact');
		PERFORM named_lock_exclusive('plpgsql-session');
		IF fail THEN
			RAISE EXCEPTION 'fail after locking';
		END IF;
	EXCEPTION WHEN raise_exception THEN
		RAISE NOTICE 'caught: %', SQLERRM;
	END;
END
$$;
BEGIN;
SELECT lock_then_fail(true);
SELECT name, scope, holds FROM named_locks();
SELECT lock_then_fail(false);
SELECT name, scope, holds FROM named_locks();
COMMIT;
SELECT named_unlock_all();
DROP FUNCTION lock_then_fail(boolean);

-- in an aborted transaction the functions are not run at all, as with the
-- builtins; the rollback then releases the transaction holds
BEGIN;
SELECT named_xact_lock_exclusive('doomed'), named_lock_exclusive('kept');
SELECT 1 / 0;
SELECT named_lock_exclusive('never');
SELECT named_unlock_exclusive('kept');
ROLLBACK;
SELECT name, scope, holds FROM named_locks();
SELECT named_unlock_all();

DROP VIEW my_advisory_locks;
