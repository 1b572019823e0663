/*-------------------------------------------------------------------------
 *
 * lock_ops.cpp
 *	  Named lock operations on top of LockAcquire and LockRelease.
 *
 * Glue layer.  Only plain data is alive while server functions run here;
 * registry methods never throw, and the only one that allocates (Prepare)
 * runs before the lock is requested, so a granted lock is always recorded.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "fmgr.h"
#include "storage/lock.h"
#include "utils/timestamp.h"
}

#include "lock_ops.hpp"
#include "name_directory.hpp"
#include "pg_compat.hpp"
#include "settings.hpp"
#include "lock_wait.hpp"

namespace advlock_named {
namespace {

HoldRegistry registry;

/*
 * How many session-level holds of (tag, mode) the lock manager says this
 * backend has.
 *
 * Its per-owner counts live in the backend's LOCALLOCK, which is reachable
 * only through LockAcquireExtended.  Once LockHeldByMe is true, one more
 * session acquisition is purely local (it bumps a counter and hands us the
 * entry), and releasing it again is local too.
 */
int64
CountSessionHolds(const LOCKTAG *tag, LOCKMODE mode)
{
	int64		holds = 0;
	LOCALLOCK  *locallock = NULL;

	if (!AnlLockHeldByMe(tag, mode))
		return 0;

	(void) AnlLockAcquireExtended(tag, mode, true, false, &locallock);
	for (int i = 0; i < locallock->numLockOwners; i++)
		if (locallock->lockOwners[i].owner == NULL)
			holds += locallock->lockOwners[i].nLocks;
	(void) LockRelease(tag, mode, true);
	return holds - 1;			/* less our own probe */
}

/* Set only around our own LockRelease calls; see QuietLockReleaseWarning. */
bool		quiet_lock_release = false;
emit_log_hook_type previous_emit_log_hook = NULL;

/*
 * LockRelease warns "you don't own a lock of type ..." when there is no
 * hold to release.  For the named unlock functions that is an expected
 * answer (false), so the warning is dropped, and only that one.
 */
void
QuietLockReleaseWarning(ErrorData *edata)
{
	if (quiet_lock_release && edata->elevel == WARNING && edata->message_id != NULL &&
		strcmp(edata->message_id, "you don't own a lock of type %s") == 0)
	{
		edata->output_to_server = false;
		edata->output_to_client = false;
	}
	if (previous_emit_log_hook != NULL)
		previous_emit_log_hook(edata);
}

/*
 * A lock taken in a parallel worker would belong to the worker and vanish
 * when it exits; the builtins silently allow that, we refuse.
 */
void
PreventUseInParallelWorker()
{
	if (IsParallelWorker())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot use named locks in a parallel worker"),
				 errhint("Mark functions that call named lock functions PARALLEL RESTRICTED or PARALLEL UNSAFE.")));
}

HoldRegistry::Entry *
PrepareEntry(const LockTarget &target, LockMode mode, bool session)
{
	HoldRegistry::Entry *entry = registry.Prepare(target.key, mode,
												  std::string_view(target.name, target.name_length),
												  session ? kNoSubXact : GetCurrentSubTransactionId());

	if (entry == nullptr)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	return entry;
}

bool
WithinSessionLimit(const HoldRegistry::Entry &entry)
{
	return max_locks_per_session == 0 || HoldRegistry::IsHeld(entry) ||
		registry.HeldCount() < static_cast<size_t>(max_locks_per_session);
}

/* Refuses a new distinct lock beyond advlock_named.max_locks_per_session. */
void
EnforceSessionLimit(const HoldRegistry::Entry &entry)
{
	if (WithinSessionLimit(entry))
		return;

	/* pg_advisory_unlock_all() or DISCARD ALL may have made room */
	ReconcileSessionHolds();
	if (WithinSessionLimit(entry))
		return;

	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("too many named locks held by this session"),
			 errdetail_plural("The session holds %zu named lock, the limit set by advlock_named.max_locks_per_session.",
							  "The session holds %zu named locks, the limit set by advlock_named.max_locks_per_session.",
							  registry.HeldCount(), registry.HeldCount()),
			 errhint("Release named locks that are no longer needed, or raise advlock_named.max_locks_per_session.")));
}

/*
 * Takes one lock in the lock manager.  A free lock never pays for the wait's
 * error handling or the timed wait's subtransaction.
 */
bool
TakeLock(const LOCKTAG *tag, LOCKMODE lockmode, bool session, int timeout_ms)
{
	if (LockAcquire(tag, lockmode, session, true) != LOCKACQUIRE_NOT_AVAIL)
	{
		CountAcquired(tag);		/* name directory statistics */
		return true;
	}
	if (timeout_ms == 0)
	{
		CountTryFailed(tag);	/* name directory statistics */
		return false;
	}
	return WaitForLockCounted(tag, lockmode, session, timeout_ms);	/* WaitForLock, counted */
}

void
RecordHold(HoldRegistry::Entry &entry, bool session)
{
	if (session)
		registry.AddSessionHold(entry);
	else
		registry.AddXactHold(entry, GetCurrentSubTransactionId());
}

/* Undoes TakeLock and RecordHold for one lock of a set. */
void
GiveBack(const LockTarget &target, HoldRegistry::Entry &entry, LOCKMODE lockmode, bool session)
{
	(void) LockRelease(&target.tag, lockmode, session);
	if (session)
		registry.DropSessionHolds(entry, 1);
	else
		registry.DropXactHold(entry, GetCurrentSubTransactionId());
}

