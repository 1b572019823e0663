--
-- Leases and semaphores, used by a database owner who is not a superuser,
-- a member of that role, and a stranger.  Two expected outputs:
-- leases.out where leases exist (preloaded, or PostgreSQL 17 and later),
-- leases_1.out for 15 without preloading.
--
\set VERBOSITY terse
\set regress_database :DBNAME
\set regress_user :USER
SELECT current_setting('server_version_num')::int >= 170000
	OR current_setting('shared_preload_libraries') ~ 'advlock_named' AS has_leases \gset
\if :has_leases
\else
-- PostgreSQL 15 without shared_preload_libraries: no lease table, said so
SELECT named_lease_exclusive('job', '1 min');
SELECT named_semaphore_acquire('reports', 2);
\quit
\endif

CREATE ROLE regress_lease_owner LOGIN;
CREATE ROLE regress_lease_member LOGIN IN ROLE regress_lease_owner;
CREATE ROLE regress_lease_stranger LOGIN;
ALTER ROLE regress_lease_stranger SET advlock_named.max_leases_per_role = 2;
CREATE DATABASE regress_leases OWNER regress_lease_owner;
\c regress_leases regress_lease_owner
CREATE EXTENSION advlock_named;
SELECT rolsuper FROM pg_roles WHERE rolname = current_user;

