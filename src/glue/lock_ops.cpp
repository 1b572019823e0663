/*-------------------------------------------------------------------------
 *
 * lock_ops.cpp
 *	  Named lock operations on top of LockAcquire and LockRelease.
 *
 * The lock manager is the record of what is held, by which resource owner,
 * for how long: portals, subtransactions, cursors and the integer builtins
 * all change it in ways an extension cannot follow.  So nothing here keeps
 * hold counts of its own except one that the lock manager cannot keep: how
 * many session holds were taken by name, which is only ever read clamped to
 * what the lock manager says.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "storage/lock.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
}

#include <algorithm>

#include "backend_names.hpp"
#include "lease_ops.hpp"
#include "lock_ops.hpp"
#include "lock_wait.hpp"
#include "name_directory.hpp"
#include "pg_compat.hpp"
#include "settings.hpp"
#include "statement_holds.hpp"
#include "wait_timeout.hpp"

namespace advlock_named {
namespace {

LOCKMODE
LockManagerMode(int mode_index)
{
	return ToLockManagerMode(static_cast<LockMode>(mode_index));
}

bool
HeldByMe(const NameEntry &entry, void *context)
{
	return KeyHeldByMe(entry.key);
}

void
PruneNames()
{
	Names().Prune(HeldByMe, NULL);
}

/*
 * Once a top-level transaction has released its locks, only session holds
 * remain, and named_locks() shows only those taken by name: a name without
 * one goes without asking the lock manager (about 150 ns a name).
 */
bool
HeldBySessionByName(const NameEntry &entry, void *context)
{
	return entry.HasNamedSessionHolds() && HeldByMe(entry, context);
}

/*
 * The holds this backend has of (tag, mode), split by scope, as the lock
 * manager counts them.  Its per-owner counts live in the backend's
 * LOCALLOCK, which is reachable only through LockAcquireExtended: once
 * LockHeldByMe is true, one more session acquisition is purely local (it
 * bumps a counter and hands us the entry), and releasing it is local too.
 */
struct HoldCounts
{
	int64		session;
	int64		xact;
};

HoldCounts
CountHolds(const LOCKTAG *tag, LOCKMODE mode)
{
	HoldCounts	counts = {0, 0};
	LOCALLOCK  *locallock = NULL;

	if (!AnlLockHeldByMe(tag, mode))
		return counts;

	(void) AnlLockAcquireExtended(tag, mode, true, true, &locallock);
	for (int i = 0; i < locallock->numLockOwners; i++)
	{
		if (locallock->lockOwners[i].owner == NULL)
			counts.session += locallock->lockOwners[i].nLocks;
		else
			counts.xact += locallock->lockOwners[i].nLocks;
	}
	(void) LockRelease(tag, mode, true);
	counts.session--;			/* less our own probe */
	return counts;
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

/* The table does not fit a name that the cap has no room for. */
void
ReportSessionLimit()
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("too many named locks held by this session"),
			 errdetail_plural("The session holds %zu named lock, the limit set by advlock_named.max_locks_per_session.",
							  "The session holds %zu named locks, the limit set by advlock_named.max_locks_per_session.",
							  Names().Count(), Names().Count()),
			 errhint("Release named locks that are no longer needed, or raise advlock_named.max_locks_per_session.")));
}

NameEntry  *
InsertName(const LockTarget &target)
{
	int			stored_length = target.name_length;
	NameEntry  *entry;

	if ((size_t) stored_length > NameTable::kStoredNameBytes)
		stored_length = pg_mbcliplen(target.name, target.name_length, NameTable::kStoredNameBytes);
	entry = Names().Insert(target.key, std::string_view(target.name, stored_length),
						   stored_length == target.name_length);
	if (entry == nullptr)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed to remember the name of a named lock.")));
	return entry;
}

/* Whether the entry target's name was found at is still there: no prune has freed it since. */
inline bool
FoundEntryIsCurrent(const LockTarget &target, const NameTable &names)
{
	return target.entry != nullptr && target.entry_prunes == names.PruneCount();
}

/* Whether a table of count entries is within advlock_named.max_locks_per_session. */
inline bool
WithinCap(size_t count)
{
	return max_locks_per_session == 0 || count <= (size_t) max_locks_per_session;
}

/* The name's entry if it has one: the one its target found, unless a prune has freed it since. */
NameEntry  *
KnownEntry(const LockTarget &target)
{
	NameTable  &names = Names();

	if (FoundEntryIsCurrent(target, names))
		return target.entry;
	return names.Find(target.key);
}

