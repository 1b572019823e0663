/*-------------------------------------------------------------------------
 *
 * shared_state.cpp
 *	  Where the shared state lives: the name directory (a header with its
 *	  parts' LWLocks, then the parts' tables, max_names entries in all) and
 *	  the lease table (a header with its LWLocks, then the table).
 *
 * When the library is preloaded both are in the main shared memory
 * segment, made at server start (the pg_stat_statements way, on every
 * supported major).  Otherwise, on PostgreSQL 17 and later, a small DSM
 * registry entry holds the handles of two DSM segments, each made when it
 * is first needed: the directory by the first lock call of a session that
 * tracks names, the lease table by the first lease.  A segment that cannot
 * be made stays unmade until a restart, with the reason recorded.
 *
 * The directory is only there to be looked at, so failing to make or
 * attach it must not fail a lock call: the lock path tries it once per
 * backend, in a subtransaction that absorbs the error, and goes on without
 * it.  The lease table is a matter of exclusion: a lock call cannot be
 * granted past a lease it cannot see, so failing to attach an existing
 * table fails the call.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#if PG_VERSION_NUM >= 170000
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/dsm_registry.h"
#endif
}

#include "lease_ops.hpp"
#include "lease_state.hpp"
#include "ledger_file.hpp"
#include "name_directory.hpp"
#include "statement_holds.hpp"

namespace advlock_named {

int			max_names = 5000;
bool		track_names = true;
int			max_leases = 1024;
int			max_lease_ttl = 24 * 60 * 60 * 1000;
int			max_leases_per_role = 256;

namespace {

/* The ShmemInitStruct names; the LWLock tranche and wait event of both. */
constexpr const char kDirectoryName[] = "advlock_named name directory";
constexpr const char kLeasesName[] = "advlock_named leases";
constexpr const char kTrancheName[] = "advlock_named";

constexpr Size
CacheLineAligned(Size size)
{
	return (size + 63) / 64 * 64;
}

/*
 * The name directory.
 */

struct DirectoryHeader
{
	LWLockPadded locks[kDirectoryParts];
	int			tranche_id;
	/* max_names when the directory was made: the layout, whatever the setting says now */
	uint32		capacity;
};

/* The first table starts on a cache line of its own, and so does every next one. */
constexpr Size kTablesOffset = CacheLineAligned(sizeof(DirectoryHeader));

DirectoryPart parts[kDirectoryParts];
DirectoryPart *directory = nullptr;	/* parts, once adopted */

/* capacity shared out: the first parts take one entry more when it does not divide evenly. */
uint32
PartCapacity(uint32 capacity, int part)
{
	return capacity / kDirectoryParts + (uint32) (part < (int) (capacity % kDirectoryParts));
}

Size
PartBytes(uint32 capacity, int part)
{
	return CacheLineAligned(DirectoryTable::BytesFor(PartCapacity(capacity, part)));
}

/* The bytes of a directory of max_names entries, as this backend's setting has it. */
Size
DirectoryBytes()
{
	Size		bytes = kTablesOffset;

	for (int part = 0; part < kDirectoryParts; part++)
		bytes = add_size(bytes, PartBytes((uint32) max_names, part));
	return bytes;
}

/* Lays out a fresh directory of max_names entries. */
void
LayOutDirectory(void *memory)
{
	DirectoryHeader *header = static_cast<DirectoryHeader *>(memory);
	char	   *table = static_cast<char *>(memory) + kTablesOffset;

	header->tranche_id = LWLockNewTrancheId();
	header->capacity = (uint32) max_names;
	for (int part = 0; part < kDirectoryParts; part++)
	{
		LWLockInitialize(&header->locks[part].lock, header->tranche_id);
		(void) DirectoryTable::Create(table, PartCapacity(header->capacity, part));
		table += PartBytes(header->capacity, part);
	}
}

