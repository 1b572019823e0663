--
-- A database owner without superuser rights creates the (trusted)
-- extension in their own database and uses every function and view.
--

\set VERBOSITY terse
\set regress_database :DBNAME
\set regress_user :USER

CREATE ROLE regress_anl_owner LOGIN;
CREATE DATABASE regress_anl_owned OWNER regress_anl_owner;
\c regress_anl_owned regress_anl_owner

SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;

-- 1.2 forgot to grant its view; 1.3 grants it
CREATE EXTENSION advlock_named VERSION '1.2';
SELECT count(*) FROM named_lock_waits;
ALTER EXTENSION advlock_named UPDATE;
SELECT count(*) FROM named_lock_waits;
DROP EXTENSION advlock_named;

CREATE EXTENSION advlock_named;
SELECT extversion FROM pg_extension WHERE extname = 'advlock_named';

SELECT named_lock_key('owner');

-- session locks, single names
SELECT named_lock_exclusive('o-1'), named_lock_shared('o-2'),
	   named_try_lock_exclusive('o-3'), named_try_lock_shared('o-4'),
	   named_lock_exclusive('o-5', '1s'), named_lock_shared('o-6', '1s');
-- session locks, sets
SELECT named_lock_exclusive(ARRAY['s-1', 's-2']), named_lock_shared(ARRAY['s-3']),
	   named_try_lock_exclusive(ARRAY['s-4']), named_try_lock_shared(ARRAY['s-5']),
	   named_lock_exclusive(ARRAY['s-6'], '1s'), named_lock_shared(ARRAY['s-7'], '1s');

-- transaction locks
BEGIN;
SELECT named_xact_lock_exclusive('x-1'), named_xact_lock_shared('x-2'),
	   named_try_xact_lock_exclusive('x-3'), named_try_xact_lock_shared('x-4'),
	   named_xact_lock_exclusive('x-5', '1s'), named_xact_lock_shared('x-6', '1s');
SELECT named_xact_lock_exclusive(ARRAY['y-1']), named_xact_lock_shared(ARRAY['y-2']),
	   named_try_xact_lock_exclusive(ARRAY['y-3']), named_try_xact_lock_shared(ARRAY['y-4']),
	   named_xact_lock_exclusive(ARRAY['y-5'], '1s'), named_xact_lock_shared(ARRAY['y-6'], '1s');
SELECT scope, count(*) FROM named_locks() GROUP BY scope ORDER BY scope;
COMMIT;

-- introspection
SELECT mode, granted, wait_start FROM named_lock_holders('o-1');
SELECT named_lock_is_held('o-1'), named_lock_is_held('nobody');
SELECT count(*) FROM named_lock_waits;
SELECT count(*) FROM named_lock_waits(ARRAY['o-1']);

-- The directory's views and functions are readable (the privilege check
-- comes first; where PostgreSQL 15 runs without preloading, the error
-- that follows it is the documented one).
DO $$
BEGIN
	PERFORM * FROM named_lock_activity;
	PERFORM * FROM named_lock_activity();
	PERFORM * FROM named_lock_stats;
	PERFORM * FROM named_lock_stats();
	PERFORM * FROM named_lock_stats_info;
	PERFORM * FROM named_lock_stats_info();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	NULL;
END
$$;
-- resetting the statistics is for superusers unless granted
SELECT named_lock_stats_reset();

-- releasing
SELECT named_unlock_exclusive('o-1'), named_unlock_shared('o-2'),
	   named_unlock_exclusive(ARRAY['s-1', 's-2']), named_unlock_shared(ARRAY['s-3']);
SELECT named_unlock_all();
SELECT count(*) FROM named_locks();

DROP EXTENSION advlock_named;

\c :regress_database :regress_user
DROP DATABASE regress_anl_owned;
DROP ROLE regress_anl_owner;
