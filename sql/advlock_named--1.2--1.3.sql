/* advlock_named--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION advlock_named UPDATE TO '1.3'" to load this file. \quit

-- A trusted extension's views belong to the bootstrap superuser, so the
-- database owner who created it could not read them.
GRANT SELECT ON named_lock_waits TO PUBLIC;

-- The shared name directory: every backend that takes a named lock
-- publishes the name of its key.  Without shared_preload_libraries on
-- PostgreSQL 15 there is none, and these raise an error saying so.

CREATE FUNCTION named_lock_activity(
	OUT name text,
	OUT key bigint,
	OUT pid integer,
	OUT mode text,
	OUT granted boolean,
	OUT wait_start timestamptz,
	OUT blocked_by integer[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_activity'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION named_lock_activity() IS
'every advisory lock request on an int8 key in this database, named from the name directory';

CREATE VIEW named_lock_activity AS
	SELECT a.name, a.key, a.pid, s.usename AS role, s.application_name,
		   a.mode, a.granted, a.wait_start, a.blocked_by
	FROM named_lock_activity() AS a
	LEFT JOIN pg_stat_activity AS s ON s.pid = a.pid;

COMMENT ON VIEW named_lock_activity IS
'every advisory lock request on an int8 key in this database, by name: who holds, who waits, who blocks whom';

GRANT SELECT ON named_lock_activity TO PUBLIC;

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
	OUT last_acquired timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_stats() IS
'lock statistics per role, database and name, from the name directory';

CREATE VIEW named_lock_stats AS
	SELECT r.rolname AS role, d.datname AS database, s.name, s.key,
		   s.acquisitions, s.waited_acquisitions, s.total_wait_ms, s.max_wait_ms,
		   s.timeouts, s.failed_tries, s.deadlocks, s.last_acquired,
		   s.userid, s.dbid
	FROM named_lock_stats() AS s
	LEFT JOIN pg_roles AS r ON r.oid = s.userid
	LEFT JOIN pg_database AS d ON d.oid = s.dbid;

COMMENT ON VIEW named_lock_stats IS
'lock statistics per role, database and name: acquisitions, waits, timeouts, failed tries, deadlocks';

GRANT SELECT ON named_lock_stats TO PUBLIC;

CREATE FUNCTION named_lock_stats_info(
	OUT names integer,
	OUT max_names integer,
	OUT evictions bigint,
	OUT collisions bigint,
	OUT resets bigint,
	OUT stats_reset timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'named_lock_stats_info'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_stats_info() IS
'the name directory: names kept, capacity, evictions, key collisions seen, statistics resets';

CREATE VIEW named_lock_stats_info AS
	SELECT * FROM named_lock_stats_info();

COMMENT ON VIEW named_lock_stats_info IS
'the name directory: names kept, capacity, evictions, key collisions seen, statistics resets';

GRANT SELECT ON named_lock_stats_info TO PUBLIC;

CREATE FUNCTION named_lock_stats_reset() RETURNS void
AS 'MODULE_PATHNAME', 'named_lock_stats_reset'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_stats_reset() IS
'zero the lock statistics of every name (superuser only unless granted)';

REVOKE ALL ON FUNCTION named_lock_stats_reset() FROM PUBLIC;