/*
 * The table entry for a lock about to be requested, made before the request
 * so that nothing can fail after the grant.  Every key held by name has an
 * entry, and only entries of keys no longer held are pruned, so the table
 * size bounds the named keys held: the cap on distinct keys
 * (advlock_named.max_locks_per_session) is checked against it, pruning
 * first when it is reached.
 */
pg_noinline NameEntry *
FindOrMakeEntry(const LockTarget &target)
{
	NameTable  &names = Names();
	NameEntry  *entry = KnownEntry(target);

	if (entry != nullptr && WithinCap(names.Count()))
		return entry;
	/* a new entry must leave the table within the cap */
	if (entry == nullptr && !names.WantsPrune() && WithinCap(names.Count() + 1))
		return InsertName(target);

	PruneNames();
	entry = names.Find(target.key);
	if (entry != nullptr)
		return entry;			/* still held: a re-entrant hold is not a new lock */
	if (!WithinCap(names.Count() + 1))
		ReportSessionLimit();
	return InsertName(target);
}

/*
 * FindOrMakeEntry, with its common case apart so that a lock request pays no
 * call for it: the name found its entry, still current, below the cap.
 */
inline NameEntry *
EntryFor(const LockTarget &target)
{
	NameTable  &names = Names();

	if (FoundEntryIsCurrent(target, names) && WithinCap(names.Count()))
		return target.entry;
	return FindOrMakeEntry(target);
}

/*
 * Takes one lock in the lock manager and counts the outcome in the name
 * directory's statistics, in the record NoteNameUsed gave.  A free lock
 * never pays for the wait's error handling or the timed wait's
 * subtransaction.
 */
pg_attribute_always_inline bool
TakeLock(const LOCKTAG *tag, LOCKMODE lockmode, bool session, int timeout_ms, LocalName *use)
{
	if (LockAcquire(tag, lockmode, session, true) != LOCKACQUIRE_NOT_AVAIL)
	{
		CountAcquired(use);
		return true;
	}
	if (timeout_ms == 0)
	{
		CountTryFailed(use);
		return false;
	}
	return WaitForLockCounted(tag, lockmode, session, timeout_ms, use);
}

/*
 * After the lock manager granted a lock on a name that a lease may hold:
 * whether leases let it stand, waiting for conflicting ones within the
 * timeout.  If not, or if the wait fails, the lock just granted goes back.
 */