void
AdoptDirectory(void *memory)
{
	DirectoryHeader *header = static_cast<DirectoryHeader *>(memory);
	char	   *table = static_cast<char *>(memory) + kTablesOffset;

	/* names the locks' wait event in this process */
	LWLockRegisterTranche(header->tranche_id, kTrancheName);
	for (int part = 0; part < kDirectoryParts; part++)
	{
		parts[part] = DirectoryPart{reinterpret_cast<DirectoryTable *>(table), &header->locks[part].lock};
		table += PartBytes(header->capacity, part);
	}
	directory = parts;
}

/*
 * The lease table.
 */

struct LeaseHeader
{
	LWLockPadded lock;
	LWLockPadded token_lock;
	int			tranche_id;
};

constexpr Size kLeaseTableOffset = CacheLineAligned(sizeof(LeaseHeader));

LeaseState lease_state;

/* One waiter slot per backend that may run SQL (ProcNumbers below MaxBackends). */
uint32
WaiterSlots()
{
	return (uint32) MaxBackends;
}

Size
LeaseBytes()
{
	return add_size(kLeaseTableOffset, LeaseTable::BytesFor((uint32) max_leases, WaiterSlots()));
}

void
LayOutLeases(void *memory)
{
	LeaseHeader *header = static_cast<LeaseHeader *>(memory);

	header->tranche_id = LWLockNewTrancheId();
	LWLockInitialize(&header->lock.lock, header->tranche_id);
	LWLockInitialize(&header->token_lock.lock, header->tranche_id);
	ReadmitLedger(LeaseTable::Create(static_cast<char *>(memory) + kLeaseTableOffset, (uint32) max_leases,
									 WaiterSlots()));
}

void
AdoptLeases(void *memory)
{
	LeaseHeader *header = static_cast<LeaseHeader *>(memory);

	LWLockRegisterTranche(header->tranche_id, kTrancheName);
	lease_state = LeaseState{reinterpret_cast<LeaseTable *>(static_cast<char *>(memory) + kLeaseTableOffset),
							 &header->lock.lock, &header->token_lock.lock};
	adopted_leases = &lease_state;
	WriteLedgerFromNowOn();
}

/*
 * Preloaded: both in the main shared memory segment.
 */

shmem_request_hook_type previous_shmem_request_hook = NULL;
shmem_startup_hook_type previous_shmem_startup_hook = NULL;

void
RequestSharedMemory()
{
	if (previous_shmem_request_hook != NULL)
		previous_shmem_request_hook();
	RequestAddinShmemSpace(DirectoryBytes());
	RequestAddinShmemSpace(LeaseBytes());
}

void
StartSharedMemory()
{
	void	   *memory;
	bool		found;

	if (previous_shmem_startup_hook != NULL)
		previous_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	memory = ShmemInitStruct(kDirectoryName, DirectoryBytes(), &found);
	if (!found)
		LayOutDirectory(memory);
	AdoptDirectory(memory);
	memory = ShmemInitStruct(kLeasesName, LeaseBytes(), &found);
	if (!found)
		LayOutLeases(memory);
	AdoptLeases(memory);
	LWLockRelease(AddinShmemInitLock);
}

} // namespace

void
InstallSharedMemoryHooks()
{
	previous_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = RequestSharedMemory;
	previous_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = StartSharedMemory;
}

namespace {

/*
 * PostgreSQL 15 re-sorts its whole array of settings for every setting an
 * extension defines, some 7,000 name comparisons for a name that sorts as
 * early as ours: 0.1 ms of every new connection's first call.  There the
 * shared state needs preloading, so in a library loaded later its settings
 * could never take effect; they are defined only to take over a value the
 * configuration or a SET gave them (replacing a placeholder costs no sort),
 * so that nothing warns about them.
 */
bool
WorthDefining(const char *name)
{
#if PG_VERSION_NUM < 160000
	return process_shared_preload_libraries_in_progress ||
		GetConfigOption(name, true, false) != NULL;
#else
	return true;
#endif
}

} // namespace

/*
 * The sizes are fixed when the state is made: at server start when
 * preloaded (PGC_POSTMASTER), otherwise when a backend first makes the DSM
 * segment.  A library loaded after startup cannot define a PGC_POSTMASTER
 * setting, so there they are PGC_SIGHUP, read from the configuration file,
 * and a change takes effect at the next restart either way.
 */
