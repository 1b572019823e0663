/*-------------------------------------------------------------------------
 *
 * name_directory.cpp
 *	  Publishing names into the shared directory and counting lock
 *	  requests per name; see name_directory.hpp.
 *
 * The lock path touches only backend-local state: a table of the names
 * this backend published (per role), each with its pending counts.  Shared
 * memory is written when a name is first published by this backend, and
 * when the pending counts are flushed:
 *	- right after a wait (granted or timed out): waits are slow anyway;
 *	- at the end of a transaction that failed a try or hit a deadlock;
 *	- at a lock acquisition or transaction end at least a second after the
 *	  previous flush;
 *	- when this backend reads named_lock_stats, and when it exits.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 * Only plain data lives here; nothing called after a lock is granted can
 * raise an ERROR.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include <time.h>

#include <new>

#include "byte_words.hpp"
#include "local_index.hpp"
#include "lock_ops.hpp"
#include "lock_wait.hpp"
#include "name_directory.hpp"
#include "pg_compat.hpp"

namespace advlock_named {

struct LocalKey
{
	int64		key;
	Oid			role;
};

/*
 * One name this backend used under one role.  The first cache line holds
 * what every lock call on a published name writes, the count of plain
 * acquisitions, and a name of up to 14 bytes for the checks of a name new
 * to the name table; the rest of the name follows.  Three cache lines in all:
 * every name new to a backend writes a fresh entry, and in a backend that
 * takes many names a fresh page of them costs a page fault.
 */
struct alignas(64) LocalName
{
	LocalKey	id;
	LocalName  *next_pending;
	uint64		acquisitions;	/* pending: granted requests */
	int64		last_acquired;	/* pending: the last grant's time; 0: none */
	int			full_length;	/* of the whole name, in bytes */
	uint16		name_length;
	bool		published;		/* the directory has our entry */
	bool		has_pending;	/* on the pending list */
	bool		truncated;
	bool		has_rare;		/* its RareCounts are in use */
	char		name[kStoredNameBytes];	/* server encoding, cut at a character */
	uint64		fingerprint;
};

static_assert(offsetof(LocalName, name) + 14 <= 64, "the hot fields and a short name share a cache line");
static_assert(sizeof(LocalName) == 3 * 64, "a name takes three cache lines");

