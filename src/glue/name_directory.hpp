/*-------------------------------------------------------------------------
 *
 * name_directory.hpp
 *	  The shared name directory and per-name lock statistics, as the lock
 *	  functions and the SQL views see them.
 *
 * Every backend that takes a named lock publishes (database, role, key) ->
 * name once into a shared table (directory_table.hpp) and counts what
 * happens to its requests in a small backend-local table (local_index.hpp),
 * which it flushes into the shared one at most about once a second, at the
 * end of a transaction that waited, timed out, failed a try or hit a
 * deadlock, right after a wait, when it reads named_lock_stats, and when it
 * exits.
 *
 * The memory is in the main shared memory segment when the library is in
 * shared_preload_libraries, and otherwise, on PostgreSQL 17 and later, in a
 * DSM registry segment created on first use.  On 15 without preloading
 * there is no directory: the lock functions work as before and the
 * functions that need it raise an ERROR.
 *
 * The hooks into the lock path are single calls (see lock_ops.cpp); all of
 * them are cheap when nothing is published yet, and none of the counting
 * ones can raise an ERROR.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "lock_target.hpp"
#include "name_table.hpp"
#include "directory_table.hpp"

namespace advlock_named {

/* advlock_named.max_names: entries of the shared directory */
extern int	max_names;
/* advlock_named.track_names: whether this session publishes names and counts */
extern bool track_names;

/* Defines the setting, installs the shared memory hooks when preloading, and the callbacks; from _PG_init. */
void		InitNameDirectory();

/* From shared_state.cpp: the setting, and the hooks of a preloaded library. */
void		DefineDirectorySettings();
void		InstallSharedMemoryHooks();

/*
 * The directory is split by (database, key) into parts, each a table under
 * a lock of its own, as the lock manager splits its own table: publishing
 * a name new to the directory takes its part's lock exclusively (and now
 * and then evicts from that part), so with one lock every backend taking
 * new names would queue behind the others.  All roles' entries of a key
 * are in one part.  Each lock is taken shared to look up and count,
 * exclusive to insert, evict and reset; no code holds two of them.
 */
constexpr int kDirectoryParts = 16;

struct DirectoryPart
{
	DirectoryTable *table;
	LWLock	   *lock;
};

/*
 * The directory's kDirectoryParts parts, attaching it first (on 17 and
 * later creating the DSM segment, which may raise an ERROR); nullptr when
 * there is none.
 */
DirectoryPart *Directory();

/* The directory if this backend has it already, else nullptr; never raises an ERROR. */
DirectoryPart *AttachedDirectory();

/* Directory(), or an ERROR saying how to get one. */
DirectoryPart *RequireDirectory();

/* The part of directory that holds the entries of (database, key). */
DirectoryPart &PartOf(DirectoryPart *directory, Oid database, int64 key);

/* This backend's record of a name it used, where the outcomes of its requests are counted. */
struct LocalName;

/*
 * Before a lock request: publishes the name of target for this backend's
 * role once, warning about a key collision.  May raise an ERROR (out of
 * memory), so it runs before the name's lock is requested.  names_entry is
 * the name's entry in the backend's name table, where the directory keeps a
 * pointer to its own record so that a name in use needs no hash lookup.
 * Returns that record, for the counts of the request, or nullptr when this
 * session counts nothing.
 */
LocalName  *NoteNameUsed(const LockTarget &target, NameEntry &names_entry);

/* After a lock request: count it in use, if not nullptr.  None of these raises an ERROR. */
void		CountAcquired(LocalName *use);
void		CountTryFailed(LocalName *use);

/*
 * A lock the lock manager granted (and CountAcquired counted) that a lease
 * then refused: no acquisition after all (if it is not flushed yet), but a
 * failed try or a timeout.
 */
void		CountRefusedByLease(LocalName *use, bool timed);

/*
 * WaitForLock (lock_wait.hpp) that also counts the wait in use: granted
 * after how long, timed out, or ended by a deadlock error (which is
 * re-raised).
 */
bool		WaitForLockCounted(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms,
							   LocalName *use);

/* What happens to a lease or semaphore grant, as named_lock_stats counts it. */
enum class LeaseEvent
{
	kGranted,					/* a lease: its lock was counted as acquired on the way */
	kPermitsGranted,
	kRenewed,
	kExpired,
	kLost,
	kTryFailed,
	kTimedOut,
};

/*
 * Counts event straight into the directory entry of (this database, role,
 * key), publishing name there first if need be: leases are rarer than
 * locks, and their events are often another role's (an expiry someone
 * else found).  waited_us: the time a grant or a give-up waited.  Nothing
 * when this session does not track names or there is no directory;
 * may_attach false (at a transaction's end) uses only a directory this
 * backend has already.  Call it holding no lock; it raises no ERROR of its
 * own.
 */
void		CountLeaseEvent(Oid role, int64 key, std::string_view name, bool truncated, uint64 fingerprint,
							LeaseEvent event, int64 waited_us = 0, bool may_attach = true);

/* A lock request that waited for leases to go, granted or not: the wait's time. */
void		CountLeaseWait(LocalName *use, int64 waited_us, bool granted);

/* Moves this backend's pending counts into the directory. */
void		FlushNameCounts();

/* Forgets this backend's pending counts (after a reset). */
void		DiscardNameCounts();

/*
 * The name of key in this database for a lock request of backend pid: the
 * one that backend's role published, else one another role published,
 * whichever the current user may see the publishing role of; NULL (isnull)
 * when the directory has none of those.
 */
Datum		DirectoryName(int64 key, int pid, bool *isnull);

/* Whether the current user may see names used by role (pg_stat_activity's rule). */
bool		MaySeeNamesOf(Oid role);

} // namespace advlock_named
