--
-- advlock_named.max_locks_per_session: one session cannot fill the shared
-- lock table with named locks.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
\set regress_user :USER

-- the parameter exists once the library is loaded (any call loads it)
LOAD 'advlock_named';
SHOW advlock_named.max_locks_per_session;
SET advlock_named.max_locks_per_session = 3;

-- three distinct locks are fine, in any scope and mode
BEGIN;
SELECT named_lock_exclusive('l-1'), named_lock_shared('l-2'), named_xact_lock_shared('l-3');
-- re-entrant holds and a lock already held in another scope do not count
SELECT named_lock_exclusive('l-1'), named_xact_lock_exclusive('l-1', '1s'), named_lock_shared('l-3');
-- a fourth is refused, by every form, and nothing is left behind
SELECT named_lock_exclusive('l-4');
ROLLBACK;
SELECT named_try_lock_shared('l-4');
SELECT named_lock_exclusive('l-4', '1s');
BEGIN;
SELECT named_try_xact_lock_exclusive('l-4');
ROLLBACK;
SELECT name, mode, scope, holds FROM named_locks();
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- the other mode of a held name takes no new slot in the shared lock
-- table, so it does not count again
SELECT named_lock_shared('l-1');

-- the error carries its SQLSTATE
DO $$
BEGIN
	PERFORM named_lock_exclusive('l-5');
EXCEPTION WHEN configuration_limit_exceeded THEN
	RAISE NOTICE 'refused with %', SQLSTATE;
END
$$;

-- integer advisory locks are not counted
SELECT pg_advisory_lock(1), pg_advisory_lock(2);
SELECT pg_advisory_unlock(1), pg_advisory_unlock(2);

-- releasing makes room; so do the ends of transactions and savepoints
SELECT named_unlock_shared('l-2'), named_lock_exclusive('l-4');
SELECT named_unlock_all();
BEGIN;
SELECT named_xact_lock_exclusive('x-1'), named_xact_lock_exclusive('x-2');
SAVEPOINT s;
SELECT named_xact_lock_exclusive('x-3');
ROLLBACK TO SAVEPOINT s;
SELECT named_xact_lock_exclusive('x-4');
COMMIT;
SELECT named_lock_exclusive('a'), named_lock_exclusive('b'), named_lock_exclusive('c');
SELECT pg_advisory_unlock_all();	-- releases behind our back
SELECT named_lock_exclusive('d'), named_lock_exclusive('e'), named_lock_exclusive('f');
SELECT named_unlock_all();

-- many distinct names in one transaction are fine while few are held at once
DO $$
BEGIN
	FOR i IN 1..1000 LOOP
		PERFORM named_lock_exclusive('churn-' || i);
		PERFORM named_unlock_exclusive('churn-' || i);
	END LOOP;
END
$$;

-- locks taken through a cursor belong to its portal and outlive a
-- rollback to a savepoint set after the cursor was opened: they still count
SET advlock_named.max_locks_per_session = 5;
CREATE FUNCTION first_refused_fetch(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	c CURSOR FOR SELECT named_xact_lock_exclusive('cursor-' || g) FROM generate_series(1, n) g;
BEGIN
	OPEN c;
	FOR i IN 1..n LOOP
		BEGIN
			MOVE NEXT FROM c;
			RAISE EXCEPTION 'undo this block';
		EXCEPTION
			WHEN configuration_limit_exceeded THEN RETURN i;
			WHEN raise_exception THEN NULL;
		END;
	END LOOP;
	RETURN NULL;
END
$$;
BEGIN;
SELECT first_refused_fetch(50);
SELECT count(*) <= 5 AS within_limit,
	   count(*) = (SELECT count(*) FROM named_locks()) AS named_locks_agrees
FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted;
COMMIT;
DROP FUNCTION first_refused_fetch(integer);

-- 0 lifts the limit
SET advlock_named.max_locks_per_session = 0;
SELECT count(*) FILTER (WHERE named_try_lock_shared('many-' || g)) AS locked FROM generate_series(1, 50) g;
SELECT named_unlock_all();
RESET advlock_named.max_locks_per_session;

-- only a superuser may change it, but ALTER ROLE ... SET can tailor it per role
CREATE ROLE regress_advlock_named_limited LOGIN;
ALTER ROLE regress_advlock_named_limited SET advlock_named.max_locks_per_session = 1;
SET SESSION AUTHORIZATION regress_advlock_named_limited;
SET advlock_named.max_locks_per_session = 100;
RESET SESSION AUTHORIZATION;
\c - regress_advlock_named_limited
SHOW advlock_named.max_locks_per_session;
SELECT named_lock_exclusive('first');
SELECT named_lock_exclusive('second');
SELECT named_unlock_all();
\c - :regress_user
DROP ROLE regress_advlock_named_limited;