namespace {

/* The local record is cleared (after a flush) when it reaches this many names. */
constexpr uint32 kMaxLocalNames = 4096;

/*
 * What few names need, apart, in an array parallel to the entries: its
 * pages are touched only by names that waited, failed a try or collided.
 */
struct RareCounts
{
	NameCounts	other_pending;	/* pending: the rest (waits, timeouts, failed tries, deadlocks) */
	uint64		warned_fingerprint; /* the other name's, once warned; 0: none */
};

using LocalNames = LocalIndex<LocalName>;

LocalNames *local_names = NULL;
LocalName  *local_entries = NULL;	/* local_names's entries, in order */
RareCounts *local_rare = NULL;	/* local_rare[i] goes with local_entries[i] */

/*
 * The name table links a name to its entry here only while the entry is
 * published, with the generation current then.  Entries never move or go
 * singly: the whole set is cleared at once, and a flush may find a name
 * evicted from the directory and mark it unpublished.  Both bump this, so a
 * link of the current generation is to a published entry, known good
 * without a hash lookup or a look at the entry.
 */
uint32		local_names_generation = 0;
LocalName  *pending_names = NULL;	/* the entries with counts to flush, so a flush walks only those */
bool		flush_at_transaction_end = false;
TimestampTz last_flush = 0;
bool		exit_callback_registered = false;

/*
 * The record's memory is allocated once and reused after every clear:
 * made anew, it would take a page fault for every page of it again.
 */
void
CreateLocalNames()
{
	/* palloc aligns to 8 bytes; the entries start on a cache line */
	void	   *entries = (void *) TYPEALIGN(alignof(LocalName),
											 MemoryContextAlloc(TopMemoryContext,
																kMaxLocalNames * sizeof(LocalName) + alignof(LocalName)));
	void	   *slots = MemoryContextAllocZero(TopMemoryContext,
											   LocalNames::SlotCount(kMaxLocalNames) * sizeof(LocalNames::Slot));
	void	   *storage = MemoryContextAlloc(TopMemoryContext, sizeof(LocalNames));

	local_rare = static_cast<RareCounts *>(MemoryContextAlloc(TopMemoryContext,
															  kMaxLocalNames * sizeof(RareCounts)));
	local_entries = static_cast<LocalName *>(entries);
	local_names = new (storage) LocalNames(local_entries, static_cast<LocalNames::Slot *>(slots),
										   kMaxLocalNames);
	local_names_generation++;
}

/* Forgets every name (after a flush). */
void
ClearLocalNames()
{
	local_names->Clear();
	pending_names = NULL;
	local_names_generation++;
}

LocalKey
MakeLocalKey(int64 key)
{
	return LocalKey{key, GetUserId()};
}

/*
 * The time to a few milliseconds, which is all an acquisition's count needs
 * (its last_acquired, and the once-a-second flush): where the platform has
 * a coarse clock it costs a third of GetCurrentTimestamp, which every lock
 * that needs no wait would otherwise pay.
 */
TimestampTz
CoarseNow()
{
#ifdef CLOCK_REALTIME_COARSE
	struct timespec now;

	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0)
		return (TimestampTz) now.tv_sec * USECS_PER_SEC + now.tv_nsec / 1000 -
			(TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;
#endif
	return GetCurrentTimestamp();
}

/* Where the rare part of entry lives, whether in use or not. */
RareCounts &
RareSlot(const LocalName &entry)
{
	return local_rare[&entry - local_entries];
}

/* The rare part of entry, made on first use. */
RareCounts &
Rare(LocalName *entry)
{
	RareCounts &rare = RareSlot(*entry);

	if (!entry->has_rare)
	{
		new (&rare.other_pending) NameCounts();
		rare.warned_fingerprint = 0;
		entry->has_rare = true;
	}
	return rare;
}

uint64
WarnedFingerprint(const LocalName &entry)
{
	return entry.has_rare ? RareSlot(entry).warned_fingerprint : 0;
}

void
MarkPending(LocalName *entry)
{
	if (entry->has_pending)
		return;
	entry->has_pending = true;
	entry->next_pending = pending_names;
	pending_names = entry;
}

/* How much of the name the directory keeps: all of it, or a prefix cut at a character. */
int
StoredLength(const LockTarget &target)
{
	if ((size_t) target.name_length <= kStoredNameBytes)
		return target.name_length;
	return pg_mbcliplen(target.name, target.name_length, kStoredNameBytes);
}

void
InitLocalName(LocalName *entry, LocalKey id, const LockTarget &target)
{
	int			stored = StoredLength(target);

	entry->id = id;
	entry->next_pending = NULL;
	entry->acquisitions = 0;
	entry->last_acquired = 0;
	entry->published = false;
	entry->has_pending = false;
	entry->truncated = stored < target.name_length;
	entry->name_length = (uint16) stored;
	entry->full_length = target.name_length;
	entry->has_rare = false;
	entry->fingerprint = NameFingerprint(target);
	memcpy(entry->name, target.name, stored);
}

NameId
SharedId(const LocalName &entry)
{
	return NameId{MyDatabaseId, entry.id.role, entry.id.key};
}

std::string_view
StoredName(const LocalName &entry)
{
	return std::string_view(entry.name, entry.name_length);
}

/*
 * Whether some session holds or waits for the advisory lock on key in
 * database: the lock manager keeps a lock's shared record exactly as long
 * as anybody requests it, and advisory locks never take the fast path.
 */
bool
KeyInUse(uint32 database, int64 key, void *arg)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, database, (uint32) ((uint64) key >> 32), (uint32) key, 1);
	return LockWaiterCount(&tag) > 0;
}

