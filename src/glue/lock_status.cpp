/*-------------------------------------------------------------------------
 *
 * lock_status.cpp
 *	  Who holds or waits for named locks: the SQL functions that read the
 *	  lock manager's status data.
 *
 * GetLockStatusData copies the whole shared lock table while holding every
 * lock-partition LWLock in shared mode, as pg_locks does; pg_blocking_pids
 * does the same per waiter.  Both are brief, but they are not free, so
 * these functions are for operators, not for hot paths.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/tuplestore.h"

/* Entry points the server looks up by name; see PG_CXXFLAGS in the Makefile. */
#pragma GCC visibility push(default)
PG_FUNCTION_INFO_V1(named_lock_holders);
PG_FUNCTION_INFO_V1(named_lock_is_held);
PG_FUNCTION_INFO_V1(named_lock_waits);
#pragma GCC visibility pop
}

#include <algorithm>

#include "lease_ops.hpp"
#include "lock_ops.hpp"
#include "name_directory.hpp"

using advlock_named::LockTarget;

namespace {

/* The two modes named locks use, in report order. */
constexpr LOCKMODE kModes[] = {ShareLock, ExclusiveLock};

const char *
ModeName(LOCKMODE mode)
{
	return mode == ShareLock ? "shared" : "exclusive";
}

bool
SameLock(const LOCKTAG &a, const LOCKTAG &b)
{
	return memcmp(&a, &b, sizeof(LOCKTAG)) == 0;
}

/* An advisory lock on an int8 key in this database: what a named lock is. */
bool
IsNamedKeyLock(const LOCKTAG &tag)
{
	LOCKTAG		probe = advlock_named::AdvisoryTag(0);

	return tag.locktag_type == LOCKTAG_ADVISORY &&
		tag.locktag_lockmethodid == USER_LOCKMETHOD &&
		tag.locktag_field1 == probe.locktag_field1 &&
		tag.locktag_field4 == probe.locktag_field4;
}

int64
KeyOf(const LOCKTAG &tag)
{
	return (int64) (((uint64) tag.locktag_field2 << 32) | tag.locktag_field3);
}

/* pid 0 is a prepared transaction, shown as NULL like pg_locks does. */
Datum
PidDatum(int pid, bool *isnull)
{
	*isnull = pid == 0;
	return Int32GetDatum(pid);
}

Datum
WaitStartDatum(TimestampTz wait_start, bool *isnull)
{
	*isnull = wait_start == 0;
	return TimestampTzGetDatum(wait_start);
}

/* A named key's name, from the names given and the names this session used. */
struct KnownName
{
	int64		key;
	const char *name;
	int			length;
};

KnownName  *
CollectKnownNames(FunctionCallInfo fcinfo, int argno, int *count)
{
	size_t		held_count;
	const advlock_named::NameEntry *const *held = advlock_named::KnownNames(&held_count);
	int			given_count = 0;
	LockTarget *given = NULL;
	KnownName  *known;
	int			n = 0;

	/* NULL or an empty array: no names besides our own */
	if (!PG_ARGISNULL(argno))
	{
		ArrayType  *names = PG_GETARG_ARRAYTYPE_P(argno);

		if (ArrayGetNItems(ARR_NDIM(names), ARR_DIMS(names)) > 0)
			given = advlock_named::TargetsFromArrayArgument(fcinfo, argno, &given_count);
	}

	known = static_cast<KnownName *>(palloc((given_count + held_count + 1) * sizeof(KnownName)));
	for (int i = 0; i < given_count; i++)
		known[n++] = KnownName{given[i].key, given[i].name, given[i].name_length};
	for (size_t i = 0; i < held_count; i++)
		known[n++] = KnownName{held[i]->key, held[i]->name, (int) held[i]->name_length};
	*count = n;
	return known;
}

Datum
NameDatum(const KnownName *known, int count, int64 key, bool *isnull)
{
	for (int i = 0; i < count; i++)
		if (known[i].key == key)
		{
			*isnull = false;
			return PointerGetDatum(cstring_to_text_with_len(known[i].name, known[i].length));
		}
	*isnull = true;
	return (Datum) 0;
}

/* One granted or awaited mode of one lock-status entry, or a lease (token not 0). */
struct Request
{
	int			pid;
	LOCKMODE	mode;
	bool		granted;
	TimestampTz wait_start;
	int			position;		/* in the status data: holders keep that order */
	int64		token;
};

/*
 * A lock the lock manager granted to a session that still waits for a
 * lease to go: the request is not granted yet, as the session sees it.
 */
bool
WaitsForLease(const advlock_named::LeaseWait *waits, int count, int pid, int64 key, TimestampTz *since)
{
	for (int i = 0; i < count; i++)
		if (waits[i].pid == pid && waits[i].key == key && waits[i].space == advlock_named::LeaseSpace::kLock)
		{
			*since = waits[i].since;
			return true;
		}
	return false;
}

bool
HoldersThenWaitOrder(const Request &a, const Request &b)
{
	if (a.granted != b.granted)
		return a.granted;
	if (!a.granted && a.wait_start != b.wait_start)
		return a.wait_start < b.wait_start;
	return a.position < b.position;
}

} // namespace

/*
 * named_lock_holders(name text) returns setof (pid integer, mode text,
 * granted boolean, wait_start timestamptz, token bigint)
 *
 * Every session holding or waiting for the name, and every lease on it
 * (token not NULL; pid the session it ends with, if any): holders first,
 * then waiters in the order they started waiting.  A session whose lock
 * the lock manager granted but that waits for a lease to go is a waiter.
 */