void
DefineDirectorySettings()
{
	GucContext	size_context = process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP;

	if (WorthDefining("advlock_named.max_names"))
		DefineCustomIntVariable("advlock_named.max_names",
								"Maximum number of names the shared name directory keeps.",
								"One entry per database, role and name; takes effect at server start.",
								&max_names,
								max_names,
								100, 1000000,
								size_context,
								0,
								NULL, NULL, NULL);

	/*
	 * Superuser-only, as pg_stat_statements.track is: the directory and the
	 * statistics are the operator's view of every session, which a session
	 * should not be able to leave on its own.
	 */
	if (WorthDefining("advlock_named.track_names"))
		DefineCustomBoolVariable("advlock_named.track_names",
								 "Publishes the names this session locks in the name directory and counts their statistics.",
								 "Off, its locks show by name only where the name was published before, and nothing is counted for them.",
								 &track_names,
								 track_names,
								 PGC_SUSET,
								 0,
								 NULL, NULL, NULL);

	if (WorthDefining("advlock_named.max_leases"))
		DefineCustomIntVariable("advlock_named.max_leases",
								"Maximum number of leases and semaphore grants held at once on the server.",
								"Takes effect at server start.",
								&max_leases,
								max_leases,
								16, 1000000,
								size_context,
								0,
								NULL, NULL, NULL);

	/* Superuser-only, so that a role cannot give itself longer leases or more of them. */
	if (WorthDefining("advlock_named.max_lease_ttl"))
		DefineCustomIntVariable("advlock_named.max_lease_ttl",
								"Longest time to live a lease may ask for.",
								NULL,
								&max_lease_ttl,
								max_lease_ttl,
								1, INT_MAX,
								PGC_SUSET,
								GUC_UNIT_MS,
								NULL, NULL, NULL);

	if (WorthDefining("advlock_named.max_leases_per_role"))
		DefineCustomIntVariable("advlock_named.max_leases_per_role",
								"Maximum number of leases and semaphore grants one role may hold at once.",
								"0 means no limit but max_leases.",
								&max_leases_per_role,
								max_leases_per_role,
								0, 1000000,
								PGC_SUSET,
								0,
								NULL, NULL, NULL);
}

