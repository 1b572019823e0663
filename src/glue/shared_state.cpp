/*-------------------------------------------------------------------------
 *
 * shared_state.cpp
 *	  Where the shared name directory lives: the main shared memory segment
 *	  when the library is preloaded (the pg_stat_statements way, on every
 *	  supported major), otherwise a DSM registry segment created on first
 *	  use (PostgreSQL 17 and later).  Both hold the same layout: a header
 *	  with the parts' LWLocks, each on a cache line of its own, then the
 *	  parts' tables (directory_table.hpp), max_names entries in all.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "fmgr.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#if PG_VERSION_NUM >= 170000
#include "storage/dsm.h"
#include "storage/dsm_registry.h"
#endif
}

#include "name_directory.hpp"

namespace advlock_named {

int			max_names = 5000;
bool		track_names = true;

namespace {

/* Both the ShmemInitStruct and the DSM registry name. */
constexpr const char kSegmentName[] = "advlock_named name directory";
constexpr const char kTrancheName[] = "advlock_named";

struct SharedHeader
{
	LWLockPadded locks[kDirectoryParts];
	int			tranche_id;
	/* max_names when the directory was made: the layout, whatever the setting says now */
	uint32		capacity;
};

constexpr Size
CacheLineAligned(Size size)
{
	return (size + 63) / 64 * 64;
}

/* The first table starts on a cache line of its own, and so does every next one. */
constexpr Size kTablesOffset = CacheLineAligned(sizeof(SharedHeader));

DirectoryPart parts[kDirectoryParts];
DirectoryPart *directory = nullptr;	/* parts, once adopted */

shmem_request_hook_type previous_shmem_request_hook = NULL;
shmem_startup_hook_type previous_shmem_startup_hook = NULL;

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
SharedBytes()
{
	Size		bytes = kTablesOffset;

	for (int part = 0; part < kDirectoryParts; part++)
		bytes = add_size(bytes, PartBytes((uint32) max_names, part));
	return bytes;
}

/* Lays out a fresh directory of max_names entries; the init callback of the DSM registry too. */
void
InitSharedState(void *memory)
{
	SharedHeader *header = static_cast<SharedHeader *>(memory);
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
Adopt(void *memory)
{
	SharedHeader *header = static_cast<SharedHeader *>(memory);
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

void
RequestSharedMemory()
{
	if (previous_shmem_request_hook != NULL)
		previous_shmem_request_hook();
	RequestAddinShmemSpace(SharedBytes());
}

void
StartSharedMemory()
{
	void	   *memory;
	bool		found;

	if (previous_shmem_startup_hook != NULL)
		previous_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	memory = ShmemInitStruct(kSegmentName, SharedBytes(), &found);
	if (!found)
		InitSharedState(memory);
	LWLockRelease(AddinShmemInitLock);
	Adopt(memory);
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
 * directory needs preloading, so in a library loaded later its settings
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
 * The size is fixed when the directory is created: at server start when
 * preloaded (PGC_POSTMASTER), otherwise when the first backend after the
 * start creates the DSM segment.  A library loaded after startup cannot
 * define a PGC_POSTMASTER setting, so there it is PGC_SIGHUP, read from the
 * configuration file, and a change takes effect at the next restart either
 * way.
 */
void
DefineDirectorySettings()
{
	if (WorthDefining("advlock_named.max_names"))
		DefineCustomIntVariable("advlock_named.max_names",
								"Maximum number of names the shared name directory keeps.",
								"One entry per database, role and name; takes effect at server start.",
								&max_names,
								max_names,
								100, 1000000,
								process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP,
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
}

#if PG_VERSION_NUM >= 170000
namespace {

/*
 * Without preloading, the DSM registry holds only the handle of the
 * directory's own segment, sized by the max_names of the backend that
 * creates it.  The registry entry's size is fixed, so a later change of
 * max_names cannot make GetNamedDSMSegment fail on a size mismatch.
 */
struct DirectoryHandle
{
	dsm_handle	handle;
};

/*
 * Versioned with the layout: a backend that loads a newer library while
 * others still run an older one (a package upgrade without a restart) makes
 * a directory of its own rather than read theirs.  Bump it with the layout.
 */
constexpr const char kRegistryName[] = "advlock_named name directory handle, layout 2";

/* The registry's init callback: creates the directory's segment, pinned for the server's life. */
void
CreateDirectorySegment(void *memory)
{
	DirectoryHandle *directory = static_cast<DirectoryHandle *>(memory);
	dsm_segment *segment;

	directory->handle = DSM_HANDLE_INVALID;
	segment = dsm_create(SharedBytes(), 0);
	InitSharedState(dsm_segment_address(segment));
	dsm_pin_segment(segment);
	dsm_pin_mapping(segment);
	directory->handle = dsm_segment_handle(segment);
}

void
AttachDirectorySegment()
{
	bool		found;
	DirectoryHandle *directory = static_cast<DirectoryHandle *>(
		GetNamedDSMSegment(kRegistryName, sizeof(DirectoryHandle), CreateDirectorySegment, &found));
	dsm_segment *segment;

	if (directory->handle == DSM_HANDLE_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the advlock_named name directory could not be created"),
				 errhint("Restart the server, or add advlock_named to shared_preload_libraries.")));
	segment = dsm_find_mapping(directory->handle);
	if (segment == NULL)
	{
		segment = dsm_attach(directory->handle);
		if (segment == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not attach to the advlock_named name directory")));
		dsm_pin_mapping(segment);
	}
	Adopt(dsm_segment_address(segment));
}

} // namespace
#endif

DirectoryPart *
Directory()
{
#if PG_VERSION_NUM >= 170000
	/* not in the postmaster nor a single-user backend */
	if (directory == nullptr && IsUnderPostmaster)
		AttachDirectorySegment();
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
	if (Directory() == nullptr)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("advlock_named must be loaded via \"shared_preload_libraries\" for the name directory"),
				 errhint("Add advlock_named to shared_preload_libraries and restart the server; on PostgreSQL 17 and later the directory needs no preloading.")));
	return directory;
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
