--
-- A session hold taken by a statement that fails goes with the failure:
-- the client was told the call failed, so nothing it took stays held.
-- Holds of statements that completed keep their session semantics.
--
\set VERBOSITY terse

CREATE FUNCTION held() RETURNS TABLE (name text, mode text, scope text, holds integer)
LANGUAGE sql AS $$ SELECT name, mode, scope, holds FROM named_locks() $$;
-- an error when the statement runs, after the calls to its left
CREATE FUNCTION fail() RETURNS integer
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the statement fails'; END $$;

-- an error later in the statement
SELECT named_lock_exclusive('later-error'), fail();
SELECT * FROM held();

-- a statement timeout after the grant
SET statement_timeout = '100ms';
SELECT named_lock_exclusive('timeout'), pg_sleep(1);
RESET statement_timeout;
SELECT * FROM held();

-- every form, every name of a set
SELECT named_lock_shared(ARRAY['set-a', 'set-b']), fail();
SELECT named_try_lock_exclusive('try'), fail();
SELECT named_lock_exclusive('timed', '1s'), fail();
SELECT named_try_lock_shared(ARRAY['try-set-a', 'try-set-b']), fail();
SELECT named_lock_exclusive(ARRAY['timed-set-a', 'timed-set-b'], '1s'), fail();
SELECT * FROM held();

-- re-entrant holds: only the failing statement's go
SELECT named_lock_shared('twice');
SELECT named_lock_shared('twice'), named_lock_shared('twice'), fail();
SELECT * FROM held();
SELECT named_unlock_shared('twice');

-- a hold the statement gave back itself is not given back twice
SELECT named_lock_exclusive('own');
SELECT named_lock_exclusive('own'), named_unlock_exclusive('own'), fail();
SELECT * FROM held();
SELECT named_unlock_exclusive('own');

-- named_unlock_all() in the failing statement: nothing of it is left to give back
SELECT named_lock_exclusive('all-a');
SELECT named_lock_exclusive('all-b'), named_unlock_all(), fail();
SELECT * FROM held();

-- a hold of an earlier statement survives the transaction's rollback
BEGIN;
SELECT named_lock_exclusive('earlier');
SELECT 1/0;
ROLLBACK;
SELECT * FROM held();
SELECT named_unlock_exclusive('earlier');

-- a statement failing inside a savepoint
BEGIN;
SAVEPOINT s;
SELECT named_lock_exclusive('before-savepoint-error');
SELECT named_lock_exclusive('in-savepoint'), fail();
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM held();
SELECT named_unlock_exclusive('before-savepoint-error');

-- a cursor's FETCH is the statement that takes its locks
BEGIN;
DECLARE c CURSOR FOR
	SELECT named_lock_exclusive(n), CASE WHEN n = 'cursor-b' THEN fail() END
	FROM unnest(ARRAY['cursor-a', 'cursor-b']) AS n;
FETCH 1 FROM c;
FETCH 1 FROM c;
ROLLBACK;
SELECT * FROM held();
SELECT named_unlock_exclusive('cursor-a');

-- PL/pgSQL: an exception block that catches the error: the statement did not fail
DO $$
BEGIN
	BEGIN
		PERFORM named_lock_exclusive('caught');
		PERFORM fail();
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
END
$$;
-- ... and uncaught, it did
DO $$
BEGIN
	PERFORM named_lock_exclusive('uncaught');
	PERFORM fail();
END
$$;
SELECT * FROM held();
SELECT named_unlock_exclusive('caught');

-- a procedure that commits: the hold whose transaction committed stays
CREATE PROCEDURE commit_then_fail() LANGUAGE plpgsql AS $$
BEGIN
	PERFORM named_lock_exclusive('committed');
	COMMIT;
	PERFORM named_lock_exclusive('not-committed');
	PERFORM fail();
END
$$;
CALL commit_then_fail();
SELECT * FROM held();
SELECT named_unlock_exclusive('committed');

-- one query string is one statement: it fails as a whole
SELECT named_lock_exclusive('string-a') \; SELECT fail();
SELECT * FROM held();
-- unless a COMMIT in it ended the hold's transaction first
BEGIN \; SELECT named_lock_exclusive('string-b') \; COMMIT \; SELECT fail();
SELECT * FROM held();
SELECT named_unlock_exclusive('string-b');

-- transaction locks go with the transaction, as always
BEGIN;
SELECT named_xact_lock_exclusive('xact'), fail();
ROLLBACK;
SELECT * FROM held();

-- nothing left in the lock manager either
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

DROP PROCEDURE commit_then_fail();
DROP FUNCTION fail();
DROP FUNCTION held();