/*
 * Our entry (exclusive lock), created if absent, evicting idle names first
 * when the directory is full; *other as DirectoryTable::Publish gives it.
 * Backends that found it full at the same moment evict once: the others
 * find the room made.  Evicting asks the lock manager about the names it
 * considers, one partition lock at a time, under the part's lock (nothing
 * takes them the other way round), and allocates nothing, so this
 * never raises an ERROR.
 */
DirectoryTable::Entry *
PublishOrEvict(DirectoryTable *table, const NameId &id, uint64 fingerprint, std::string_view name, bool truncated,
			   const DirectoryTable::Entry **other = nullptr)
{
	DirectoryTable::Entry *shared = table->Publish(id, fingerprint, name, truncated, other);

	if (shared == nullptr)
	{
		(void) table->Evict(id.role, KeyInUse, NULL);
		shared = table->Publish(id, fingerprint, name, truncated, other);
	}
	return shared;
}

DirectoryTable::Entry *
PutShared(DirectoryTable *table, const LocalName &entry, const DirectoryTable::Entry **other)
{
	return PublishOrEvict(table, SharedId(entry), entry.fingerprint, StoredName(entry), entry.truncated, other);
}

void
WarnCollision(const LocalName &entry, const char *other_name, int other_length, bool other_truncated)
{
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg("lock name shares its key with another name"),
			 errdetail("The names \"%.*s\"%s and \"%.*s\"%s both have key " INT64_FORMAT "; they are the same lock.",
					   (int) entry.name_length, entry.name, entry.truncated ? " (cut short)" : "",
					   other_length, other_name, other_truncated ? " (cut short)" : "", entry.id.key),
			 errhint("Rename one of them, for example by adding a suffix.")));
}

/*
 * Whether target is the name entry was made for.  Names longer than the
 * stored prefix compare by that prefix and their length, which only a
 * 64-bit key collision between two such names could fool.
 */
inline bool
SameName(const LocalName &entry, const LockTarget &target)
{
	return entry.full_length == target.name_length &&
		EqualBytes(entry.name, target.name, entry.name_length);
}

/* Whether target is the name names_entry has, whole. */
inline bool
SameStoredName(const NameEntry &names_entry, const LockTarget &target)
{
	return names_entry.HasName(std::string_view(target.name, target.name_length));
}

/* This backend used another name with the key of entry: once per pair, warn and count. */
void
NoteLocalCollision(DirectoryTable *table, LocalName *entry, const LockTarget &target)
{
	uint64		fingerprint = NameFingerprint(target);
	int			stored = StoredLength(target);

	if (fingerprint == entry->fingerprint || fingerprint == WarnedFingerprint(*entry))
		return;
	Rare(entry).warned_fingerprint = fingerprint;
	table->NoteCollision();
	WarnCollision(*entry, target.name, stored, stored < target.name_length);
}

/*
 * One exclusive acquisition of the part's lock and one walk of its index:
 * a backend publishes a name once, so a shared look first would only add a
 * second acquisition for every name not yet there.
 */
void
Publish(const DirectoryPart &part, LocalName *entry)
{
	const DirectoryTable::Entry *other;
	bool		collided = false;
	uint64		other_fingerprint = 0;
	char		other_name[kStoredNameBytes + 1];
	bool		other_truncated = false;

	LWLockAcquire(part.lock, LW_EXCLUSIVE);
	/* PutShared inserts and evicts: a shared lock here would let two backends rewrite one index */
	Assert(LWLockHeldByMeInMode(part.lock, LW_EXCLUSIVE));
	(void) PutShared(part.table, *entry, &other);
	if (other != nullptr && other->Fingerprint() != WarnedFingerprint(*entry))
	{
		std::string_view name = other->Name();

		collided = true;
		other_fingerprint = other->Fingerprint();
		other_truncated = other->Truncated();
		memcpy(other_name, name.data(), name.size());
		other_name[name.size()] = '\0';
	}
	LWLockRelease(part.lock);
	entry->published = true;

	if (collided)
	{
		/* once per backend and pair */
		Rare(entry).warned_fingerprint = other_fingerprint;
		part.table->NoteCollision();
		WarnCollision(*entry, other_name, (int) strlen(other_name), other_truncated);
	}
}

