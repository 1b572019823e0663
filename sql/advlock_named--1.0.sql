/* advlock_named--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION advlock_named" to load this file. \quit

-- The lock functions are not STRICT: a NULL name raises an error instead of
-- silently locking nothing.  Like the builtin advisory lock functions they
-- are PARALLEL RESTRICTED, so they run in the leader, which owns the locks.

CREATE FUNCTION named_lock_key(name text) RETURNS bigint
AS 'MODULE_PATHNAME', 'named_lock_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION named_lock_key(text) IS
'advisory key of a lock name: first 8 bytes of SHA-256 of its UTF-8 form, big-endian';

CREATE FUNCTION named_lock_exclusive(name text) RETURNS void
AS 'MODULE_PATHNAME', 'named_lock_exclusive'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_exclusive(text) IS
'take a session-level exclusive lock on a name, waiting if necessary';

CREATE FUNCTION named_lock_shared(name text) RETURNS void
AS 'MODULE_PATHNAME', 'named_lock_shared'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_lock_shared(text) IS
'take a session-level shared lock on a name, waiting if necessary';

CREATE FUNCTION named_try_lock_exclusive(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_lock_exclusive'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_lock_exclusive(text) IS
'take a session-level exclusive lock on a name if it is available at once';

CREATE FUNCTION named_try_lock_shared(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_lock_shared'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_lock_shared(text) IS
'take a session-level shared lock on a name if it is available at once';

CREATE FUNCTION named_unlock_exclusive(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_unlock_exclusive'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_unlock_exclusive(text) IS
'release one session-level exclusive hold on a name; false if none is held';

CREATE FUNCTION named_unlock_shared(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_unlock_shared'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_unlock_shared(text) IS
'release one session-level shared hold on a name; false if none is held';

CREATE FUNCTION named_unlock_all() RETURNS integer
AS 'MODULE_PATHNAME', 'named_unlock_all'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_unlock_all() IS
'release every session-level named lock of this session; returns the number of holds released';

CREATE FUNCTION named_xact_lock_exclusive(name text) RETURNS void
AS 'MODULE_PATHNAME', 'named_xact_lock_exclusive'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_xact_lock_exclusive(text) IS
'take a transaction-level exclusive lock on a name, waiting if necessary';

CREATE FUNCTION named_xact_lock_shared(name text) RETURNS void
AS 'MODULE_PATHNAME', 'named_xact_lock_shared'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_xact_lock_shared(text) IS
'take a transaction-level shared lock on a name, waiting if necessary';

CREATE FUNCTION named_try_xact_lock_exclusive(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_xact_lock_exclusive'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_xact_lock_exclusive(text) IS
'take a transaction-level exclusive lock on a name if it is available at once';

CREATE FUNCTION named_try_xact_lock_shared(name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'named_try_xact_lock_shared'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION named_try_xact_lock_shared(text) IS
'take a transaction-level shared lock on a name if it is available at once';

CREATE FUNCTION named_locks(
	OUT name text,
	OUT key bigint,
	OUT mode text,
	OUT scope text,
	OUT holds integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'named_locks'
LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

COMMENT ON FUNCTION named_locks() IS
'named locks this session holds through advlock_named, by name, mode and scope';
