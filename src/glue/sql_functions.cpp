/*-------------------------------------------------------------------------
 *
 * sql_functions.cpp
 *	  The SQL-callable functions of advlock_named.
 *
 * Each one is a thin wrapper: validate the name, then one call into
 * lock_ops.  See advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

/* Entry points the server looks up by name; see PG_CXXFLAGS in the Makefile. */
#pragma GCC visibility push(default)
PG_FUNCTION_INFO_V1(named_lock_key);
PG_FUNCTION_INFO_V1(named_lock_exclusive);
PG_FUNCTION_INFO_V1(named_lock_shared);
PG_FUNCTION_INFO_V1(named_lock_exclusive_timed);
PG_FUNCTION_INFO_V1(named_lock_shared_timed);
PG_FUNCTION_INFO_V1(named_try_lock_exclusive);
PG_FUNCTION_INFO_V1(named_try_lock_shared);
PG_FUNCTION_INFO_V1(named_xact_lock_exclusive);
PG_FUNCTION_INFO_V1(named_xact_lock_shared);
PG_FUNCTION_INFO_V1(named_xact_lock_exclusive_timed);
PG_FUNCTION_INFO_V1(named_xact_lock_shared_timed);
PG_FUNCTION_INFO_V1(named_try_xact_lock_exclusive);
PG_FUNCTION_INFO_V1(named_try_xact_lock_shared);
PG_FUNCTION_INFO_V1(named_unlock_exclusive);
PG_FUNCTION_INFO_V1(named_unlock_shared);
PG_FUNCTION_INFO_V1(named_unlock_all);
PG_FUNCTION_INFO_V1(named_lock_exclusive_set);
PG_FUNCTION_INFO_V1(named_lock_shared_set);
PG_FUNCTION_INFO_V1(named_try_lock_exclusive_set);
PG_FUNCTION_INFO_V1(named_try_lock_shared_set);
PG_FUNCTION_INFO_V1(named_lock_exclusive_set_timed);
PG_FUNCTION_INFO_V1(named_lock_shared_set_timed);
PG_FUNCTION_INFO_V1(named_xact_lock_exclusive_set);
PG_FUNCTION_INFO_V1(named_xact_lock_shared_set);
PG_FUNCTION_INFO_V1(named_try_xact_lock_exclusive_set);
PG_FUNCTION_INFO_V1(named_try_xact_lock_shared_set);
PG_FUNCTION_INFO_V1(named_xact_lock_exclusive_set_timed);
PG_FUNCTION_INFO_V1(named_xact_lock_shared_set_timed);
PG_FUNCTION_INFO_V1(named_unlock_exclusive_set);
PG_FUNCTION_INFO_V1(named_unlock_shared_set);
PG_FUNCTION_INFO_V1(named_locks);
#pragma GCC visibility pop
}

#include "lock_ops.hpp"
#include "lock_wait.hpp"

using advlock_named::LockMode;
using advlock_named::Scope;

namespace {

/* Each is called from two to four SQL functions; inlined, a lock costs one call fewer. */
pg_attribute_always_inline Datum
Lock(FunctionCallInfo fcinfo, LockMode mode, Scope scope)
{
	advlock_named::LockTarget target = advlock_named::TargetFromArgument(fcinfo, 0);

	(void) advlock_named::AcquireNamedLock(target, mode, scope, advlock_named::kWaitForever);
	PG_RETURN_VOID();
}

pg_attribute_always_inline Datum
TryLock(FunctionCallInfo fcinfo, LockMode mode, Scope scope)
{
	advlock_named::LockTarget target = advlock_named::TargetFromArgument(fcinfo, 0);

	PG_RETURN_BOOL(advlock_named::AcquireNamedLock(target, mode, scope, 0));
}

pg_attribute_always_inline Datum
TimedLock(FunctionCallInfo fcinfo, LockMode mode, Scope scope)
{
	advlock_named::LockTarget target = advlock_named::TargetFromArgument(fcinfo, 0);
	int			timeout_ms = advlock_named::TimeoutFromArgument(fcinfo, 1);

	PG_RETURN_BOOL(advlock_named::AcquireNamedLock(target, mode, scope, timeout_ms));
}

pg_attribute_always_inline Datum
Unlock(FunctionCallInfo fcinfo, LockMode mode)
{
	advlock_named::LockTarget target = advlock_named::TargetFromArgument(fcinfo, 0);

	PG_RETURN_BOOL(advlock_named::ReleaseNamedSessionLock(target, mode));
}

/* The set forms: names text[], taken in key order, all or nothing. */
Datum
LockSet(FunctionCallInfo fcinfo, LockMode mode, Scope scope)
{
	int			count;
	advlock_named::LockTarget *targets = advlock_named::TargetsFromArrayArgument(fcinfo, 0, &count);

	(void) advlock_named::AcquireNamedLocks(targets, count, mode, scope, advlock_named::kWaitForever);
	PG_RETURN_VOID();
}

Datum
TryLockSet(FunctionCallInfo fcinfo, LockMode mode, Scope scope)
{
	int			count;
	advlock_named::LockTarget *targets = advlock_named::TargetsFromArrayArgument(fcinfo, 0, &count);

	PG_RETURN_BOOL(advlock_named::AcquireNamedLocks(targets, count, mode, scope, 0));
}

Datum
TimedLockSet(FunctionCallInfo fcinfo, LockMode mode, Scope scope)
{
	int			count;
	advlock_named::LockTarget *targets = advlock_named::TargetsFromArrayArgument(fcinfo, 0, &count);
	int			timeout_ms = advlock_named::TimeoutFromArgument(fcinfo, 1);

	PG_RETURN_BOOL(advlock_named::AcquireNamedLocks(targets, count, mode, scope, timeout_ms));
}

Datum
UnlockSet(FunctionCallInfo fcinfo, LockMode mode)
{
	int			count;
	advlock_named::LockTarget *targets = advlock_named::TargetsFromArrayArgument(fcinfo, 0, &count);

	PG_RETURN_INT32(advlock_named::ReleaseNamedSessionLocks(targets, count, mode));
}

} // namespace