#if PG_VERSION_NUM >= 170000
namespace {

/*
 * Without preloading, the DSM registry holds only this: the state of the
 * two segments, so that its size never changes with a setting (a size
 * mismatch would fail GetNamedDSMSegment), and a segment is made only when
 * it is needed.  Versioned with the layouts: a backend that loads a newer
 * library while others still run an older one (a package upgrade without a
 * restart) makes state of its own rather than read theirs.  Bump it with
 * either layout.
 */
constexpr const char kRegistryName[] = "advlock_named shared state, layout 4";

enum SegmentState : uint32
{
	kUnmade,
	kMade,
	kFailed,
};

struct Segment
{
	pg_atomic_uint32 state;		/* read without the lock; written under it */
	dsm_handle	handle;
	char		reason[256];	/* kFailed: the error that stopped it */
};

struct Registry
{
	LWLock		lock;			/* making a segment */
	int			tranche_id;
	Segment		directory;
	Segment		leases;
	bool		leases_outlived_crash;	/* the lease ledger holds leases: make the table at once */
};

Registry   *registry = nullptr;
bool		directory_given_up = false;	/* this backend saw it fail, and said so */

void
LayOutRegistry(void *memory)
{
	Registry   *fresh = static_cast<Registry *>(memory);

	fresh->tranche_id = LWLockNewTrancheId();
	LWLockInitialize(&fresh->lock, fresh->tranche_id);
	for (Segment *segment : {&fresh->directory, &fresh->leases})
	{
		pg_atomic_init_u32(&segment->state, kUnmade);
		segment->handle = DSM_HANDLE_INVALID;
		segment->reason[0] = '\0';
	}
	fresh->leases_outlived_crash = LedgerHoldsLeases();
}

Registry   &
Attached()
{
	if (registry == nullptr)
	{
		bool		found;

		registry = static_cast<Registry *>(GetNamedDSMSegment(kRegistryName, sizeof(Registry),
															  LayOutRegistry, &found));
		LWLockRegisterTranche(registry->tranche_id, kTrancheName);
	}
	return *registry;
}

/*
 * The segment's state, read without the lock; what its maker wrote before
 * it (the handle, the reason) is then visible too.
 */
uint32
StateOf(const Segment &segment)
{
	uint32		state = pg_atomic_read_u32(const_cast<pg_atomic_uint32 *>(&segment.state));

	pg_read_barrier();
	return state;
}

/* Maps a made segment into this backend for the rest of its life. */
void *
MapSegment(const Segment &segment)
{
	dsm_segment *mapped = dsm_find_mapping(segment.handle);

	if (mapped == NULL)
	{
		mapped = dsm_attach(segment.handle);
		if (mapped == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not attach to the advlock_named shared state")));
		dsm_pin_mapping(mapped);
	}
	return dsm_segment_address(mapped);
}

/*
 * Makes segment with bytes and lay_out, pinned for the server's life, under
 * the registry's lock; a failure is recorded with its reason before the
 * error goes on, so that no backend tries again.
 */
void
MakeSegment(Segment &segment, Size bytes, void (*lay_out)(void *))
{
	PG_TRY();
	{
		dsm_segment *made = dsm_create(bytes, DSM_CREATE_NULL_IF_MAXSEGMENTS);

		if (made == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("too many dynamic shared memory segments")));
		lay_out(dsm_segment_address(made));
		dsm_pin_segment(made);
		dsm_pin_mapping(made);
		segment.handle = dsm_segment_handle(made);
		/* readers of the state without the lock must find the handle written */
		pg_write_barrier();
		pg_atomic_write_u32(&segment.state, kMade);
	}
	PG_CATCH();
	{
		MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
		ErrorData  *error = CopyErrorData();

		MemoryContextSwitchTo(caller);
		snprintf(segment.reason, sizeof(segment.reason), "%s", error->message);
		FreeErrorData(error);
		pg_write_barrier();
		pg_atomic_write_u32(&segment.state, kFailed);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* The segment's memory, made first if it is unmade; nullptr if it failed. */
void *
MadeSegment(Segment &segment, Size (*bytes)(), void (*lay_out)(void *))
{
	if (StateOf(segment) == kUnmade)
	{
		LWLockAcquire(&registry->lock, LW_EXCLUSIVE);
		if (StateOf(segment) == kUnmade)
			MakeSegment(segment, bytes(), lay_out);
		LWLockRelease(&registry->lock);
	}
	if (StateOf(segment) != kMade)
		return nullptr;
	return MapSegment(segment);
}

/* Attaches the directory, making it if need be; an ERROR says why not. */
void
AttachDirectoryOrFail()
{
	void	   *memory = MadeSegment(Attached().directory, DirectoryBytes, LayOutDirectory);

	if (memory != nullptr)
		AdoptDirectory(memory);
}

/* Logs, once per backend, that the lock path goes on without the directory. */
void
LogNoDirectory(const char *reason)
{
	directory_given_up = true;
	ereport(LOG,
			(errmsg("advlock_named: named locks go on without the name directory"),
			 errdetail("It could not be created: %s", reason)));
}

/*
 * The lock path's way to the directory.  Made, it is attached like any
 * segment.  Unmade, it is made in a subtransaction that absorbs an error
 * (not in a parallel operation, where no subtransaction can start: a later
 * call tries), so that the lock call goes on without it.
 */
void
TryDirectory()
{
	Segment    &segment = Attached().directory;
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;

	switch (StateOf(segment))
	{
		case kMade:
			AdoptDirectory(MapSegment(segment));
			return;
		case kFailed:
			LogNoDirectory(segment.reason);
			return;
		default:
			break;
	}
	if (IsInParallelMode())
		return;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_context);
	PG_TRY();
	{
		AttachDirectoryOrFail();
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *error = RollBackOwnSubtransaction(caller_context);

		/* made by another, but not to be had here: this backend goes on without */
		if (StateOf(segment) != kFailed)
			LogNoDirectory(error->message);
		FreeErrorData(error);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller_context);
	CurrentResourceOwner = caller_owner;
	if (directory == nullptr && StateOf(segment) == kFailed)
		LogNoDirectory(segment.reason);
}

} // namespace
#endif

DirectoryPart *
Directory()
{
#if PG_VERSION_NUM >= 170000
	/* not in the postmaster nor a single-user backend */
	if (directory == nullptr && IsUnderPostmaster && !directory_given_up)
		TryDirectory();
#endif
	return directory;
}

DirectoryPart *
AttachedDirectory()
{
	return directory;
}

DirectoryPart *
RequireDirectory()
{
#if PG_VERSION_NUM >= 170000
	if (directory == nullptr && IsUnderPostmaster)
	{
		AttachDirectoryOrFail();
		if (directory == nullptr)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the advlock_named name directory could not be created"),
					 errdetail("%s", registry->directory.reason),
					 errhint("Lower advlock_named.max_names or make room for dynamic shared memory, then restart the server; named locks work meanwhile.")));
	}
