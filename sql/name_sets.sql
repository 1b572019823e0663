--
-- Sets of names in one session: key order, duplicates, all or nothing,
-- and bad input.  The deadlock-freedom across sessions is in the isolation
-- spec set_order.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE VIEW my_advisory_locks AS
	SELECT (classid::bigint << 32) | objid::bigint AS key, mode
	FROM pg_locks
	WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- every form; a name given twice is taken once
SELECT named_lock_exclusive(ARRAY['a', 'b', 'a']);
SELECT named_lock_shared(ARRAY['c', 'd']), named_try_lock_shared(ARRAY['d', 'e']);
SELECT named_lock_exclusive(ARRAY['f'], '1s'), named_try_lock_exclusive(ARRAY['b', 'f']);
SELECT name, mode, scope, holds FROM named_locks();
SELECT count(*) AS locks_in_pg_locks FROM my_advisory_locks;
SELECT named_unlock_exclusive(ARRAY['a', 'b', 'f', 'f', 'not-held']) AS exclusive_released,
	   named_unlock_shared(ARRAY['c', 'd', 'e']) AS shared_released;
SELECT name, mode, holds FROM named_locks();
SELECT named_unlock_all();

BEGIN;
SELECT named_xact_lock_exclusive(ARRAY['x', 'y']), named_try_xact_lock_shared(ARRAY['z']),
	   named_xact_lock_shared(ARRAY['w'], '1s'), named_try_xact_lock_exclusive(ARRAY['x']);
SELECT name, mode, scope, holds FROM named_locks();
COMMIT;
SELECT count(*) AS after_commit FROM my_advisory_locks;

-- a string literal is one name; a set needs an array
SELECT named_try_lock_exclusive('{a,b}') AS one_name, named_try_lock_exclusive('{a,b}'::text[]) AS two_names;
SELECT name FROM named_locks();
SELECT named_unlock_all();

-- all or nothing: a prepared transaction holds "m"
BEGIN;
SELECT named_xact_lock_exclusive('m');
PREPARE TRANSACTION 'advlock_named_sets';
SELECT named_try_lock_exclusive(ARRAY['k', 'l', 'm', 'n']) AS try_session;
-- what the set gave back it no longer counts as taken by name: an integer
-- lock on one of those keys, right after, is not named_unlock_all()'s
SELECT pg_advisory_lock(named_lock_key('k'));
SELECT named_unlock_all() AS released_by_name;
SELECT count(*) AS integer_lock_stays FROM my_advisory_locks;
SELECT pg_advisory_unlock_all();
BEGIN;
SELECT named_try_xact_lock_shared(ARRAY['k', 'l', 'm', 'n']) AS try_xact;
SELECT named_xact_lock_shared(ARRAY['k', 'l', 'm', 'n'], '50ms') AS timed_xact;
SELECT name FROM named_locks();
COMMIT;
SELECT named_lock_shared(ARRAY['k', 'l', 'm', 'n'], '50ms') AS timed_session;
SELECT count(*) AS nothing_taken FROM my_advisory_locks;
-- an error in the middle of a wait (here statement_timeout) releases the
-- session locks the call had already taken: "m" comes last in key order, so
-- "k", "l" and "n" are held by the time it waits
SELECT string_agg(n, ',' ORDER BY named_lock_key(n)) AS key_order FROM unnest(ARRAY['k', 'l', 'm', 'n']) n;
SET statement_timeout = '100ms';
SELECT named_lock_exclusive(ARRAY['k', 'l', 'm', 'n']);
RESET statement_timeout;
SELECT * FROM named_locks();
SELECT count(*) AS nothing_taken FROM my_advisory_locks;

-- who holds what, across sessions: the prepared transaction shows no pid
SELECT pid, mode, granted, wait_start FROM named_lock_holders('m');
SELECT named_lock_is_held('m') AS m, named_lock_is_held('k') AS k;
ROLLBACK PREPARED 'advlock_named_sets';
SELECT named_lock_is_held('m') AS m_after_rollback;
SELECT named_lock_shared('m'), named_lock_exclusive('m');
SELECT pid = pg_backend_pid() AS me, mode, granted FROM named_lock_holders('m') ORDER BY mode;
SELECT named_unlock_all();
SELECT count(*) FROM named_lock_waits;

-- bad input is an error before anything is locked
SELECT named_lock_exclusive(ARRAY['ok-1', NULL, 'ok-2']);
SELECT named_try_lock_shared(ARRAY['ok-1', '']);
SELECT named_xact_lock_exclusive(ARRAY['ok-1', repeat('x', 1048577)]);
SELECT named_lock_exclusive(NULL::text[]);
SELECT named_lock_exclusive('{}'::text[]);
SELECT named_lock_exclusive(ARRAY[['a', 'b'], ['c', 'd']]);
SELECT named_lock_exclusive(ARRAY['ok-1'], NULL);
SELECT named_unlock_shared(ARRAY[NULL]::text[]);
SELECT named_lock_holders(NULL);
SELECT named_lock_is_held('');
SELECT * FROM named_lock_waits(ARRAY['ok-1', NULL]);
SELECT * FROM named_lock_waits(ARRAY['']);
-- no names to resolve: NULL or an empty array
SELECT (SELECT count(*) FROM named_lock_waits(NULL)) AS null_names, (SELECT count(*) FROM named_lock_waits('{}')) AS no_names;
SELECT count(*) AS nothing_taken FROM my_advisory_locks;

-- a set counts against advlock_named.max_locks_per_session as a whole
SET advlock_named.max_locks_per_session = 2;
SELECT named_lock_exclusive(ARRAY['p', 'q', 'r']);
SELECT count(*) AS nothing_taken FROM my_advisory_locks;
SELECT named_lock_exclusive(ARRAY['p', 'q', 'p']);
SELECT named_unlock_all();
RESET advlock_named.max_locks_per_session;

DROP VIEW my_advisory_locks;