/* The entry's pending counts, whole. */
NameCounts
PendingCounts(const LocalName &entry)
{
	NameCounts	counts;

	if (entry.has_rare)
		counts = RareSlot(entry).other_pending;

	counts.acquisitions = entry.acquisitions;
	counts.last_acquired = entry.last_acquired;
	return counts;
}

void
ClearPending(LocalName *entry)
{
	entry->acquisitions = 0;
	entry->last_acquired = 0;
	if (entry->has_rare)
		new (&RareSlot(*entry).other_pending) NameCounts();
	entry->has_pending = false;
}

/*
 * Adds entry's pending counts to its shared record, or, without one, leaves
 * it to be published again on its next use; either way they are flushed.
 */
void
SettlePending(DirectoryTable *table, LocalName *entry, DirectoryTable::Entry *shared)
{
	if (shared != nullptr)
		table->Add(*shared, PendingCounts(*entry));
	else
	{
		/* evicted: published again at its next use, which no link may skip */
		local_names_generation++;
		entry->published = false;
	}
	ClearPending(entry);
}

/*
 * Moves pending counts into the directory; never raises an ERROR.  A name
 * evicted meanwhile that this backend holds goes back in with its counts,
 * since it is in use; the counts of any other evicted name go with it, as
 * its flushed ones did, and its next use here publishes it again.
 * (Publishing those back too, as names churn, would double the inserts and
 * evictions.)
 */
void
Flush()
{
	DirectoryPart *directory = AttachedDirectory();
	LocalName  *by_part[kDirectoryParts] = {};
	LocalName  *held_missing = NULL;
	LocalName  *next;

	if (pending_names == NULL || directory == nullptr)
		return;

	/* sorted by part, so that each part's lock is taken once */
	for (LocalName *entry = pending_names; entry != NULL; entry = next)
	{
		LocalName **list = &by_part[&PartOf(directory, MyDatabaseId, entry->id.key) - directory];

		next = entry->next_pending;
		entry->next_pending = *list;
		*list = entry;
	}
	for (int p = 0; p < kDirectoryParts; p++)
	{
		if (by_part[p] == NULL)
			continue;
		LWLockAcquire(directory[p].lock, LW_SHARED);
		for (LocalName *entry = by_part[p]; entry != NULL; entry = next)
		{
			DirectoryTable::Entry *shared = directory[p].table->Find(SharedId(*entry));

			next = entry->next_pending;
			if (shared == nullptr && KeyHeldByMe(entry->id.key))
			{
				entry->next_pending = held_missing;
				held_missing = entry;
				continue;
			}
			SettlePending(directory[p].table, entry, shared);
		}
		LWLockRelease(directory[p].lock);
	}

	for (LocalName *entry = held_missing; entry != NULL; entry = entry->next_pending)
	{
		DirectoryPart &part = PartOf(directory, MyDatabaseId, entry->id.key);

		LWLockAcquire(part.lock, LW_EXCLUSIVE);
		SettlePending(part.table, entry, PutShared(part.table, *entry, nullptr));
		LWLockRelease(part.lock);
	}
	pending_names = NULL;
	flush_at_transaction_end = false;
	last_flush = GetCurrentTimestamp();
}

void
OnTransactionEnd(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			if (pending_names != NULL &&
				(flush_at_transaction_end || GetCurrentTimestamp() - last_flush >= USECS_PER_SEC))
				Flush();
			break;
		default:
			break;
	}
}

void
OnBackendExit(int code, Datum arg)
{
	Flush();
}