pg_noinline bool
LeasesLetStand(const LockTarget &target, LockMode mode, bool session, int timeout_ms, TimestampTz start,
			   LocalName *use)
{
	volatile bool allowed = false;
	int64		waited_us = 0;

	PG_TRY();
	{
		allowed = WaitOutLeases(target, mode, timeout_ms, start, &waited_us);
	}
	PG_CATCH();
	{
		/* a transaction lock goes with the rollback */
		if (session)
			(void) LockRelease(&target.tag, ToLockManagerMode(mode), true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	CountLeaseWait(use, waited_us, allowed);
	if (!allowed)
	{
		(void) LockRelease(&target.tag, ToLockManagerMode(mode), session);
		CountRefusedByLease(use, timeout_ms != 0);
	}
	return allowed;
}

void
CountNamedSessionHold(NameEntry &entry, LockMode mode, int64 delta)
{
	Names().SetNamedSessionHolds(entry, mode, entry.named_session_holds[static_cast<int>(mode)] + delta);
}

/*
 * LockRelease warns "you don't own a lock of type ..." when there is no
 * such hold.  For the unlock functions that is an expected answer (false),
 * so the release runs with the message levels raised past WARNING: the
 * warning is then never formatted, logged or sent, whatever other
 * extensions hook.  LockRelease raises nothing else that is not a PANIC-
 * grade corruption report; should an ERROR ever escape anyway, the
 * resource-release callback restores the levels.
 */
int			saved_client_min_messages = -1;
int			saved_log_min_messages = -1;

void
RestoreMessageLevels()
{
	if (saved_client_min_messages < 0)
		return;
	client_min_messages = saved_client_min_messages;
	log_min_messages = saved_log_min_messages;
	saved_client_min_messages = saved_log_min_messages = -1;
}

bool
ReleaseSessionHoldQuietly(const LOCKTAG *tag, LOCKMODE mode)
{
	bool		released;

	saved_client_min_messages = client_min_messages;
	saved_log_min_messages = log_min_messages;
	client_min_messages = Max(client_min_messages, ERROR);
	log_min_messages = Max(log_min_messages, ERROR);
	released = LockRelease(tag, mode, true);
	RestoreMessageLevels();
	return released;
}

/* Undoes TakeLock for one lock of a set. */
void
GiveBack(const LockTarget &target, LockMode mode, bool session)
{
	(void) LockRelease(&target.tag, ToLockManagerMode(mode), session);
	if (session)
	{
		NameEntry  *entry = KnownEntry(target);

		CountNamedSessionHold(*entry, mode, -1);
		ForgetStatementHold(Names(), *entry, mode);
	}
}

/*
 * What is left of a timeout that started at start, rounded up to whole
 * milliseconds as the timeout itself was, and never less than one: a name
 * found taken when the time is all but spent waits that long and gives up
 * as a timeout, as a single name would, rather than become a try.
 */
int
RemainingTimeout(int timeout_ms, TimestampTz start)
{
	if (timeout_ms <= 0)
		return timeout_ms;
	return (int) Max(WholeMilliseconds((double) timeout_ms * 1000 - (GetCurrentTimestamp() - start)), 1);
}

/*
 * After the top transaction's locks are gone, drops the names that only it
 * used once they outnumber the names held by session twice over, so idle
 * memory stays proportional to what is held; the cost of a prune is then
 * at most one visit per name dropped.  Never raises an ERROR.
 */
void
OnResourceRelease(ResourceReleasePhase phase, bool is_commit, bool is_top_level, void *arg)
{
	if (phase != RESOURCE_RELEASE_AFTER_LOCKS)
		return;
	RestoreMessageLevels();
	NameTable  *names = NamesIfMade();

	if (!is_top_level || names == nullptr)
		return;
	if (names->Count() > std::max(NameTable::kMinPruneSize, 2 * names->NamedSessionCount()))
		names->Prune(HeldBySessionByName, NULL);
}

bool
NameLess(const HoldRow &a, const HoldRow &b)
{
	std::string_view a_name = a.entry->Name();
	std::string_view b_name = b.entry->Name();

	if (a_name != b_name)
		return a_name < b_name;
	return a.mode < b.mode;
}

void
CollectEntry(NameEntry &entry, void *context)
{
	auto	  **cursor = static_cast<NameEntry ***>(context);

	*(*cursor)++ = &entry;
}

/* A palloc'd array of the table's entries; valid until the next prune. */
NameEntry **
SnapshotEntries(size_t *count)
{
	NameTable  &names = Names();
	NameEntry **entries = static_cast<NameEntry **>(palloc((names.Count() + 1) * sizeof(NameEntry *)));
	NameEntry **cursor = entries;

	names.ForEach(CollectEntry, &cursor);
	*count = names.Count();
	return entries;
}

/* Releases up to holds session holds of (entry, mode) taken by name, quietly. */
void
GiveBackSessionHolds(NameEntry &entry, LockMode mode, int64 holds, void *names)
{
	LOCKTAG		tag = AdvisoryTag(entry.key);
	int64		released = 0;

	/* released behind our back already (pg_advisory_unlock_all), it stays released */
	while (released < holds && ReleaseSessionHoldQuietly(&tag, ToLockManagerMode(mode)))
		released++;
	static_cast<NameTable *>(names)->SetNamedSessionHolds(entry, mode,
														  entry.named_session_holds[static_cast<int>(mode)] - released);
}

} // namespace

bool
KeyHeldByMe(int64 key)
{
	LOCKTAG		tag = AdvisoryTag(key);

	return AnlLockHeldByMe(&tag, ShareLock) || AnlLockHeldByMe(&tag, ExclusiveLock);
}

void
RegisterLockCallbacks()
{
	RegisterResourceReleaseCallback(OnResourceRelease, NULL);
}

bool
AcquireNamedLock(const LockTarget &target, LockMode mode, Scope scope, int timeout_ms)
{
	bool		session = scope == Scope::kSession;
	NameEntry  *entry;
	LocalName  *use;
	TimestampTz start;

	PreventUseInParallelWorker();
	entry = EntryFor(target);
	use = NoteNameUsed(target, *entry);
	start = timeout_ms > 0 ? GetCurrentTimestamp() : 0;
	if (!TakeLock(&target.tag, ToLockManagerMode(mode), session, timeout_ms, use))
		return false;
	if (unlikely(LeasesMayConflict(target, ToLockManagerMode(mode), session)) &&
		!LeasesLetStand(target, mode, session, timeout_ms, start, use))
		return false;
	if (session)
	{
		CountNamedSessionHold(*entry, mode, 1);
		NoteStatementHold(Names(), *entry, mode);
	}
	return true;
}

bool
AcquireNamedLocks(const LockTarget *targets, int count, LockMode mode, Scope scope, int timeout_ms)
{
	/* read in PG_CATCH, hence volatile */
	volatile bool session = scope == Scope::kSession;
	volatile int taken = 0;
	TimestampTz start = timeout_ms > 0 ? GetCurrentTimestamp() : 0;
	bool		complete = true;

	PreventUseInParallelWorker();

	PG_TRY();
	{
		for (; taken < count; taken++)
		{
			NameEntry  *entry = EntryFor(targets[taken]);
			LocalName  *use = NoteNameUsed(targets[taken], *entry);
			int			left = RemainingTimeout(timeout_ms, start);
			TimestampTz name_start = left > 0 ? GetCurrentTimestamp() : 0;

			if (!TakeLock(&targets[taken].tag, ToLockManagerMode(mode), session, left, use) ||
				(unlikely(LeasesMayConflict(targets[taken], ToLockManagerMode(mode), session)) &&
				 !LeasesLetStand(targets[taken], mode, session, left, name_start, use)))
			{
				complete = false;
				break;
			}
			if (session)
			{
				CountNamedSessionHold(*entry, mode, 1);
				NoteStatementHold(Names(), *entry, mode);
			}
		}
	}
	PG_CATCH();
	{
		/* Transaction locks go with the rollback; session locks would stay. */
		if (session)
			for (int i = 0; i < taken; i++)
				GiveBack(targets[i], mode, true);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (!complete)
		for (int i = 0; i < taken; i++)
			GiveBack(targets[i], mode, session);
	return complete;
}

bool
ReleaseNamedSessionLock(const LockTarget &target, LockMode mode)
{
	bool		released;
	NameEntry  *entry;

	PreventUseInParallelWorker();

	/* One release of a session-level hold, as pg_advisory_unlock does. */
	released = ReleaseSessionHoldQuietly(&target.tag, ToLockManagerMode(mode));

	/* None left at all means none taken by name either. */
	entry = KnownEntry(target);
	if (entry != nullptr)
	{
		if (released)
		{
			CountNamedSessionHold(*entry, mode, -1);
			ForgetStatementHold(Names(), *entry, mode);
		}
		else
			Names().SetNamedSessionHolds(*entry, mode, 0);
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

int64
ReleaseAllNamedSessionLocks()
{
	size_t		count;
	NameEntry **entries;
	int64		released = 0;

	PreventUseInParallelWorker();
	ForgetStatementHolds();
	entries = SnapshotEntries(&count);
	for (size_t i = 0; i < count; i++)
	{
		LOCKTAG		tag = AdvisoryTag(entries[i]->key);

		for (int m = 0; m < kModeCount; m++)
		{
			int64		holds;

			if (entries[i]->named_session_holds[m] == 0)
				continue;		/* nothing taken by name: no need to ask */
			/* holds released behind our back are not ours to release again */
			holds = std::min<int64>(entries[i]->named_session_holds[m],
									CountHolds(&tag, LockManagerMode(m)).session);

			for (int64 n = 0; n < holds; n++)
				(void) LockRelease(&tag, LockManagerMode(m), true);
			released += holds;
			Names().SetNamedSessionHolds(*entries[i], static_cast<LockMode>(m), 0);
		}
	}
	pfree(entries);
	return released;
}

void
GiveBackStatementHolds()
{
	NameTable  *names = NamesIfMade();

	if (names == nullptr)
		return;
	names->ForEachStatementHold(GiveBackSessionHolds, names);
	names->EndStatement();
}

HoldRow *
CurrentHolds(size_t *count)
{
	size_t		entry_count;
	NameEntry **entries = SnapshotEntries(&entry_count);
	HoldRow    *rows = static_cast<HoldRow *>(palloc((entry_count * kModeCount + 1) * sizeof(HoldRow)));
	size_t		n = 0;

	for (size_t i = 0; i < entry_count; i++)
	{
		LOCKTAG		tag = AdvisoryTag(entries[i]->key);

		for (int m = 0; m < kModeCount; m++)
		{
			HoldCounts	held = CountHolds(&tag, LockManagerMode(m));
			int64		named = std::min(entries[i]->named_session_holds[m], held.session);

			/* what was released behind our back stays forgotten */
			Names().SetNamedSessionHolds(*entries[i], static_cast<LockMode>(m), named);
			if (named > 0 || held.xact > 0)
				rows[n++] = HoldRow{entries[i], static_cast<LockMode>(m), named, held.xact};
		}
	}
	pfree(entries);
	std::sort(rows, rows + n, NameLess);
	*count = n;
	return rows;
}

const NameEntry *const *
KnownNames(size_t *count)
{
	return SnapshotEntries(count);
}

} // namespace advlock_named
