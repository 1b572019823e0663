/*-------------------------------------------------------------------------
 *
 * lease_functions.cpp
 *	  The SQL-callable functions of leases and semaphores, and the views'
 *	  functions over the lease table.
 *
 * Every argument is checked here, NULLs included (the functions are not
 * STRICT, so that a NULL is an error rather than a silent NULL), then one
 * call into lease_ops.  The views show a name only to a role that may see
 * the role of whoever holds or waits for it (pg_stat_activity's rule); the
 * key, mode, token and times are shown to all, as pg_locks shows keys.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* Entry points the server looks up by name; see PG_CXXFLAGS in the Makefile. */
#pragma GCC visibility push(default)
PG_FUNCTION_INFO_V1(named_lease_exclusive);
PG_FUNCTION_INFO_V1(named_lease_shared);
PG_FUNCTION_INFO_V1(named_lease_renew);
PG_FUNCTION_INFO_V1(named_lease_release);
PG_FUNCTION_INFO_V1(named_lease_check);
PG_FUNCTION_INFO_V1(named_semaphore_acquire);
PG_FUNCTION_INFO_V1(named_semaphore_release);
PG_FUNCTION_INFO_V1(named_leases);
PG_FUNCTION_INFO_V1(named_semaphores);
#pragma GCC visibility pop
}

#include "lease_ops.hpp"
#include "lock_wait.hpp"
#include "name_directory.hpp"
#include "pg_compat.hpp"

using advlock_named::HolderKind;
using advlock_named::LeaseSpace;
using advlock_named::LeaseTable;
using advlock_named::LockMode;
using advlock_named::LockTarget;
using advlock_named::Resource;

namespace {

constexpr advlock_named::TimeoutWords kWaitWords = {
	"wait", "Give '0' to try once without waiting, or 'infinity' (PostgreSQL 17 and later) to wait as long as it takes."};

/* A ttl argument in microseconds: positive, finite, at most advlock_named.max_lease_ttl. */
int64
TtlFromArgument(FunctionCallInfo fcinfo, int argno)
{
	double		microseconds;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease ttl must not be null"),
				 errhint("Give the time the lease lives unless renewed, such as '30 seconds'.")));
	microseconds = advlock_named::IntervalMicroseconds(PG_GETARG_INTERVAL_P(argno));
	if (!(microseconds > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease ttl must be positive")));
	if (microseconds > (double) advlock_named::max_lease_ttl * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease ttl is too long"),
				 errdetail("The longest ttl is %d ms, the limit set by advlock_named.max_lease_ttl.",
						   advlock_named::max_lease_ttl),
				 errhint("Renew the lease before its ttl is up, or use a session lock for work that has no end in sight.")));
	return (int64) microseconds;
}

int64
TokenFromArgument(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease token must not be null"),
				 errhint("Pass the token that acquiring the lease returned; a NULL one means it was not granted.")));
	return PG_GETARG_INT64(argno);
}

int32
PositiveIntegerArgument(FunctionCallInfo fcinfo, int argno, const char *what)
{
	int32		value;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("semaphore %s must not be null", what)));
	value = PG_GETARG_INT32(argno);
	if (value < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("semaphore %s must be at least 1", what)));
	return value;
}

Datum
TokenOrNull(int64 token, FunctionCallInfo fcinfo)
{
	if (token == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(token);
}

Datum
Lease(FunctionCallInfo fcinfo, LockMode mode)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	int64		ttl_us = TtlFromArgument(fcinfo, 1);
	int			timeout_ms = advlock_named::TimeoutFromArgument(fcinfo, 2, kWaitWords);

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("session_bound must not be null")));
	return TokenOrNull(advlock_named::AcquireLease(target, mode, ttl_us, timeout_ms, PG_GETARG_BOOL(3)), fcinfo);
}

const char *
KindName(HolderKind kind)
{
	switch (kind)
	{
		case HolderKind::kShared:
			return "shared";
		case HolderKind::kExclusive:
			return "exclusive";
		case HolderKind::kPermits:
			break;
	}
	return "permits";
}