void
CountWaitEnd(LocalName *entry, TimestampTz start, bool granted, bool deadlock)
{
	NameCounts *rare;
	TimestampTz now;
	int64		waited_us;

	if (entry == NULL)
		return;
	rare = &Rare(entry).other_pending;
	now = GetCurrentTimestamp();
	waited_us = Max(now - start, 0);
	rare->total_wait_us += waited_us;
	rare->max_wait_us = Max(rare->max_wait_us, waited_us);
	if (granted)
	{
		entry->acquisitions++;
		rare->waited++;
		entry->last_acquired = now;
	}
	else if (deadlock)
		rare->deadlocks++;
	else
		rare->timeouts++;
	MarkPending(entry);
	flush_at_transaction_end = true;
}

/*
 * NoteNameUsed for a name this backend has not published under this role,
 * or whose record it has not linked to the name table's entry yet.  Apart,
 * so that the common case saves and restores none of the registers this
 * needs; for the same reason it reads the directory again rather than
 * taking NoteNameUsed's as an argument (which costs a lock+unlock pair
 * without a directory 15 more instructions, by callgrind).
 */
pg_noinline LocalName *
NoteNewName(const LockTarget &target, NameEntry &names_entry)
{
	DirectoryPart *directory = AttachedDirectory();
	LocalKey	id;
	LocalName  *entry;
	bool		found;
	bool		same_name = true;	/* our record has the request's name */

	if (!exit_callback_registered)
	{
		before_shmem_exit(OnBackendExit, (Datum) 0);
		exit_callback_registered = true;
	}
	if (local_names == NULL)
		CreateLocalNames();

	id = MakeLocalKey(target.key);
	entry = local_names->Enter(id.key, id.role, &found);
	if (entry == nullptr)
	{
		/* a backend that used very many names starts its set afresh */
		Flush();
		ClearLocalNames();
		entry = local_names->Enter(id.key, id.role, &found);
	}
	if (!found)
		InitLocalName(entry, id, target);
	else if (!(same_name = SameName(*entry, target)))
		NoteLocalCollision(PartOf(directory, MyDatabaseId, id.key).table, entry, target); /* another name, the same key */
	if (!entry->published)
		Publish(PartOf(directory, MyDatabaseId, id.key), entry);

	/*
	 * Linked only when the name table's entry, our record and the request
	 * have one name, so that the check of the name table's copy in
	 * NoteNameUsed is the check of our record's; names that share a key go
	 * the long way every time, and warn as they should.
	 */
	if (entry->published && same_name && SameStoredName(names_entry, target))
	{
		names_entry.directory_entry = entry;
		names_entry.directory_generation = local_names_generation;
		names_entry.directory_role = id.role;
	}
	return entry;
}

} // namespace

void
InitNameDirectory()
{
	DefineDirectorySettings();
	if (process_shared_preload_libraries_in_progress)
		InstallSharedMemoryHooks();
	RegisterXactCallback(OnTransactionEnd, NULL);
}

LocalName  *
NoteNameUsed(const LockTarget &target, NameEntry &names_entry)
{
	/*
	 * First, so that without a directory the name table's entry is not read;
	 * a session that does not track names does not create the directory.
	 */
	if (!track_names || Directory() == nullptr)
		return nullptr;
	/*
	 * The name table's entry, which the lock call has just read, says all:
	 * no look at our own record, whose line the count after the lock writes
	 * (so it is fetched meanwhile).  A name sharing the key of another is
	 * told apart by the name table's copy, and goes the long way; the entry
	 * the request's name was found at (target.entry) has that name whole,
	 * and so has one EntryFor made from target after a prune freed it.
	 */
	if (names_entry.directory_generation == local_names_generation &&
		names_entry.directory_entry != NULL && names_entry.directory_role == GetUserId() &&
		(&names_entry == target.entry || SameStoredName(names_entry, target)))
	{
		LocalName  *use = static_cast<LocalName *>(names_entry.directory_entry);

		__builtin_prefetch(use, 1);
		return use;
	}
	return NoteNewName(target, names_entry);
}

