--
-- Timed named locks within one session: arguments, the fast path, and what
-- a timed lock leaves behind.  Waiting and timing out are in the isolation
-- specs timed_wait, timed_fairness and timed_deadlock.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

-- a free lock is granted at once, in both scopes and modes
SELECT named_lock_exclusive('t-session-x', '1s') AS session_x,
	   named_lock_shared('t-session-s', '1s') AS session_s;
BEGIN;
SELECT named_xact_lock_exclusive('t-xact-x', '1s') AS xact_x,
	   named_xact_lock_shared('t-xact-s', '1s') AS xact_s;
SELECT name, mode, scope, holds FROM named_locks();
COMMIT;
SELECT name, mode, scope, holds FROM named_locks();

-- re-entrant like the other forms; a held lock needs no wait
SELECT named_lock_exclusive('t-session-x', '0'), named_lock_exclusive('t-session-x', '1 hour');
SELECT name, holds FROM named_locks() WHERE mode = 'exclusive';
SELECT named_unlock_all();

-- a zero timeout tries once; a timed lock is recorded in the subtransaction
-- that asked for it, although the wait runs in one of its own
BEGIN;
SELECT named_xact_lock_shared('t-outer', '0');
SAVEPOINT s;
SELECT named_xact_lock_shared('t-inner', '10ms');
ROLLBACK TO SAVEPOINT s;
SELECT name, scope, holds FROM named_locks();
COMMIT;

-- bad timeouts are errors, before anything is locked
SELECT named_lock_exclusive('t', NULL);
SELECT named_xact_lock_shared('t', '-1 ms');
SELECT named_lock_shared('t', '1 day -25 hours');
SELECT named_lock_exclusive('t', '25 days');
SELECT named_lock_exclusive(NULL, '1s');
SELECT named_lock_exclusive('', '1s');
SELECT * FROM named_locks();

-- mixed-sign intervals count as a whole; slivers and the longest timeout are fine
SELECT named_lock_exclusive('t-mixed', '1 day -23:59:59.999') AS mixed,
	   named_lock_exclusive('t-sliver', '1 microsecond') AS sliver,
	   named_lock_exclusive('t-longest', '24 days 20:31:23.647') AS longest,
	   named_lock_exclusive('t-months', '-1 month 30 days') AS zero_months;
SELECT named_unlock_all();

-- from PostgreSQL 17 on, 'infinity' waits without a limit of its own and
-- '-infinity' is negative; older servers have no infinite intervals, so
-- there '-infinity' is not even an interval
DO $$
BEGIN
	IF current_setting('server_version_num')::int >= 170000 THEN
		IF NOT named_lock_exclusive('t-infinite', 'infinity'::interval) THEN
			RAISE EXCEPTION 'an infinite timeout gave up';
		END IF;
		BEGIN
			PERFORM named_lock_exclusive('t-infinite', '-infinity'::interval);
			RAISE EXCEPTION '-infinity was accepted';
		EXCEPTION WHEN invalid_parameter_value THEN
			NULL;
		END;
		PERFORM named_unlock_exclusive('t-infinite');
	ELSE
		BEGIN
			PERFORM named_lock_exclusive('t-infinite', '-infinity'::interval);
			RAISE EXCEPTION '-infinity became an interval';
		EXCEPTION WHEN invalid_datetime_format THEN
			NULL;
		END;
	END IF;
END
$$;
SELECT * FROM named_locks();

-- the user's lock_timeout is untouched
SET lock_timeout = '3s';
SELECT named_lock_exclusive('t-timeout', '10ms'), current_setting('lock_timeout') AS lock_timeout;
RESET lock_timeout;
SELECT named_unlock_all();
