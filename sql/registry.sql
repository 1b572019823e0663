--
-- named_locks() stays right when locks are released behind its back.
--

-- pg_advisory_unlock_all() drops every session advisory lock
SELECT named_lock_exclusive('a'), named_lock_shared('b'), named_lock_shared('b');
SELECT pg_advisory_unlock_all();
SELECT * FROM named_locks();
SELECT named_unlock_all();

-- ...including inside a transaction that also holds the name at
-- transaction level: only the session holds go
BEGIN;
SELECT named_lock_exclusive('a'), named_xact_lock_exclusive('a');
SELECT pg_advisory_unlock_all();
SELECT name, scope, holds FROM named_locks();
SELECT named_unlock_exclusive('a');
COMMIT;
SELECT * FROM named_locks();

-- DISCARD ALL drops them too
SELECT named_lock_exclusive('a'), named_lock_shared('b');
DISCARD ALL;
SELECT * FROM named_locks();
SELECT named_unlock_all();

-- an integer unlock of the key releases one of our holds
SELECT named_lock_exclusive('a'), named_lock_exclusive('a');
SELECT pg_advisory_unlock(named_lock_key('a'));
SELECT name, holds FROM named_locks();
SELECT named_unlock_all();

-- an integer lock on the key is not ours to count or to release
SELECT pg_advisory_lock(named_lock_key('a')), named_lock_exclusive('a');
SELECT name, holds FROM named_locks();
SELECT named_unlock_all();
SELECT count(*) AS integer_hold_kept FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT pg_advisory_unlock(named_lock_key('a'));

-- PREPARE TRANSACTION hands transaction holds to the prepared transaction;
-- the session keeps its session holds
BEGIN;
SELECT named_xact_lock_exclusive('prepared'), named_lock_shared('kept');
PREPARE TRANSACTION 'advlock_named_registry';
SELECT name, scope, holds FROM named_locks();
SELECT mode, pid IS NULL AS held_by_prepared FROM pg_locks
WHERE locktype = 'advisory' AND (classid::bigint << 32 | objid::bigint) = named_lock_key('prepared');
SELECT named_try_lock_exclusive('prepared') AS free_before_commit;
COMMIT PREPARED 'advlock_named_registry';
SELECT named_try_lock_exclusive('prepared') AS free_after_commit;
SELECT named_unlock_all();

-- as with the builtins, a name held at both levels cannot be prepared
BEGIN;
SELECT named_lock_shared('both'), named_xact_lock_shared('both');
PREPARE TRANSACTION 'advlock_named_both';
SELECT name, scope, holds FROM named_locks();
SELECT named_unlock_all();

-- the registry is per session: a fresh connection starts empty
\c
SELECT * FROM named_locks();