#endif
	if (directory == nullptr)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("advlock_named must be loaded via \"shared_preload_libraries\" for the name directory"),
				 errhint("Add advlock_named to shared_preload_libraries and restart the server; on PostgreSQL 17 and later the directory needs no preloading.")));
	return directory;
}

LeaseState *adopted_leases = nullptr;

LeaseState *
AdoptLeasesIfMade()
{
#if PG_VERSION_NUM >= 170000
	if (adopted_leases == nullptr && IsUnderPostmaster)
	{
		uint32		state = StateOf(Attached().leases);

		if (state == kMade)
			AdoptLeases(MapSegment(registry->leases));
		/* a lock must not be granted past a lease that outlived a crash and is not back yet */
		else if (state == kUnmade && registry->leases_outlived_crash)
			(void) RequireLeases();
	}
#endif
	return adopted_leases;
}

#if PG_VERSION_NUM >= 170000
LeaseState *
AdoptLeasesIfMadeOrGiveBack(const LOCKTAG *granted, LOCKMODE mode, bool session)
{
	if (adopted_leases != nullptr || !IsUnderPostmaster)
		return adopted_leases;
	/* the common case, no table to adopt, is told apart without setting up a catch */
	if (registry != nullptr)
	{
		uint32		state = StateOf(registry->leases);

		if (state != kMade && !(state == kUnmade && registry->leases_outlived_crash))
			return nullptr;
	}
	PG_TRY();
	{
		(void) AdoptLeasesIfMade();
	}
	PG_CATCH();
	{
		/* a transaction lock goes with the rollback */
		if (session)
			(void) LockRelease(granted, mode, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return adopted_leases;
}
#endif

LeaseState *
RequireLeases()
{
#if PG_VERSION_NUM >= 170000
	if (adopted_leases == nullptr && IsUnderPostmaster)
	{
		void	   *memory = MadeSegment(Attached().leases, LeaseBytes, LayOutLeases);

		if (memory == nullptr)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the advlock_named lease table could not be created"),
					 errdetail("%s", registry->leases.reason),
					 errhint("Lower advlock_named.max_leases or make room for dynamic shared memory, then restart the server.")));
		AdoptLeases(memory);
	}
#endif
	if (adopted_leases == nullptr)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("advlock_named must be loaded via \"shared_preload_libraries\" for leases and semaphores"),
				 errhint("Add advlock_named to shared_preload_libraries and restart the server; on PostgreSQL 17 and later they need no preloading.")));
	return adopted_leases;
}

DirectoryPart &
PartOf(DirectoryPart *parts_of, Oid database, int64 key)
{
	/* the key is already a hash: its two halves folded, the database mixed in */
	uint64		h = (uint64) key ^ ((uint64) database * UINT64CONST(0x9e3779b97f4a7c15));

	static_assert((kDirectoryParts & (kDirectoryParts - 1)) == 0, "a power of two");
	return parts_of[(h >> 32 ^ h) % kDirectoryParts];
}

} // namespace advlock_named