/* One holder of this database, copied out under the lock. */
struct HolderRow
{
	Resource	resource;
	HolderKind	kind;
	Oid			role;
	int64		token;
	int32		permits;
	int32		capacity;
	TimestampTz acquired;
	TimestampTz expires;
	int64		renewals;
	int32		pid;
	uint32		checks;
	uint32		waiters;
	uint8		name_length;
	char		name[advlock_named::kLeaseNameBytes];
};

uint32
WaitersOn(const LeaseTable &table, const advlock_named::Resource &resource)
{
	uint32		count = 0;

	for (uint32 slot = 0; slot < table.WaiterSlots(); slot++)
		if (table.SlotAt(slot).state == LeaseTable::Waiter::State::kWaiting &&
			table.SlotAt(slot).resource == resource)
			count++;
	return count;
}

/* The live holders of this database, as of now; palloc'd. */
HolderRow  *
CurrentHolders(const advlock_named::LeaseState &leases, uint32 *count)
{
	TimestampTz now = GetCurrentTimestamp();
	HolderRow  *rows = static_cast<HolderRow *>(palloc_extended(sizeof(HolderRow) * leases.table->Capacity(),
																MCXT_ALLOC_HUGE));
	uint32		n = 0;

	LWLockAcquire(leases.lock, LW_SHARED);
	for (uint32 place = 0; place < leases.table->PlaceCount(); place++)
	{
		const LeaseTable::Holder *holder = leases.table->At(place);
		std::string_view name;

		if (holder == nullptr || holder->GetResource().database != MyDatabaseId || holder->Dead(now))
			continue;
		name = holder->Name();
		rows[n] = HolderRow{holder->GetResource(), holder->Kind(), holder->Role(), holder->Token(),
							holder->Permits(), holder->Capacity(), holder->Acquired(), holder->Expires(),
							holder->Renewals(), holder->SessionPid(), holder->Fences(),
							WaitersOn(*leases.table, holder->GetResource()), (uint8) name.size(), {}};
		memcpy(rows[n].name, name.data(), name.size());
		n++;
	}
	LWLockRelease(leases.lock);
	*count = n;
	return rows;
}

Datum
NameOrNull(const char *name, int length, Oid role, bool *isnull)
{
	*isnull = !advlock_named::MaySeeNamesOf(role);
	if (*isnull)
		return (Datum) 0;
	return PointerGetDatum(cstring_to_text_with_len(name, length));
}

} // namespace

/*
 * named_lease_exclusive(name text, ttl interval, wait interval DEFAULT '0',
 * session_bound boolean DEFAULT false) returns bigint, and
 * named_lease_shared(...): the lease's fencing token, or NULL when it was
 * not granted within wait.
 */
Datum
named_lease_exclusive(PG_FUNCTION_ARGS)
{
	return Lease(fcinfo, LockMode::kExclusive);
}

Datum
named_lease_shared(PG_FUNCTION_ARGS)
{
	return Lease(fcinfo, LockMode::kShared);
}

/* named_lease_renew(name text, token bigint, ttl interval) returns boolean */
Datum
named_lease_renew(PG_FUNCTION_ARGS)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	int64		token = TokenFromArgument(fcinfo, 1);
	int64		ttl_us = TtlFromArgument(fcinfo, 2);

	PG_RETURN_BOOL(advlock_named::RenewLease(target, token, ttl_us));
}

/* named_lease_release(name text, token bigint) returns boolean */
Datum
named_lease_release(PG_FUNCTION_ARGS)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	int64		token = TokenFromArgument(fcinfo, 1);

	PG_RETURN_BOOL(advlock_named::ReleaseLease(target, token, false));
}

/* named_lease_check(name text, token bigint) returns void: the fence */
Datum
named_lease_check(PG_FUNCTION_ARGS)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	int64		token = TokenFromArgument(fcinfo, 1);

	advlock_named::CheckLease(target, token);
	PG_RETURN_VOID();
}

/*
 * named_semaphore_acquire(name text, capacity integer, ttl interval DEFAULT
 * NULL, wait interval DEFAULT '0', permits integer DEFAULT 1) returns
 * bigint: a token for the permits, or NULL when not granted within wait.
 * A NULL ttl makes them the session's.
 */