-- an error as its SQLSTATE and message, so that both are checked
CREATE FUNCTION outcome(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- one exclusive lease: a token, and the view shows it
SELECT named_lease_exclusive('job', '1 min') AS job \gset
SELECT :job > 0 AS token_positive;
SELECT name, mode, token = :job AS its_token, role, permits, expires - acquired AS ttl,
	   renewals, pid, checks, waiters
FROM named_leases;

-- it excludes another lease and every lock of the name, at once or after a wait
SELECT named_lease_exclusive('job', '1 min') IS NULL AS second_lease_refused,
	   named_lease_shared('job', '1 min', '10 ms') IS NULL AS shared_lease_gives_up;
SELECT named_try_lock_shared('job'), named_try_lock_exclusive('job'),
	   named_lock_exclusive('job', '10 ms'), named_try_lock_shared(ARRAY['job', 'other']);
BEGIN;
SELECT named_try_xact_lock_shared('job'), named_xact_lock_exclusive('job', '10 ms');
COMMIT;
SELECT count(*) AS locks_left FROM named_locks();
SELECT named_lock_is_held('job');

-- renewing sets the expiry to now + ttl
SELECT named_lease_renew('job', :job, '2 min');
SELECT expires - now() > '1 min' AS extended, renewals FROM named_leases WHERE token = :job;

-- shared leases coexist; tokens grow with every grant
SELECT named_lease_shared('shared-job', '1 min') AS s1 \gset
SELECT named_lease_shared('shared-job', '1 min') AS s2 \gset
SELECT :s2 > :s1 AND :s1 > :job AS tokens_grow;
SELECT named_lease_exclusive('shared-job', '1 min') IS NULL AS exclusive_refused;
SELECT named_try_lock_shared('shared-job') AS shared_lock_fits;
SELECT named_unlock_shared('shared-job');

-- the fence: held for the checking transaction, then let go
BEGIN;
SELECT named_lease_check('job', :job);
SELECT named_lease_check('job', :job);
SELECT checks FROM named_leases WHERE token = :job;
COMMIT;
SELECT checks FROM named_leases WHERE token = :job;
BEGIN;
SAVEPOINT s;
SELECT named_lease_check('job', :job);
ROLLBACK TO SAVEPOINT s;
SELECT checks AS after_savepoint_rollback FROM named_leases WHERE token = :job;
COMMIT;
-- a lock that a lease this transaction checked would block waits for no one: an error
BEGIN;
SELECT named_lease_check('job', :job);
SELECT outcome('SELECT named_lock_exclusive(''job'', ''1 min'')');
COMMIT;
-- a token of another name, or none at all, fails the check
SELECT outcome(format('SELECT named_lease_check(%L, %s)', 'job', :s1));
SELECT outcome('SELECT named_lease_check(''job'', 42)');
-- a guarded write: the check in a trigger, with the token in a setting
CREATE TABLE ledger (job text, amount integer);
CREATE FUNCTION guard_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM named_lease_check(NEW.job, current_setting('app.lease_token')::bigint);
	RETURN NEW;
END
$$;
CREATE TRIGGER guard BEFORE INSERT OR UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION guard_ledger();
SELECT set_config('app.lease_token', :'job', false) IS NOT NULL AS token_set;
INSERT INTO ledger VALUES ('job', 1), ('job', 2);
SELECT outcome('INSERT INTO ledger VALUES (''other-job'', 3)');
SELECT count(*) AS rows_written FROM ledger;
-- cannot PREPARE a transaction that checked a lease
BEGIN;
SELECT named_lease_check('job', :job);
PREPARE TRANSACTION 'fenced';
SELECT checks AS after_failed_prepare FROM named_leases WHERE token = :job;

-- releasing: once true, then false; renew and check then say it is gone
SELECT named_lease_release('job', :job) AS released, named_lease_release('job', :job) AS again;
SELECT named_lease_renew('job', :job, '1 min') AS renewed_after_release;
SELECT outcome(format('SELECT named_lease_check(%L, %s)', 'job', :job));
SELECT named_try_lock_exclusive('job') AS lock_now_free;
SELECT named_unlock_all();

-- a lease gone the moment its time is up
SELECT named_lease_exclusive('short', '50 ms') AS short \gset
SELECT pg_sleep(0.1);
SELECT named_lease_renew('short', :short, '1 min') AS renewed_after_expiry;
SELECT count(*) AS short_leases FROM named_leases WHERE name = 'short';
SELECT named_lease_exclusive('short', '1 min') > :short AS taken_over_with_a_larger_token;

-- session_bound: the view says which session it ends with
SELECT named_lease_exclusive('bound', '1 min', session_bound => true) AS bound \gset
SELECT pid = pg_backend_pid() AS bound_to_this_session FROM named_leases WHERE token = :bound;

-- a lease this session holds a conflicting lock on cannot be had: it
-- would wait for itself; both shared is fine
SELECT named_lock_shared('locked-here');
SELECT outcome('SELECT named_lease_exclusive(''locked-here'', ''1 min'')');
SELECT named_lease_release('locked-here', named_lease_shared('locked-here', '1 min')) AS both_shared;
SELECT named_unlock_shared('locked-here');
-- nor, without a limit, a lock that a lease this session took blocks;
-- with a timeout the request waits as usual, a try says false
SELECT named_lease_exclusive('leased-here', '1 min') AS leased_here \gset
SELECT outcome('SELECT named_lock_exclusive(''leased-here'')');
SELECT named_lock_shared('leased-here', '10 ms') AS timed_gives_up,
	   named_try_lock_shared('leased-here') AS try_says_false;
SELECT named_lease_release('leased-here', :leased_here);

-- a statement that fails gives back the lease it took
SELECT named_lease_exclusive('failing', '1 min'), 1 / (random() > 2)::int;
SELECT count(*) AS failing_leases FROM named_leases WHERE name = 'failing';
-- and one released in the same statement is not released twice
SELECT named_lease_release('released-in-statement', named_lease_exclusive('released-in-statement', '1 min'));

-- semaphores: permits in arrival order, capacity agreed by all
SELECT named_semaphore_acquire('reports', 3) AS r1 \gset
SELECT named_semaphore_acquire('reports', 3, permits => 2) AS r2 \gset
SELECT named_semaphore_acquire('reports', 3) IS NULL AS full;
SELECT name, capacity, permits_in_use, holders, waiters FROM named_semaphores;
SELECT outcome('SELECT named_semaphore_acquire(''reports'', 4)');
SELECT name, mode, permits, expires IS NULL AS session_permits, pid = pg_backend_pid() AS this_session
FROM named_leases WHERE name = 'reports' ORDER BY permits;
SELECT named_semaphore_release('reports', :r2), named_semaphore_release('reports', :r2);
SELECT outcome(format('SELECT named_lease_renew(%L, %s, %L)', 'reports', :r1, '1 min'));
SELECT named_semaphore_acquire('reports', 3, '1 min', permits => 2) AS r3 \gset
SELECT named_lease_renew('reports', :r3, '2 min') AS lease_permits_renew;
BEGIN;
SELECT named_lease_check('reports', :r3);
COMMIT;
SELECT named_lease_release('reports', :r3);
SELECT named_semaphore_release('reports', :r1);
SELECT count(*) AS semaphores_left FROM named_semaphores;
-- a session's permits end with it: the next session finds them free
SELECT named_semaphore_acquire('session-end', 1) IS NOT NULL AS taken, pg_backend_pid() AS ended_pid \gset
\c - regress_lease_owner
-- the old backend ends on its own time: until then its permits may show
CREATE FUNCTION wait_for_end(ended integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	WHILE EXISTS (SELECT FROM pg_stat_activity WHERE pid = ended) LOOP
		PERFORM pg_sleep(0.01);
	END LOOP;
END
$$;
SELECT wait_for_end(:ended_pid);
SELECT count(*) AS held_after_session_end FROM named_leases WHERE name = 'session-end';
SELECT named_semaphore_release('session-end', named_semaphore_acquire('session-end', 1));

-- a semaphore and a lock of one name are two things
SELECT named_semaphore_acquire('both', 1) AS both_sem \gset
SELECT named_try_lock_exclusive('both') AS lock_unaffected;
SELECT named_unlock_exclusive('both'), named_semaphore_release('both', :both_sem);
-- and so are their fences: with the permits checked, a lock of the name
-- waits for the lease on it as any would, not for this transaction
SELECT named_semaphore_acquire('apart', 1, '1 min') AS apart_sem \gset
SELECT named_lease_exclusive('apart', '1 min') AS apart_lease \gset
BEGIN;
SELECT named_lease_check('apart', :apart_sem);
SELECT named_lock_exclusive('apart', '10 ms') AS lock_granted_past_the_lease;
COMMIT;
SELECT named_semaphore_release('apart', :apart_sem), named_lease_release('apart', :apart_lease);

-- statistics: grants, renewals, expiries, losses, per role
SELECT name, leases_granted, leases_renewed, leases_expired, leases_lost
FROM named_lock_stats WHERE name IN ('job', 'short', 'reports') AND database = current_database()
ORDER BY name;

-- bad input: each a clear error
SELECT outcome('SELECT named_lease_exclusive(NULL, ''1 min'')');
SELECT outcome('SELECT named_lease_exclusive('''', ''1 min'')');
SELECT outcome('SELECT named_lease_exclusive(''x'', NULL)');
SELECT outcome('SELECT named_lease_exclusive(''x'', ''0'')');
SELECT outcome('SELECT named_lease_shared(''x'', ''-1 s'')');
SELECT outcome('SELECT named_lease_exclusive(''x'', ''2 days'')');
SELECT outcome('SELECT named_lease_exclusive(''x'', ''1 min'', NULL)');
SELECT outcome('SELECT named_lease_exclusive(''x'', ''1 min'', ''-1 s'')');
SELECT outcome('SELECT named_lease_exclusive(''x'', ''1 min'', ''0'', NULL)');
SELECT outcome('SELECT named_lease_renew(''x'', NULL, ''1 min'')');
SELECT outcome('SELECT named_lease_renew(''x'', 1, NULL)');
SELECT outcome('SELECT named_lease_release(''x'', NULL)');
SELECT outcome('SELECT named_lease_check(NULL, 1)');
SELECT outcome('SELECT named_semaphore_acquire(''s'', NULL)');
SELECT outcome('SELECT named_semaphore_acquire(''s'', 0)');
SELECT outcome('SELECT named_semaphore_acquire(''s'', 2, permits => 0)');
SELECT outcome('SELECT named_semaphore_acquire(''s'', 2, permits => 3)');
SELECT outcome('SELECT named_semaphore_acquire(''s'', 2, permits => NULL)');
SELECT outcome('SELECT named_semaphore_acquire(''s'', 2, wait => NULL)');
SELECT outcome('SELECT named_semaphore_release(''s'', NULL)');
-- the limits are the superuser's to raise
SELECT outcome('SET advlock_named.max_lease_ttl = ''1 week''');
SELECT outcome('SET advlock_named.max_leases_per_role = 0');

-- another session of the role, a member and a stranger
SELECT named_lease_exclusive('owned', '1 min') AS owned \gset
\c - regress_lease_owner
SELECT named_lease_renew('owned', :owned, '1 min') AS owner_renews_from_another_session;
\c - regress_lease_member
SELECT named_lease_renew('owned', :owned, '1 min') AS member_renews;
SELECT name, role FROM named_leases WHERE token = :owned;
\c - regress_lease_stranger
SELECT outcome(format('SELECT named_lease_renew(%L, %s, %L)', 'owned', :owned, '1 min'));
SELECT outcome(format('SELECT named_lease_release(%L, %s)', 'owned', :owned));
SELECT outcome(format('SELECT named_lease_check(%L, %s)', 'owned', :owned));
SELECT name, role, mode FROM named_leases WHERE token = :owned;
SELECT name IS NULL AS stats_name_hidden FROM named_lock_stats
WHERE key = named_lock_key('owned') AND database = current_database();
SELECT named_lease_exclusive('owned', '1 min') IS NULL AS stranger_excluded;
-- leases whose time ran out on names nobody asked for since hold none of
-- the role's room (2 leases for this role)
SELECT count(named_lease_exclusive('brief-' || i, '1 ms')) AS brief FROM generate_series(1, 2) i;
SELECT pg_sleep(0.01);
SELECT named_lease_exclusive('after-brief-' || i, '1 min') IS NOT NULL AS granted FROM generate_series(1, 2) i;
SELECT outcome('SELECT named_lease_exclusive(''one-too-many'', ''1 min'')');
SELECT count(named_lease_release(name, token)) AS released FROM named_leases WHERE name LIKE 'after-brief-%';
\c - regress_lease_owner
SELECT named_lease_release('owned', :owned);

\c :regress_database :regress_user
DROP DATABASE regress_leases;
DROP ROLE regress_lease_owner, regress_lease_member, regress_lease_stranger;
