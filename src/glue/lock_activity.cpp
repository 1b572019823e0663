/*-------------------------------------------------------------------------
 *
 * lock_activity.cpp
 *	  The SQL functions over the shared name directory: every advisory lock
 *	  request on an int8 key by name, the per-name statistics, their info
 *	  row and their reset.
 *
 * Names follow pg_stat_activity's privacy rule: a name is shown when the
 * current user has the privileges of the role that published it (for a
 * lock request, preferably the backend's role; for statistics, the
 * counting role), or of pg_read_all_stats; otherwise it is NULL and the
 * key still identifies the lock.  Names of other databases are converted
 * to this database's encoding.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* Entry points the server looks up by name; see PG_CXXFLAGS in the Makefile. */
#pragma GCC visibility push(default)
PG_FUNCTION_INFO_V1(named_lock_activity);
PG_FUNCTION_INFO_V1(named_lock_stats);
PG_FUNCTION_INFO_V1(named_lock_stats_info);
PG_FUNCTION_INFO_V1(named_lock_stats_reset);
#pragma GCC visibility pop
}

#include "lease_ops.hpp"
#include "name_directory.hpp"
#include "pg_compat.hpp"

using advlock_named::NameCounts;
using advlock_named::DirectoryTable;

namespace {

/* An advisory lock on an int8 key in this database: what a named lock is. */
bool
IsInt8KeyLockHere(const LOCKTAG &tag)
{
	return tag.locktag_type == LOCKTAG_ADVISORY && tag.locktag_lockmethodid == USER_LOCKMETHOD &&
		tag.locktag_field1 == MyDatabaseId && tag.locktag_field4 == 1;
}

int64
KeyOf(const LOCKTAG &tag)
{
	return (int64) (((uint64) tag.locktag_field2 << 32) | tag.locktag_field3);
}

double
Milliseconds(int64 microseconds)
{
	return microseconds / 1000.0;
}

/* The encoding of database, from pg_database (a shared catalog); -1 when it is gone. */
int
DatabaseEncoding(Oid database)
{
	HeapTuple	tuple;
	int			encoding;

	if (database == MyDatabaseId)
		return GetDatabaseEncoding();
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database));
	if (!HeapTupleIsValid(tuple))
		return -1;
	encoding = ((Form_pg_database) GETSTRUCT(tuple))->encoding;
	ReleaseSysCache(tuple);
	return encoding;
}

bool
IsAscii(const char *bytes, int length)
{
	for (int i = 0; i < length; i++)
		if (IS_HIGHBIT_SET(bytes[i]))
			return false;
	return true;
}

/*
 * A name as text in this database's encoding.  The directory keeps names in
 * the encoding of the database they were locked in, which may differ: a
 * name that cannot be converted (no conversion, a character this encoding
 * lacks, or bytes beyond ASCII from a SQL_ASCII database, which declares no
 * encoding) is NULL, its key still shown, rather than bytes that are not
 * text here.  A SQL_ASCII database takes any bytes, as PostgreSQL does.
 */
Datum
NameHere(const char *name, int length, int encoding, bool *isnull)
{
	int			here = GetDatabaseEncoding();
	int			room = length * MAX_CONVERSION_GROWTH + 1;
	unsigned char *converted;
	Oid			conversion;

	*isnull = false;
	if (encoding == here || here == PG_SQL_ASCII || IsAscii(name, length))
		return PointerGetDatum(cstring_to_text_with_len(name, length));
	*isnull = true;
	if (encoding < 0 || encoding == PG_SQL_ASCII)
		return (Datum) 0;
	conversion = FindDefaultConversionProc(encoding, here);
	if (!OidIsValid(conversion))
		return (Datum) 0;
	converted = static_cast<unsigned char *>(palloc(room));
	if (pg_do_encoding_conversion_buf(conversion, encoding, here, (unsigned char *) name, length,
									  converted, room, true) < length)
		return (Datum) 0;
	*isnull = false;
	return PointerGetDatum(cstring_to_text(reinterpret_cast<char *>(converted)));
}

/* One directory entry, copied out under the lock. */
struct StatsRow
{
	advlock_named::NameId id;
	NameCounts	counts;
	uint16		name_length;
	char		name[advlock_named::kStoredNameBytes];
};

} // namespace

/*
 * named_lock_activity() returns setof (name text, key bigint, pid integer,
 * mode text, granted boolean, wait_start timestamptz, blocked_by integer[],
 * token bigint, roleid oid)
 *
 * One row per advisory lock request on an int8 key in this database and
 * mode: holders and waiters, named from the directory; and one per lease
 * (token not NULL, pid the session it ends with, if any, roleid its owner).  blocked_by is
 * pg_blocking_pids() of a waiter, empty for a granted request and for a
 * session waiting for a lease (the lease rows of its key block it).
 */