/* What is left of a timeout that started at start, in the same units. */
int
RemainingTimeout(int timeout_ms, TimestampTz start)
{
	long		elapsed_ms;

	if (timeout_ms <= 0)
		return timeout_ms;
	elapsed_ms = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
	return elapsed_ms >= timeout_ms ? 0 : timeout_ms - (int) elapsed_ms;
}

} // namespace

HoldRegistry &
Registry()
{
	return registry;
}

void
EndTransaction()
{
	registry.EndTransaction();
	/* in case an ERROR ever escaped LockRelease while the flag was set */
	quiet_lock_release = false;
}

void
InstallLockReleaseHook()
{
	previous_emit_log_hook = emit_log_hook;
	emit_log_hook = QuietLockReleaseWarning;
}

bool
AcquireNamedLock(const LockTarget &target, LockMode mode, Scope scope, int timeout_ms)
{
	HoldRegistry::Entry *entry;
	bool		session = scope == Scope::kSession;

	PreventUseInParallelWorker();
	NoteNameUsed(target);		/* name directory: publish once per backend */
	entry = PrepareEntry(target, mode, session);
	EnforceSessionLimit(*entry);

	if (!TakeLock(&target.tag, ToLockManagerMode(mode), session, timeout_ms))
		return false;
	RecordHold(*entry, session);
	return true;
}

bool
AcquireNamedLocks(const LockTarget *targets, int count, LockMode mode, Scope scope, int timeout_ms)
{
	/* read in PG_CATCH, hence volatile */
	volatile LOCKMODE lockmode = ToLockManagerMode(mode);
	volatile bool session = scope == Scope::kSession;
	TimestampTz start = timeout_ms > 0 ? GetCurrentTimestamp() : 0;
	HoldRegistry::Entry **entries;
	volatile int taken = 0;
	volatile bool complete = true;

	PreventUseInParallelWorker();

	/* all allocation happens before the first lock */
	entries = static_cast<HoldRegistry::Entry **>(palloc(count * sizeof(HoldRegistry::Entry *)));
	for (int i = 0; i < count; i++)
	{
		NoteNameUsed(targets[i]);	/* name directory: publish once per backend */
		entries[i] = PrepareEntry(targets[i], mode, session);
	}

	PG_TRY();
	{
		for (; taken < count; taken++)
		{
			EnforceSessionLimit(*entries[taken]);
			if (!TakeLock(&targets[taken].tag, lockmode, session, RemainingTimeout(timeout_ms, start)))
			{
				complete = false;
				break;
			}
			RecordHold(*entries[taken], session);
		}
	}
	PG_CATCH();
	{
		/* Transaction locks go with the abort; session locks would stay. */
		if (session)
			for (int i = 0; i < taken; i++)
				GiveBack(targets[i], *entries[i], lockmode, session);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (!complete)
		for (int i = 0; i < taken; i++)
			GiveBack(targets[i], *entries[i], lockmode, session);
	pfree(entries);
	return complete;
}

bool
ReleaseNamedSessionLock(const LockTarget &target, LockMode mode)
{
	HoldRegistry::Entry *entry;
	bool		released;

	PreventUseInParallelWorker();

	/*
	 * One release of a session-level hold, as pg_advisory_unlock does.  The
	 * lock manager knows whether there is one; when there is none it says so
	 * with a WARNING, which we silence: unlocking what is not held returns
	 * false quietly.
	 */
	quiet_lock_release = true;
	released = LockRelease(&target.tag, ToLockManagerMode(mode), true);
	quiet_lock_release = false;

	/* Our holds may also have gone behind our back (pg_advisory_unlock_all). */
	entry = registry.Find(target.key, mode);
	if (entry != nullptr)
	{
		if (released)
			registry.DropSessionHolds(*entry, 1);
		else
			registry.LimitSessionHolds(*entry, 0);
	}
	return released;
}

int
ReleaseNamedSessionLocks(const LockTarget *targets, int count, LockMode mode)
{
	int			released = 0;

	for (int i = 0; i < count; i++)
		if (ReleaseNamedSessionLock(targets[i], mode))
			released++;
	return released;
}

HoldRow *
SnapshotRegistry(size_t *count)
{
	size_t		capacity = Max(registry.EntryCount(), 1);
	HoldRow    *rows = static_cast<HoldRow *>(palloc(capacity * sizeof(HoldRow)));

	*count = registry.Snapshot(rows);
	return rows;
}

void
ReconcileSessionHolds()
{
	size_t		count;
	HoldRow    *rows;

	PreventUseInParallelWorker();
	rows = SnapshotRegistry(&count);
	for (size_t i = 0; i < count; i++)
	{
		LOCKTAG		tag;

		if (rows[i].session_holds == 0)
			continue;
		tag = AdvisoryTag(rows[i].key);
		registry.LimitSessionHolds(*registry.Find(rows[i].key, rows[i].mode),
								   CountSessionHolds(&tag, ToLockManagerMode(rows[i].mode)));
	}
	pfree(rows);
}

int64
ReleaseAllNamedSessionLocks()
{
	size_t		count;
	HoldRow    *rows;
	int64		released = 0;

	PreventUseInParallelWorker();
	rows = SnapshotRegistry(&count);
	for (size_t i = 0; i < count; i++)
	{
		LOCKTAG		tag = AdvisoryTag(rows[i].key);
		LOCKMODE	lockmode = ToLockManagerMode(rows[i].mode);

		/* stops early where holds went behind our back */
		quiet_lock_release = true;
		for (int64 n = 0; n < rows[i].session_holds && LockRelease(&tag, lockmode, true); n++)
			released++;
		quiet_lock_release = false;
		registry.DropSessionHolds(*registry.Find(rows[i].key, rows[i].mode), rows[i].session_holds);
	}
	pfree(rows);
	return released;
}

} // namespace advlock_named
