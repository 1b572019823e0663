--
-- Bad input gets a clear error and never locks anything.
--

\set VERBOSITY default
\set SHOW_CONTEXT never

-- NULL names are rejected (the integer builtins silently return NULL)
SELECT named_lock_exclusive(NULL);
SELECT named_lock_shared(NULL);
SELECT named_try_lock_exclusive(NULL);
SELECT named_try_lock_shared(NULL);
SELECT named_xact_lock_exclusive(NULL);
SELECT named_xact_lock_shared(NULL);
SELECT named_try_xact_lock_exclusive(NULL);
SELECT named_try_xact_lock_shared(NULL);
SELECT named_unlock_exclusive(NULL);
SELECT named_unlock_shared(NULL);

-- empty names are rejected
SELECT named_lock_exclusive('');
SELECT named_try_xact_lock_shared('');
SELECT named_unlock_shared('');
SELECT named_lock_key('');

-- names up to 1 MiB of UTF-8 work; longer ones are rejected with a hint
SELECT named_lock_exclusive(repeat('n', 1048576));
SELECT named_unlock_exclusive(repeat('n', 1048576));
SELECT named_lock_exclusive(repeat('n', 1048577));
SELECT named_lock_key(repeat('é', 524289));

-- the SQLSTATEs, for callers that branch on them
DO $$
DECLARE
	name text;
BEGIN
	FOREACH name IN ARRAY ARRAY[NULL, '', repeat('n', 1048577)]
	LOOP
		BEGIN
			PERFORM named_lock_exclusive(name);
		EXCEPTION WHEN OTHERS THEN
			RAISE NOTICE '% -> %', coalesce(octet_length(name)::text, 'NULL'), SQLSTATE;
		END;
	END LOOP;
END
$$;

-- none of that left a lock or a registry entry behind
SELECT * FROM named_locks();
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- In a parallel query the functions run in the leader, which owns the lock.
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
					   THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
				  'on', false) AS forced_parallel;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE jobs AS SELECT g AS id FROM generate_series(1, 100) g;
ANALYZE jobs;
SELECT count(*) FILTER (WHERE named_try_lock_shared('job-' || id)) AS locked FROM jobs;
SELECT count(*) AS named, sum(holds) AS holds FROM named_locks();
SELECT named_unlock_all();

-- A function mislabeled PARALLEL SAFE can end up in a worker, where a lock
-- would belong to the worker and vanish when it exits: that is an error.
CREATE FUNCTION mislabeled_lock(name text) RETURNS void
LANGUAGE sql PARALLEL SAFE AS $$ SELECT named_lock_exclusive(name) $$;
SELECT mislabeled_lock('in-a-worker');
RESET ALL;
SELECT mislabeled_lock('in-the-leader');
SELECT name, holds FROM named_locks();
SELECT named_unlock_all();
DROP FUNCTION mislabeled_lock(text);
DROP TABLE jobs;

-- The SQLSTATE of every error of the README's table of bad input, for
-- callers that branch on it; those outside a function's reach (an aborted
-- transaction, PREPARE TRANSACTION, a parallel worker) below it.  A missing
-- name directory (55000) and track_names (42501) are in sql/directory.sql.
CREATE FUNCTION sqlstate_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
CREATE ROLE regress_anl_bad_input;
GRANT EXECUTE ON FUNCTION sqlstate_of(text) TO regress_anl_bad_input;
SET advlock_named.max_locks_per_session = 1;
SELECT statement, sqlstate_of(statement) FROM (VALUES
	('SELECT named_lock_exclusive(NULL)'),
	('SELECT named_lock_exclusive('''')'),
	('SELECT named_lock_exclusive(repeat(''n'', 1048577))'),
	('SELECT named_lock_exclusive(''t'', NULL)'),
	('SELECT named_lock_exclusive(''t'', ''-1ms'')'),
	('SELECT named_lock_exclusive(''t'', ''2147483648ms'')'),
	('SELECT named_lock_exclusive(ARRAY[''p'', ''q''])'),
	('SELECT named_lock_exclusive(ARRAY[''p'', NULL])'),
	('SELECT named_lock_exclusive(ARRAY[''p'', ''''])'),
	('SELECT named_lock_exclusive(NULL::text[])'),
	('SELECT named_lock_exclusive(''{}''::text[])'),
	('SELECT named_lock_exclusive(ARRAY[[''a'', ''b''], [''c'', ''d'']])')) v(statement);
RESET advlock_named.max_locks_per_session;
-- '-infinity' is negative from PostgreSQL 17 on, no interval before
SELECT sqlstate_of('SELECT named_lock_exclusive(''t'', ''-infinity'')') =
	CASE WHEN current_setting('server_version_num')::int >= 170000 THEN '22023' ELSE '22007' END
	AS minus_infinity;
SET ROLE regress_anl_bad_input;
SELECT sqlstate_of('SELECT named_lock_stats_reset()') AS reset_not_granted;
RESET ROLE;
DROP FUNCTION sqlstate_of(text);
DROP ROLE regress_anl_bad_input;

\set VERBOSITY sqlstate
BEGIN;
SELECT 1 / 0;
SELECT named_lock_exclusive('in-an-aborted-transaction');
ROLLBACK;
BEGIN;
SELECT named_lock_exclusive('both'), named_xact_lock_exclusive('both');
PREPARE TRANSACTION 'advlock_named_bad_input';
SELECT named_unlock_all();
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
					   THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
				  'on', false) AS forced_parallel;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
CREATE FUNCTION mislabeled_lock(name text) RETURNS void
LANGUAGE sql PARALLEL SAFE AS $$ SELECT named_lock_exclusive(name) $$;
SELECT mislabeled_lock('in-a-worker');
RESET ALL;
DROP FUNCTION mislabeled_lock(text);
\set VERBOSITY default