/*
 * named_lock_key(name text) returns bigint
 *
 * The advisory key of a name: the first 8 bytes of SHA-256 over its UTF-8
 * form, read big-endian.
 */
Datum
named_lock_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(advlock_named::TargetFromArgument(fcinfo, 0).key);
}

/* named_lock_exclusive(name text), named_lock_shared(name text): session scope, waits */
Datum
named_lock_exclusive(PG_FUNCTION_ARGS)
{
	return Lock(fcinfo, LockMode::kExclusive, Scope::kSession);
}

Datum
named_lock_shared(PG_FUNCTION_ARGS)
{
	return Lock(fcinfo, LockMode::kShared, Scope::kSession);
}

/*
 * named_lock_exclusive(name text, timeout interval), named_lock_shared(name
 * text, timeout interval) return boolean: session scope, wait at most timeout
 */
Datum
named_lock_exclusive_timed(PG_FUNCTION_ARGS)
{
	return TimedLock(fcinfo, LockMode::kExclusive, Scope::kSession);
}

Datum
named_lock_shared_timed(PG_FUNCTION_ARGS)
{
	return TimedLock(fcinfo, LockMode::kShared, Scope::kSession);
}

/* named_try_lock_exclusive(name text), named_try_lock_shared(name text): never wait */
Datum
named_try_lock_exclusive(PG_FUNCTION_ARGS)
{
	return TryLock(fcinfo, LockMode::kExclusive, Scope::kSession);
}

Datum
named_try_lock_shared(PG_FUNCTION_ARGS)
{
	return TryLock(fcinfo, LockMode::kShared, Scope::kSession);
}

/* named_xact_lock_exclusive(name text), named_xact_lock_shared(name text): until transaction end */
Datum
named_xact_lock_exclusive(PG_FUNCTION_ARGS)
{
	return Lock(fcinfo, LockMode::kExclusive, Scope::kTransaction);
}

Datum
named_xact_lock_shared(PG_FUNCTION_ARGS)
{
	return Lock(fcinfo, LockMode::kShared, Scope::kTransaction);
}

/* the same with a timeout, returning boolean */
Datum
named_xact_lock_exclusive_timed(PG_FUNCTION_ARGS)
{
	return TimedLock(fcinfo, LockMode::kExclusive, Scope::kTransaction);
}

Datum
named_xact_lock_shared_timed(PG_FUNCTION_ARGS)
{
	return TimedLock(fcinfo, LockMode::kShared, Scope::kTransaction);
}

Datum
named_try_xact_lock_exclusive(PG_FUNCTION_ARGS)
{
	return TryLock(fcinfo, LockMode::kExclusive, Scope::kTransaction);
}

Datum
named_try_xact_lock_shared(PG_FUNCTION_ARGS)
{
	return TryLock(fcinfo, LockMode::kShared, Scope::kTransaction);
}

/* named_unlock_exclusive(name text), named_unlock_shared(name text): release one session hold */
Datum
named_unlock_exclusive(PG_FUNCTION_ARGS)
{
	return Unlock(fcinfo, LockMode::kExclusive);
}

