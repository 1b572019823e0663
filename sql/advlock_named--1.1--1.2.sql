/* advlock_named--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION advlock_named UPDATE TO '1.2'" to load this file. \quit

-- Sets of names.  They are taken in one order (by key), each distinct key
-- once, all or nothing.  The forms without a timeout are labeled like their
-- single-name counterparts; the timed ones may start a subtransaction.

CREATE FUNCTION named_lock_exclusive(names text[]) RETURNS void
AS 'MODULE_PATHNAME', 'named_lock_exclusive_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_exclusive(text[]) IS
'take session-level exclusive locks on a set of names in key order, waiting if necessary';

CREATE FUNCTION named_lock_shared(names text[]) RETURNS void
AS 'MODULE_PATHNAME', 'named_lock_shared_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_shared(text[]) IS
'take session-level shared locks on a set of names in key order, waiting if necessary';

CREATE FUNCTION named_try_lock_exclusive(names text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_lock_exclusive_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_lock_exclusive(text[]) IS
'take session-level exclusive locks on all of a set of names if they are available at once, or none';

CREATE FUNCTION named_try_lock_shared(names text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_lock_shared_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_lock_shared(text[]) IS
'take session-level shared locks on all of a set of names if they are available at once, or none';

CREATE FUNCTION named_lock_exclusive(names text[], timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lock_exclusive_set_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_lock_exclusive(text[], interval) IS
'take session-level exclusive locks on a set of names within timeout, all or none';

CREATE FUNCTION named_lock_shared(names text[], timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lock_shared_set_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_lock_shared(text[], interval) IS
'take session-level shared locks on a set of names within timeout, all or none';

CREATE FUNCTION named_xact_lock_exclusive(names text[]) RETURNS void
AS 'MODULE_PATHNAME', 'named_xact_lock_exclusive_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_xact_lock_exclusive(text[]) IS
'take transaction-level exclusive locks on a set of names in key order, waiting if necessary';

CREATE FUNCTION named_xact_lock_shared(names text[]) RETURNS void
AS 'MODULE_PATHNAME', 'named_xact_lock_shared_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_xact_lock_shared(text[]) IS
'take transaction-level shared locks on a set of names in key order, waiting if necessary';

CREATE FUNCTION named_try_xact_lock_exclusive(names text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_xact_lock_exclusive_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_xact_lock_exclusive(text[]) IS
'take transaction-level exclusive locks on all of a set of names if they are available at once, or none';

CREATE FUNCTION named_try_xact_lock_shared(names text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_xact_lock_shared_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_xact_lock_shared(text[]) IS
'take transaction-level shared locks on all of a set of names if they are available at once, or none';

CREATE FUNCTION named_xact_lock_exclusive(names text[], timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_xact_lock_exclusive_set_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_xact_lock_exclusive(text[], interval) IS
'take transaction-level exclusive locks on a set of names within timeout, all or none';

CREATE FUNCTION named_xact_lock_shared(names text[], timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_xact_lock_shared_set_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_xact_lock_shared(text[], interval) IS
'take transaction-level shared locks on a set of names within timeout, all or none';

CREATE FUNCTION named_unlock_exclusive(names text[]) RETURNS integer
AS 'MODULE_PATHNAME', 'named_unlock_exclusive_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_unlock_exclusive(text[]) IS
'release one session-level exclusive hold on each of a set of names; returns how many were held';

CREATE FUNCTION named_unlock_shared(names text[]) RETURNS integer
AS 'MODULE_PATHNAME', 'named_unlock_shared_set'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_unlock_shared(text[]) IS
'release one session-level shared hold on each of a set of names; returns how many were held';

-- Introspection across sessions, from the lock manager's status data.  The
-- first two do not depend on this backend and may run in parallel workers;
-- named_lock_waits resolves names from this session's own holds.

CREATE FUNCTION named_lock_holders(
	name text,
	OUT pid integer,
	OUT mode text,
	OUT granted boolean,
	OUT wait_start timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_holders'
LANGUAGE C VOLATILE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION named_lock_holders(text) IS
'sessions holding or waiting for a named lock in this database (pid NULL: a prepared transaction)';

CREATE FUNCTION named_lock_is_held(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lock_is_held'
LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION named_lock_is_held(text) IS
'whether any session or prepared transaction holds the named lock in any mode';

CREATE FUNCTION named_lock_waits(
	names text[] DEFAULT NULL,
	OUT waiting_pid integer,
	OUT waiting_mode text,
	OUT wait_start timestamptz,
	OUT key bigint,
	OUT name text,
	OUT blocking_pid integer,
	OUT blocking_mode text,
	OUT blocking_granted boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_lock_waits'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION named_lock_waits(text[]) IS
'sessions waiting for named locks and the sessions they wait for; names resolved from the names given and this session''s holds';

CREATE VIEW named_lock_waits AS
	SELECT * FROM named_lock_waits();

COMMENT ON VIEW named_lock_waits IS
'sessions waiting for named locks and the sessions they wait for';