Datum
named_lock_holders(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	LockData   *status;
	Request    *requests;
	int			count = 0;
	int			lease_count;
	int			wait_count;
	advlock_named::LeaseHolding *leases = advlock_named::CurrentLeaseHoldings(&target.key, &lease_count);
	advlock_named::LeaseWait *waits = advlock_named::CurrentLeaseWaits(&wait_count);

	InitMaterializedSRF(fcinfo, 0);
	status = GetLockStatusData();
	requests = static_cast<Request *>(palloc((2 * status->nelements + lease_count + 1) * sizeof(Request)));

	for (int i = 0; i < status->nelements; i++)
	{
		const LockInstanceData &instance = status->locks[i];
		TimestampTz since;

		if (!SameLock(instance.locktag, target.tag))
			continue;
		for (LOCKMODE mode : kModes)
		{
			if ((instance.holdMask & LOCKBIT_ON(mode)) != 0 &&
				WaitsForLease(waits, wait_count, instance.pid, target.key, &since))
				requests[count] = Request{instance.pid, mode, false, since, count, 0};
			else if ((instance.holdMask & LOCKBIT_ON(mode)) != 0)
				requests[count] = Request{instance.pid, mode, true, 0, count, 0};
			else if (instance.waitLockMode == mode)
				requests[count] = Request{instance.pid, mode, false, instance.waitStart, count, 0};
			else
				continue;
			count++;
		}
	}
	for (int i = 0; i < lease_count; i++, count++)
		requests[count] = Request{leases[i].pid, advlock_named::ToLockManagerMode(leases[i].mode), true, 0,
								  count, leases[i].token};
	std::sort(requests, requests + count, HoldersThenWaitOrder);

	for (int i = 0; i < count; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = PidDatum(requests[i].pid, &nulls[0]);
		values[1] = CStringGetTextDatum(ModeName(requests[i].mode));
		values[2] = BoolGetDatum(requests[i].granted);
		values[3] = WaitStartDatum(requests[i].wait_start, &nulls[3]);
		values[4] = Int64GetDatum(requests[i].token);
		nulls[4] = requests[i].token == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * named_lock_is_held(name text) returns boolean
 *
 * Whether any session (this one included), prepared transaction or lease
 * holds the name in any mode, like MySQL's IS_USED_LOCK.
 */
Datum
named_lock_is_held(PG_FUNCTION_ARGS)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	LockData   *status = GetLockStatusData();
	int			lease_count;

	(void) advlock_named::CurrentLeaseHoldings(&target.key, &lease_count);
	if (lease_count > 0)
		PG_RETURN_BOOL(true);
	for (int i = 0; i < status->nelements; i++)
		if (SameLock(status->locks[i].locktag, target.tag) && status->locks[i].holdMask != 0)
			PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(false);
}

/*
 * named_lock_waits(names text[] DEFAULT NULL) returns setof (waiting_pid
 * integer, waiting_mode text, wait_start timestamptz, key bigint, name text,
 * blocking_pid integer, blocking_mode text, blocking_granted boolean)
 *
 * One row per session waiting for a named lock and per session it waits
 * for (as pg_blocking_pids reports them: holders, and conflicting requests
 * ahead of it in the queue).  Names are resolved from the names given and
 * from this session's own holds; others show as NULL with their key.
 */
Datum
named_lock_waits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			known_count;
	KnownName  *known = CollectKnownNames(fcinfo, 0, &known_count);
	LockData   *status;

	InitMaterializedSRF(fcinfo, 0);
	status = GetLockStatusData();

	for (int w = 0; w < status->nelements; w++)
	{
		const LockInstanceData &waiter = status->locks[w];
		ArrayType  *blockers;
		Datum	   *blocker_pids;
		int			blocker_count;
		Datum		name;
		bool		name_isnull;

		if (waiter.waitLockMode == NoLock || !IsNamedKeyLock(waiter.locktag))
			continue;

		/* once per waiter: the directory lookup takes its lock */
		name = NameDatum(known, known_count, KeyOf(waiter.locktag), &name_isnull);
		if (name_isnull)
			name = advlock_named::DirectoryName(KeyOf(waiter.locktag), waiter.pid, &name_isnull);

		blockers = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids, Int32GetDatum(waiter.pid)));
		deconstruct_array(blockers, INT4OID, sizeof(int32), true, TYPALIGN_INT,
						  &blocker_pids, NULL, &blocker_count);

		for (int b = 0; b < blocker_count; b++)
		{
			for (int h = 0; h < status->nelements; h++)
			{
				const LockInstanceData &blocker = status->locks[h];

				if (blocker.pid != DatumGetInt32(blocker_pids[b]) ||
					!SameLock(blocker.locktag, waiter.locktag))
					continue;
				for (LOCKMODE mode : kModes)
				{
					bool		granted = (blocker.holdMask & LOCKBIT_ON(mode)) != 0;
					Datum		values[8];
					bool		nulls[8] = {false, false, false, false, false, false, false, false};

					if (!granted && blocker.waitLockMode != mode)
						continue;
					/* shared requests do not block each other */
					if (mode == ShareLock && waiter.waitLockMode == ShareLock)
						continue;
					values[0] = PidDatum(waiter.pid, &nulls[0]);
					values[1] = CStringGetTextDatum(ModeName(waiter.waitLockMode));
					values[2] = WaitStartDatum(waiter.waitStart, &nulls[2]);
					values[3] = Int64GetDatum(KeyOf(waiter.locktag));
					values[4] = name;
					nulls[4] = name_isnull;
					values[5] = PidDatum(blocker.pid, &nulls[5]);
					values[6] = CStringGetTextDatum(ModeName(mode));
					values[7] = BoolGetDatum(granted);
					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				}
			}
		}
	}
	return (Datum) 0;
}