Datum
named_lock_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LockData   *status;
	int			lease_count;
	int			wait_count;
	advlock_named::LeaseHolding *leases;
	advlock_named::LeaseWait *waits;

	(void) advlock_named::RequireDirectory();
	InitMaterializedSRF(fcinfo, 0);
	leases = advlock_named::CurrentLeaseHoldings(nullptr, &lease_count);
	waits = advlock_named::CurrentLeaseWaits(&wait_count);
	status = GetLockStatusData();

	for (int i = 0; i < status->nelements; i++)
	{
		const LockInstanceData &instance = status->locks[i];
		int64		key = KeyOf(instance.locktag);
		TimestampTz lease_wait_start = 0;

		if (!IsInt8KeyLockHere(instance.locktag))
			continue;
		/* granted by the lock manager, but waiting for a lease to go: a waiter */
		for (int w = 0; w < wait_count; w++)
			if (waits[w].pid == instance.pid && waits[w].key == key &&
				waits[w].space == advlock_named::LeaseSpace::kLock)
				lease_wait_start = waits[w].since;
		for (LOCKMODE mode : {ShareLock, ExclusiveLock})
		{
			bool		granted = (instance.holdMask & LOCKBIT_ON(mode)) != 0 && lease_wait_start == 0;
			bool		waiting = instance.waitLockMode == mode ||
				((instance.holdMask & LOCKBIT_ON(mode)) != 0 && lease_wait_start != 0);
			Datum		values[9];
			bool		nulls[9] = {false, false, false, false, false, false, false, true, true};

			if (!granted && !waiting)
				continue;
			values[0] = advlock_named::DirectoryName(key, instance.pid, &nulls[0]);
			values[1] = Int64GetDatum(key);
			values[2] = Int32GetDatum(instance.pid);
			nulls[2] = instance.pid == 0;	/* a prepared transaction */
			values[3] = CStringGetTextDatum(mode == ShareLock ? "shared" : "exclusive");
			values[4] = BoolGetDatum(granted);
			values[5] = TimestampTzGetDatum(lease_wait_start != 0 ? lease_wait_start : instance.waitStart);
			nulls[5] = granted || (lease_wait_start == 0 && instance.waitStart == 0);
			if (granted || lease_wait_start != 0)
				values[6] = PointerGetDatum(construct_empty_array(INT4OID));
			else
				values[6] = DirectFunctionCall1(pg_blocking_pids, Int32GetDatum(instance.pid));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	/* the leases: held by a role and a token, not by a session */
	for (int i = 0; i < lease_count; i++)
	{
		const advlock_named::LeaseHolding &lease = leases[i];
		Datum		values[9];
		bool		nulls[9] = {false, false, false, false, false, true, false, false, false};

		nulls[0] = !advlock_named::MaySeeNamesOf(lease.role);
		if (!nulls[0])
			values[0] = PointerGetDatum(cstring_to_text_with_len(lease.name, lease.name_length));
		values[1] = Int64GetDatum(lease.key);
		values[2] = Int32GetDatum(lease.pid);
		nulls[2] = lease.pid == 0;
		values[3] = CStringGetTextDatum(lease.mode == advlock_named::LockMode::kShared ? "shared" : "exclusive");
		values[4] = BoolGetDatum(true);
		values[6] = PointerGetDatum(construct_empty_array(INT4OID));
		values[7] = Int64GetDatum(lease.token);
		values[8] = ObjectIdGetDatum(lease.role);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * named_lock_stats() returns setof (userid oid, dbid oid, name text, key
 * bigint, acquisitions bigint, waited_acquisitions bigint, total_wait_ms
 * double precision, max_wait_ms double precision, timeouts bigint,
 * failed_tries bigint, deadlocks bigint, last_acquired timestamptz,
 * leases_granted bigint, leases_renewed bigint, leases_expired bigint,
 * leases_lost bigint)
 *
 * One row per role, database and name the directory holds, after this
 * backend's own pending counts are flushed.
 */
Datum
named_lock_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	advlock_named::DirectoryPart *directory = advlock_named::RequireDirectory();
	StatsRow   *rows;
	Size		places = 0;
	uint32		count = 0;

	advlock_named::FlushNameCounts();
	InitMaterializedSRF(fcinfo, 0);

	for (int p = 0; p < advlock_named::kDirectoryParts; p++)
		places += directory[p].table->PlaceCount();
	rows = static_cast<StatsRow *>(palloc_extended(sizeof(StatsRow) * places, MCXT_ALLOC_HUGE));

	/* a part at a time, as pg_locks reads the lock manager's */
	for (int p = 0; p < advlock_named::kDirectoryParts; p++)
	{
		const DirectoryTable *table = directory[p].table;

		LWLockAcquire(directory[p].lock, LW_SHARED);
		for (uint32 place = 0; place < table->PlaceCount(); place++)
		{
			const DirectoryTable::Entry *entry = table->At(place);
			std::string_view name;

			if (entry == nullptr)
				continue;
			name = entry->Name();
			rows[count].id = entry->Id();
			rows[count].counts = entry->Counts();
			rows[count].name_length = (uint16) name.size();
			memcpy(rows[count].name, name.data(), name.size());
			count++;
		}
		LWLockRelease(directory[p].lock);
	}

	for (uint32 i = 0; i < count; i++)
	{
		const StatsRow &row = rows[i];
		Datum		values[16];
		bool		nulls[16] = {false};

		values[0] = ObjectIdGetDatum(row.id.role);
		values[1] = ObjectIdGetDatum(row.id.database);
		if (advlock_named::MaySeeNamesOf(row.id.role))
			values[2] = NameHere(row.name, row.name_length, DatabaseEncoding(row.id.database), &nulls[2]);
		else
			nulls[2] = true;
		values[3] = Int64GetDatum(row.id.key);
		values[4] = Int64GetDatum((int64) row.counts.acquisitions);
		values[5] = Int64GetDatum((int64) row.counts.waited);
		values[6] = Float8GetDatum(Milliseconds(row.counts.total_wait_us));
		values[7] = Float8GetDatum(Milliseconds(row.counts.max_wait_us));
		values[8] = Int64GetDatum((int64) row.counts.timeouts);
		values[9] = Int64GetDatum((int64) row.counts.failed_tries);
		values[10] = Int64GetDatum((int64) row.counts.deadlocks);
		values[11] = TimestampTzGetDatum(row.counts.last_acquired);
		nulls[11] = row.counts.last_acquired == 0;
		values[12] = Int64GetDatum((int64) row.counts.leases_granted);
		values[13] = Int64GetDatum((int64) row.counts.leases_renewed);
		values[14] = Int64GetDatum((int64) row.counts.leases_expired);
		values[15] = Int64GetDatum((int64) row.counts.leases_lost);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * named_lock_stats_info(OUT names integer, OUT max_names integer, OUT
 * evictions bigint, OUT collisions bigint, OUT resets bigint, OUT
 * stats_reset timestamptz)
 */
Datum
named_lock_stats_info(PG_FUNCTION_ARGS)
{
	advlock_named::DirectoryPart *directory = advlock_named::RequireDirectory();
	DirectoryTable::Info info = {};
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	/* a reset goes to every part in turn: the most any part has counted is the count */
	for (int p = 0; p < advlock_named::kDirectoryParts; p++)
	{
		DirectoryTable::Info part;

		LWLockAcquire(directory[p].lock, LW_SHARED);
		part = directory[p].table->GetInfo();
		LWLockRelease(directory[p].lock);
		info.entries += part.entries;
		info.capacity += part.capacity;
		info.evictions += part.evictions;
		info.collisions += part.collisions;
		info.resets = Max(info.resets, part.resets);
		info.last_reset = Max(info.last_reset, part.last_reset);
	}

	values[0] = Int32GetDatum((int32) info.entries);
	values[1] = Int32GetDatum((int32) info.capacity);
	values[2] = Int64GetDatum((int64) info.evictions);
	values[3] = Int64GetDatum((int64) info.collisions);
	values[4] = Int64GetDatum((int64) info.resets);
	values[5] = TimestampTzGetDatum(info.last_reset);
	nulls[5] = info.last_reset == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * named_lock_stats_reset() returns void
 *
 * Zeroes every name's counts (names stay in the directory) and this
 * backend's pending ones.  Superuser only unless granted.
 */
Datum
named_lock_stats_reset(PG_FUNCTION_ARGS)
{
	advlock_named::DirectoryPart *directory = advlock_named::RequireDirectory();
	TimestampTz now = GetCurrentTimestamp();

	advlock_named::DiscardNameCounts();
	for (int p = 0; p < advlock_named::kDirectoryParts; p++)
	{
		LWLockAcquire(directory[p].lock, LW_EXCLUSIVE);
		directory[p].table->ResetCounts(now);
		LWLockRelease(directory[p].lock);
	}
	PG_RETURN_VOID();
}
