/* advlock_named--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION advlock_named UPDATE TO '1.1'" to load this file. \quit

-- Timed waits.  They run the wait in an internal subtransaction, which a
-- parallel worker or leader cannot start: PARALLEL UNSAFE.

CREATE FUNCTION named_lock_exclusive(name text, timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lock_exclusive_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_lock_exclusive(text, interval) IS
'take a session-level exclusive lock on a name, waiting at most timeout; false if it did not come';

CREATE FUNCTION named_lock_shared(name text, timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_lock_shared_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_lock_shared(text, interval) IS
'take a session-level shared lock on a name, waiting at most timeout; false if it did not come';

CREATE FUNCTION named_xact_lock_exclusive(name text, timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_xact_lock_exclusive_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_xact_lock_exclusive(text, interval) IS
'take a transaction-level exclusive lock on a name, waiting at most timeout; false if it did not come';

CREATE FUNCTION named_xact_lock_shared(name text, timeout interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_xact_lock_shared_timed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION named_xact_lock_shared(text, interval) IS
'take a transaction-level shared lock on a name, waiting at most timeout; false if it did not come';