void
CountAcquired(LocalName *use)
{
	TimestampTz now;

	if (use == NULL)
		return;
	now = CoarseNow();
	use->acquisitions++;
	use->last_acquired = now;
	MarkPending(use);
	if (now - last_flush >= USECS_PER_SEC)
		Flush();
}

void
CountTryFailed(LocalName *use)
{
	if (use == NULL)
		return;
	Rare(use).other_pending.failed_tries++;
	MarkPending(use);
	flush_at_transaction_end = true;
}

void
CountLeaseWait(LocalName *use, int64 waited_us, bool granted)
{
	NameCounts *rare;

	if (use == NULL || waited_us <= 0)
		return;
	rare = &Rare(use).other_pending;
	rare->total_wait_us += waited_us;
	rare->max_wait_us = Max(rare->max_wait_us, waited_us);
	if (granted)
		rare->waited++;
	MarkPending(use);
	flush_at_transaction_end = true;
}

void
CountRefusedByLease(LocalName *use, bool timed)
{
	if (use == NULL)
		return;
	if (use->acquisitions > 0)
		use->acquisitions--;
	if (timed)
		Rare(use).other_pending.timeouts++;
	else
		Rare(use).other_pending.failed_tries++;
	MarkPending(use);
	flush_at_transaction_end = true;
}

bool
WaitForLockCounted(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms, LocalName *use)
{
	TimestampTz start = GetCurrentTimestamp();
	volatile bool granted = false;

	PG_TRY();
	{
		granted = WaitForLock(tag, mode, session, timeout_ms);
	}
	PG_CATCH();
	{
		if (geterrcode() == ERRCODE_T_R_DEADLOCK_DETECTED)
			CountWaitEnd(use, start, false, true);
		PG_RE_THROW();
	}
	PG_END_TRY();

	CountWaitEnd(use, start, granted, false);
	Flush();
	return granted;
}

void
FlushNameCounts()
{
	Flush();
}

void
CountLeaseEvent(Oid role, int64 key, std::string_view name, bool truncated, uint64 fingerprint, LeaseEvent event,
				int64 waited_us, bool may_attach)
{
	DirectoryPart *directory;
	NameCounts	counts;
	DirectoryTable::Entry *entry;
	NameId		id{MyDatabaseId, role, key};

	if (!track_names || (directory = may_attach ? Directory() : AttachedDirectory()) == nullptr)
		return;
	if (waited_us > 0)
	{
		counts.total_wait_us = waited_us;
		counts.max_wait_us = waited_us;
		counts.waited = event == LeaseEvent::kPermitsGranted ? 1 : 0;
	}
	switch (event)
	{
		case LeaseEvent::kGranted:
			counts.leases_granted = 1;
			break;
		case LeaseEvent::kPermitsGranted:
			counts.leases_granted = 1;
			counts.acquisitions = 1;
			counts.last_acquired = GetCurrentTimestamp();
			break;
		case LeaseEvent::kRenewed:
			counts.leases_renewed = 1;
			break;
		case LeaseEvent::kExpired:
			counts.leases_expired = 1;
			break;
		case LeaseEvent::kLost:
			counts.leases_lost = 1;
			break;
		case LeaseEvent::kTryFailed:
			counts.failed_tries = 1;
			break;
		case LeaseEvent::kTimedOut:
			counts.timeouts = 1;
			break;
	}
	if (name.size() > kStoredNameBytes)
	{
		name = name.substr(0, pg_mbcliplen(name.data(), (int) name.size(), kStoredNameBytes));
		truncated = true;
	}

	DirectoryPart &part = PartOf(directory, MyDatabaseId, key);

	LWLockAcquire(part.lock, LW_EXCLUSIVE);
	entry = PublishOrEvict(part.table, id, fingerprint, name, truncated);
	if (entry != nullptr)
		part.table->Add(*entry, counts);
	LWLockRelease(part.lock);
}

