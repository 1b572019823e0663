/* advlock_named--1.3--1.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION advlock_named UPDATE TO '1.4'" to load this file. \quit

-- Leases: named locks owned by a role and a fencing token rather than a
-- backend.  They live in shared memory (preloaded on 15 and 16, a DSM
-- segment on 17 and later) and exclude the named locks of the same name.
-- None is STRICT: a NULL argument is an error, not a silent NULL.  The
-- acquiring functions may wait in a subtransaction (PARALLEL UNSAFE); the
-- others keep state of this backend's (PARALLEL RESTRICTED).

CREATE FUNCTION named_lease_exclusive(name text, ttl interval, wait interval DEFAULT '0',
									  session_bound boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'named_lease_exclusive'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_lease_exclusive(text, interval, interval, boolean) IS
'take an exclusive lease on a name for ttl, waiting at most wait; its fencing token, or NULL if not granted';

CREATE FUNCTION named_lease_shared(name text, ttl interval, wait interval DEFAULT '0',
								   session_bound boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'named_lease_shared'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_lease_shared(text, interval, interval, boolean) IS
'take a shared lease on a name for ttl, waiting at most wait; its fencing token, or NULL if not granted';

CREATE FUNCTION named_lease_renew(name text, token bigint, ttl interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lease_renew'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lease_renew(text, bigint, interval) IS
'extend a live lease to now + ttl; false if it is gone (expired, released, server restarted)';

CREATE FUNCTION named_lease_release(name text, token bigint) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lease_release'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lease_release(text, bigint) IS
'release a lease or lease permits; false if they were gone';

CREATE FUNCTION named_lease_check(name text, token bigint) RETURNS void
AS 'MODULE_PATHNAME', 'named_lease_check'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lease_check(text, bigint) IS
'the fence: error LS001 unless token is a live lease on the name, which then cannot expire or be taken over before this transaction ends';

-- Counting semaphores, on the same table: a name space of their own.

CREATE FUNCTION named_semaphore_acquire(name text, capacity integer, ttl interval DEFAULT NULL,
										wait interval DEFAULT '0', permits integer DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'named_semaphore_acquire'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_semaphore_acquire(text, integer, interval, interval, integer) IS
'take permits of a semaphore of capacity, in arrival order, waiting at most wait; a token, or NULL if not granted; with a NULL ttl they are the session''s';

CREATE FUNCTION named_semaphore_release(name text, token bigint) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_semaphore_release'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_semaphore_release(text, bigint) IS
'release the permits of a token; false if they were gone';

CREATE FUNCTION named_leases(
	OUT name text,
	OUT key bigint,
	OUT mode text,
	OUT token bigint,
	OUT roleid oid,
	OUT permits integer,
	OUT acquired timestamptz,
	OUT expires timestamptz,
	OUT renewals bigint,
	OUT pid integer,
	OUT checks integer,
	OUT waiters integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_leases'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION named_leases() IS
'every live lease and semaphore grant of this database';

CREATE VIEW named_leases AS
	SELECT l.name, l.key, l.mode, l.token, r.rolname AS role, l.permits, l.acquired, l.expires,
		   l.renewals, l.pid, l.checks, l.waiters, l.roleid
	FROM named_leases() AS l
	LEFT JOIN pg_roles AS r ON r.oid = l.roleid;

COMMENT ON VIEW named_leases IS
'every live lease and semaphore grant of this database: name, mode, token, owner, times, the session it ends with, checks, waiters';

GRANT SELECT ON named_leases TO PUBLIC;

CREATE FUNCTION named_semaphores(
	OUT name text,
	OUT key bigint,
	OUT capacity integer,
	OUT permits_in_use integer,
	OUT holders integer,
	OUT waiters integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_semaphores'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION named_semaphores() IS
'every semaphore of this database with holders: capacity, permits in use, holders, waiters';

CREATE VIEW named_semaphores AS
	SELECT * FROM named_semaphores();

COMMENT ON VIEW named_semaphores IS
'every semaphore of this database with holders: capacity, permits in use, holders, waiters';

GRANT SELECT ON named_semaphores TO PUBLIC;

-- named_lock_stats counts leases too: four columns more.

DROP VIEW named_lock_stats;
DROP FUNCTION named_lock_stats();

CREATE FUNCTION named_lock_stats(
	OUT userid oid,
	OUT dbid oid,
	OUT name text,
	OUT key bigint,
	OUT acquisitions bigint,
	OUT waited_acquisitions bigint,
	OUT total_wait_ms double precision,
	OUT max_wait_ms double precision,
	OUT timeouts bigint,
	OUT failed_tries bigint,
	OUT deadlocks bigint,
	OUT last_acquired timestamptz,
	OUT leases_granted bigint,
	OUT leases_renewed bigint,
	OUT leases_expired bigint,
	OUT leases_lost bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_stats() IS
'lock, lease and semaphore statistics per role, database and name, from the name directory';

CREATE VIEW named_lock_stats AS
	SELECT r.rolname AS role, d.datname AS database, s.name, s.key,
		   s.acquisitions, s.waited_acquisitions, s.total_wait_ms, s.max_wait_ms,
		   s.timeouts, s.failed_tries, s.deadlocks, s.last_acquired,
		   s.leases_granted, s.leases_renewed, s.leases_expired, s.leases_lost,
		   s.userid, s.dbid
	FROM named_lock_stats() AS s
	LEFT JOIN pg_roles AS r ON r.oid = s.userid
	LEFT JOIN pg_database AS d ON d.oid = s.dbid;

COMMENT ON VIEW named_lock_stats IS
'statistics per role, database and name: acquisitions, waits, timeouts, failed tries, deadlocks, and leases granted, renewed, expired and lost';

GRANT SELECT ON named_lock_stats TO PUBLIC;

-- Leases appear among the holders of a name: a token column more.

DROP VIEW named_lock_activity;
DROP FUNCTION named_lock_activity();

CREATE FUNCTION named_lock_activity(
	OUT name text,
	OUT key bigint,
	OUT pid integer,
	OUT mode text,
	OUT granted boolean,
	OUT wait_start timestamptz,
	OUT blocked_by integer[],
	OUT token bigint,
	OUT roleid oid)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_activity'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION named_lock_activity() IS
'every advisory lock request on an int8 key in this database, and every lease, named from the name directory';

CREATE VIEW named_lock_activity AS
	SELECT a.name, a.key, a.pid, coalesce(s.usename, r.rolname) AS role, s.application_name,
		   a.mode, a.granted, a.wait_start, a.blocked_by, a.token
	FROM named_lock_activity() AS a
	LEFT JOIN pg_stat_activity AS s ON s.pid = a.pid
	LEFT JOIN pg_roles AS r ON r.oid = a.roleid;

COMMENT ON VIEW named_lock_activity IS
'every advisory lock request on an int8 key in this database, and every lease (token), by name: who holds, who waits, who blocks whom';

GRANT SELECT ON named_lock_activity TO PUBLIC;

DROP FUNCTION named_lock_holders(text);

CREATE FUNCTION named_lock_holders(
	name text,
	OUT pid integer,
	OUT mode text,
	OUT granted boolean,
	OUT wait_start timestamptz,
	OUT token bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_holders'
LANGUAGE C VOLATILE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION named_lock_holders(text) IS
'sessions holding or waiting for a named lock in this database, and its leases (token; pid NULL: a prepared transaction, or a lease bound to no session)';