Datum
named_unlock_shared(PG_FUNCTION_ARGS)
{
	return Unlock(fcinfo, LockMode::kShared);
}

/*
 * named_unlock_all() returns integer
 *
 * Releases the session holds taken through this extension, unlike
 * pg_advisory_unlock_all(), which would also drop integer-keyed locks.
 */
Datum
named_unlock_all(PG_FUNCTION_ARGS)
{
	int64		released = advlock_named::ReleaseAllNamedSessionLocks();

	PG_RETURN_INT32((int32) Min(released, (int64) PG_INT32_MAX));
}

/*
 * The set forms, named like their single-name counterparts with text[]:
 * named_[try_][xact_]lock_{exclusive,shared}(names text[][, timeout interval])
 * and named_unlock_{exclusive,shared}(names text[]) returns integer.
 */
Datum
named_lock_exclusive_set(PG_FUNCTION_ARGS)
{
	return LockSet(fcinfo, LockMode::kExclusive, Scope::kSession);
}

Datum
named_lock_shared_set(PG_FUNCTION_ARGS)
{
	return LockSet(fcinfo, LockMode::kShared, Scope::kSession);
}

Datum
named_try_lock_exclusive_set(PG_FUNCTION_ARGS)
{
	return TryLockSet(fcinfo, LockMode::kExclusive, Scope::kSession);
}

Datum
named_try_lock_shared_set(PG_FUNCTION_ARGS)
{
	return TryLockSet(fcinfo, LockMode::kShared, Scope::kSession);
}

Datum
named_lock_exclusive_set_timed(PG_FUNCTION_ARGS)
{
	return TimedLockSet(fcinfo, LockMode::kExclusive, Scope::kSession);
}

Datum
named_lock_shared_set_timed(PG_FUNCTION_ARGS)
{
	return TimedLockSet(fcinfo, LockMode::kShared, Scope::kSession);
}

Datum
named_xact_lock_exclusive_set(PG_FUNCTION_ARGS)
{
	return LockSet(fcinfo, LockMode::kExclusive, Scope::kTransaction);
}

Datum
named_xact_lock_shared_set(PG_FUNCTION_ARGS)
{
	return LockSet(fcinfo, LockMode::kShared, Scope::kTransaction);
}

Datum
named_try_xact_lock_exclusive_set(PG_FUNCTION_ARGS)
{
	return TryLockSet(fcinfo, LockMode::kExclusive, Scope::kTransaction);
}

Datum
named_try_xact_lock_shared_set(PG_FUNCTION_ARGS)
{
	return TryLockSet(fcinfo, LockMode::kShared, Scope::kTransaction);
}

Datum
named_xact_lock_exclusive_set_timed(PG_FUNCTION_ARGS)
{
	return TimedLockSet(fcinfo, LockMode::kExclusive, Scope::kTransaction);
}

Datum
named_xact_lock_shared_set_timed(PG_FUNCTION_ARGS)
{
	return TimedLockSet(fcinfo, LockMode::kShared, Scope::kTransaction);
}

Datum
named_unlock_exclusive_set(PG_FUNCTION_ARGS)
{
	return UnlockSet(fcinfo, LockMode::kExclusive);
}

Datum
named_unlock_shared_set(PG_FUNCTION_ARGS)
{
	return UnlockSet(fcinfo, LockMode::kShared);
}

/*
 * named_locks() returns setof (name text, key bigint, mode text, scope text, holds integer)
 *
 * What this session holds of the names it used, as the lock manager counts
 * it, one row per name, mode and scope, ordered by name.  Session rows count
 * the holds taken by name; transaction rows count every transaction hold.
 */
Datum
named_locks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	advlock_named::HoldRow *rows;
	size_t		count;

	InitMaterializedSRF(fcinfo, 0);
	rows = advlock_named::CurrentHolds(&count);

	for (size_t i = 0; i < count; i++)
	{
		const advlock_named::HoldRow &row = rows[i];
		const struct
		{
			const char *scope;
			int64		holds;
		}			scopes[] = {{"session", row.session_holds}, {"transaction", row.xact_holds}};

		for (const auto &scope : scopes)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};

			if (scope.holds == 0)
				continue;
			values[0] = PointerGetDatum(cstring_to_text_with_len(row.entry->name, (int) row.entry->name_length));
			values[1] = Int64GetDatum(row.entry->key);
			values[2] = CStringGetTextDatum(row.mode == LockMode::kShared ? "shared" : "exclusive");
			values[3] = CStringGetTextDatum(scope.scope);
			values[4] = Int32GetDatum((int32) Min(scope.holds, (int64) PG_INT32_MAX));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