void
DiscardNameCounts()
{
	for (LocalName *entry = pending_names; entry != NULL; entry = entry->next_pending)
		ClearPending(entry);
	pending_names = NULL;
	flush_at_transaction_end = false;
}

bool
MaySeeNamesOf(Oid role)
{
	Oid			viewer = GetUserId();

	if (OidIsValid(role) && has_privs_of_role(viewer, role))
		return true;
	return has_privs_of_role(viewer, ROLE_PG_READ_ALL_STATS);
}

namespace {

/* A name of a key in the directory, copied out with the role that published it. */
struct PublishedName
{
	Oid			role;
	uint16		length;
	char		name[kStoredNameBytes];
};

/* How many names of one key DirectoryName copies out under the part's lock at a time. */
constexpr uint32 kNamesPerLook = 8;

void
CopyName(const DirectoryTable::Entry &entry, PublishedName *to)
{
	std::string_view name = entry.Name();

	to->role = entry.Id().role;
	to->length = (uint16) name.size();
	memcpy(to->name, name.data(), name.size());
}

/* Copies out the name role published for key in this database; false if there is none. */
bool
CopyNameOf(const DirectoryPart &part, Oid role, int64 key, PublishedName *to)
{
	const DirectoryTable::Entry *entry;

	LWLockAcquire(part.lock, LW_SHARED);
	entry = part.table->Find(NameId{MyDatabaseId, role, key});
	if (entry != nullptr)
		CopyName(*entry, to);
	LWLockRelease(part.lock);
	return entry != nullptr;
}

/* Copies out the names of key in this database of every role, from the skip'th on; returns how many. */
uint32
CopyNamesOf(const DirectoryPart &part, int64 key, uint32 skip, PublishedName *to)
{
	const DirectoryTable::Entry *entries[kNamesPerLook];
	uint32		count;

	LWLockAcquire(part.lock, LW_SHARED);
	count = part.table->FindAllRoles(MyDatabaseId, key, skip, entries, kNamesPerLook);
	for (uint32 i = 0; i < count; i++)
		CopyName(*entries[i], &to[i]);
	LWLockRelease(part.lock);
	return count;
}

Datum
NameDatum(const PublishedName &name, bool *isnull)
{
	*isnull = false;
	return PointerGetDatum(cstring_to_text_with_len(name.name, name.length));
}

} // namespace

/*
 * Every role that locked the key published its own entry, and a name may
 * only be shown to a viewer who may see the role that published it, since
 * keys are public: a backend of one role can request another role's key by
 * number.  So the names are copied out under the part's lock, and who may
 * see them (catalog lookups, which may raise an ERROR) is decided after.
 */
Datum
DirectoryName(int64 key, int pid, bool *isnull)
{
	DirectoryPart *directory = Directory();
	PGPROC	   *proc;
	Oid			requester;
	PublishedName *names;
	uint32		count;

	*isnull = true;
	if (directory == nullptr)
		return (Datum) 0;
	proc = pid != 0 ? BackendPidGetProc(pid) : NULL;
	requester = proc != NULL ? proc->roleId : InvalidOid;
	names = static_cast<PublishedName *>(palloc(kNamesPerLook * sizeof(PublishedName)));
	DirectoryPart &part = PartOf(directory, MyDatabaseId, key);

	/* the name the requesting backend's role published, then any other the viewer may see */
	if (OidIsValid(requester) && MaySeeNamesOf(requester) && CopyNameOf(part, requester, key, &names[0]))
		return NameDatum(names[0], isnull);
	for (uint32 skip = 0; (count = CopyNamesOf(part, key, skip, names)) > 0; skip += count)
	{
		for (uint32 i = 0; i < count; i++)
			if (names[i].role != requester && MaySeeNamesOf(names[i].role))
				return NameDatum(names[i], isnull);
	}
	return (Datum) 0;
}

} // namespace advlock_named