Datum
named_semaphore_acquire(PG_FUNCTION_ARGS)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	int32		capacity = PositiveIntegerArgument(fcinfo, 1, "capacity");
	int64		ttl_us = PG_ARGISNULL(2) ? 0 : TtlFromArgument(fcinfo, 2);
	int			timeout_ms = advlock_named::TimeoutFromArgument(fcinfo, 3, kWaitWords);
	int32		permits = PositiveIntegerArgument(fcinfo, 4, "permits");

	if (permits > capacity)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("semaphore permits must not exceed its capacity"),
				 errdetail("%d permits were asked of a capacity of %d.", permits, capacity)));
	return TokenOrNull(advlock_named::AcquirePermits(target, capacity, ttl_us, timeout_ms, permits), fcinfo);
}

/* named_semaphore_release(name text, token bigint) returns boolean */
Datum
named_semaphore_release(PG_FUNCTION_ARGS)
{
	LockTarget	target = advlock_named::TargetFromArgument(fcinfo, 0);
	int64		token = TokenFromArgument(fcinfo, 1);

	PG_RETURN_BOOL(advlock_named::ReleaseLease(target, token, true));
}

/*
 * named_leases() returns setof (name text, key bigint, mode text, token
 * bigint, roleid oid, permits integer, acquired timestamptz, expires
 * timestamptz, renewals bigint, pid integer, checks integer, waiters
 * integer)
 *
 * Every live lease and semaphore grant of this database.  expires is NULL
 * for a session's permits, pid is the session a holder ends with, checks
 * the transactions that hold it with named_lease_check, waiters the
 * sessions waiting for its name.
 */
Datum
named_leases(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	advlock_named::LeaseState &leases = *advlock_named::RequireLeases();
	uint32		count;
	HolderRow  *rows;

	InitMaterializedSRF(fcinfo, 0);
	rows = CurrentHolders(leases, &count);
	for (uint32 i = 0; i < count; i++)
	{
		const HolderRow &row = rows[i];
		Datum		values[12];
		bool		nulls[12] = {false};

		values[0] = NameOrNull(row.name, row.name_length, row.role, &nulls[0]);
		values[1] = Int64GetDatum(row.resource.key);
		values[2] = CStringGetTextDatum(KindName(row.kind));
		values[3] = Int64GetDatum(row.token);
		values[4] = ObjectIdGetDatum(row.role);
		values[5] = Int32GetDatum(row.permits);
		nulls[5] = row.kind != HolderKind::kPermits;
		values[6] = TimestampTzGetDatum(row.acquired);
		values[7] = TimestampTzGetDatum(row.expires);
		nulls[7] = row.expires == advlock_named::kNeverExpires;
		values[8] = Int64GetDatum(row.renewals);
		values[9] = Int32GetDatum(row.pid);
		nulls[9] = row.pid == 0;
		values[10] = Int32GetDatum((int32) row.checks);
		values[11] = Int32GetDatum((int32) row.waiters);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * named_semaphores() returns setof (name text, key bigint, capacity integer,
 * permits_in_use integer, holders integer, waiters integer)
 *
 * One row per semaphore of this database that has holders or waiters.
 */
Datum
named_semaphores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	advlock_named::LeaseState &leases = *advlock_named::RequireLeases();
	uint32		count;
	HolderRow  *rows;

	InitMaterializedSRF(fcinfo, 0);
	rows = CurrentHolders(leases, &count);
	/* the holders of one semaphore, gathered: few enough to do it pairwise */
	for (uint32 i = 0; i < count; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false};
		int32		in_use = 0;
		int32		holders = 0;
		bool		first = true;
		bool		visible = false;

		if (rows[i].kind != HolderKind::kPermits)
			continue;
		for (uint32 j = 0; j < count; j++)
		{
			if (!(rows[j].resource == rows[i].resource))
				continue;
			first = first && j >= i;
			in_use += rows[j].permits;
			holders++;
			visible = visible || advlock_named::MaySeeNamesOf(rows[j].role);
		}
		if (!first)
			continue;			/* reported with the first of its holders */
		values[0] = PointerGetDatum(cstring_to_text_with_len(rows[i].name, rows[i].name_length));
		nulls[0] = !visible;
		values[1] = Int64GetDatum(rows[i].resource.key);
		values[2] = Int32GetDatum(rows[i].capacity);
		values[3] = Int32GetDatum(in_use);
		values[4] = Int32GetDatum(holders);
		values[5] = Int32GetDatum((int32) rows[i].waiters);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
