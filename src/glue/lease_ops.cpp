/*-------------------------------------------------------------------------
 *
 * lease_ops.cpp
 *	  Leases and semaphore permits on the shared lease table; see
 *	  lease_ops.hpp for how they exclude named locks and how the fence
 *	  works.
 *
 * Waiting never polls: a waiter sleeps on its latch until it is woken (by
 * whoever releases, renews or reclaims a holder of its resource, or grants
 * it permits) or until the first conflicting holder's time is up, whichever
 * comes first.  The latch's unit is the millisecond, so the last part of a
 * wait for an expiry is a short sleep of the microseconds left, which is
 * what makes a takeover prompt.
 *
 * Nothing here raises an ERROR while it holds the table's lock, except
 * where it lets go first; the callbacks at transaction and session end
 * raise none.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include <algorithm>

#include "lease_ops.hpp"
#include "lease_tokens.hpp"
#include "lock_ops.hpp"
#include "lock_wait.hpp"
#include "name_directory.hpp"
#include "pg_compat.hpp"
#include "statement_holds.hpp"

namespace advlock_named {
namespace {

/* SQLSTATE of a check that finds no live lease: a class of our own (L, implementation-defined). */
constexpr int kLeaseNotHeld = MAKE_SQLSTATE('L', 'S', '0', '0', '1');

/*
 * This backend's fences: the leases its transaction checked, by the
 * subtransaction that checked them (whose rollback drops the guard lock,
 * so the fence goes with it).
 */
struct Fence
{
	int64		key;
	LeaseSpace	space;
	int64		token;
	SubTransactionId subxact;
};

Fence	   *fences = nullptr;
int			fence_count = 0;
int			fence_room = 0;
bool		exit_callback_registered = false;

/* Holders the table removed under its lock, counted once it is let go. */
struct Gone
{
	uint32		role;
	int64		key;
	uint64		fingerprint;
	bool		truncated;
	uint8		name_length;
	char		name[kLeaseNameBytes];
};

constexpr int kGoneRoom = 16;

struct GoneList
{
	Gone		gone[kGoneRoom];
	int			count;
};

void
NoteGone(const LeaseTable::Holder &holder, void *arg)
{
	GoneList   *list = static_cast<GoneList *>(arg);

	if (list->count == kGoneRoom)
		return;					/* more at once go uncounted */

	Gone	   &gone = list->gone[list->count];
	std::string_view name = holder.Name();
	gone.role = holder.Role();
	gone.key = holder.GetResource().key;
	gone.fingerprint = holder.Fingerprint();
	gone.truncated = holder.Truncated();
	gone.name_length = (uint8) name.size();
	memcpy(gone.name, name.data(), name.size());
	list->count++;
}

/*
 * Counts as expired the holders that went because their time was up; after
 * the lock.  may_attach false: at a transaction's end, where the directory
 * must not be made or attached.
 */
void
CountGone(const GoneList &list, bool may_attach = true)
{
	for (int i = 0; i < list.count; i++)
	{
		const Gone &gone = list.gone[i];

		CountLeaseEvent(gone.role, gone.key, std::string_view(gone.name, gone.name_length), gone.truncated,
						gone.fingerprint, LeaseEvent::kExpired, 0, may_attach);
	}
}

void
WakeLatch(const LeaseTable::Waiter &waiter, void *arg)
{
	SetLatch(static_cast<Latch *>(waiter.wakeup));
}

uint32
MySlot(const LeaseState &leases)
{
	uint32		slot = (uint32) AnlMyProcNumber();

	if (slot >= leases.table->WaiterSlots())
		elog(ERROR, "advlock_named: process number %u has no lease waiter slot", slot);
	return slot;
}

/* This session, unique across the server's life: its pid and its start. */
uint64
MySessionId()
{
	return (uint64) MyStartTime << 32 | (uint32) MyProcPid;
}

Resource
ResourceOf(const LockTarget &target, LeaseSpace space)
{
	return Resource{MyDatabaseId, space, target.key};
}

/* How much of the name a message or the table shows: cut at a character. */
int
CutLength(const LockTarget &target, size_t limit)
{
	if ((size_t) target.name_length <= limit)
		return target.name_length;
	return pg_mbcliplen(target.name, target.name_length, (int) limit);
}

/* The name as the table keeps it, and the rest of a grant's description. */
HolderSpec
SpecFor(const LockTarget &target, Resource resource, HolderKind kind, TimestampTz now, int64 ttl_us,
		bool session_bound, int32 permits, int32 capacity)
{
	int			stored = CutLength(target, kLeaseNameBytes);

	return HolderSpec{resource, kind, GetUserId(), permits, capacity, now,
					  ttl_us == 0 ? kNeverExpires : now + ttl_us,
					  session_bound || ttl_us == 0 ? MyProcPid : 0, MySessionId(), NameFingerprint(target),
					  std::string_view(target.name, stored), stored < target.name_length};
}

WaiterSpec
WaiterFor(const LockTarget &target, Resource resource, HolderKind kind, TimestampTz now, int64 ttl_us,
		  int32 permits, int32 capacity)
{
	int			stored = CutLength(target, kLeaseNameBytes);

	return WaiterSpec{resource, kind, GetUserId(), permits, capacity, now, ttl_us, MyProcPid,
					  &MyProc->procLatch, NameFingerprint(target), std::string_view(target.name, stored),
					  stored < target.name_length};
}

void
OnSessionEnd(int code, Datum arg);

/* The session's end must release its bound holders and its wait: hooked on first use. */
void
HookSessionEnd()
{
	if (exit_callback_registered)
		return;
	before_shmem_exit(OnSessionEnd, (Datum) 0);
	exit_callback_registered = true;
}

uint32
WaitEvent()
{
#if PG_VERSION_NUM >= 170000
	static uint32 wait_event = 0;

	if (wait_event == 0)
		wait_event = WaitEventExtensionNew("AdvlockNamedLease");
	return wait_event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * Sleeps until the latch is set or until (0: no limit), whichever comes
 * first.  The latch counts milliseconds; the last one is a plain sleep of
 * the microseconds left.
 */
void
SleepUntil(TimestampTz until)
{
	TimestampTz now = GetCurrentTimestamp();
	long		timeout_ms = -1;
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

	if (until != 0)
	{
		if (until <= now)
			return;
		if (until - now < 1000)
		{
			pg_usleep(until - now);
			CHECK_FOR_INTERRUPTS();
			return;
		}
		timeout_ms = (long) Min((until - now) / 1000, (int64) INT_MAX);
		events |= WL_TIMEOUT;
	}
	(void) WaitLatch(MyLatch, events, timeout_ms, WaitEvent());
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* The earlier of two deadlines, 0 meaning none. */
TimestampTz
Earlier(TimestampTz a, TimestampTz b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return Min(a, b);
}

TimestampTz
DeadlineOf(int timeout_ms, TimestampTz start)
{
	return timeout_ms > 0 ? start + (int64) timeout_ms * 1000 : 0;
}

int
MillisecondsLeft(TimestampTz deadline)
{
	TimestampTz now = GetCurrentTimestamp();

	if (deadline == 0)
		return kWaitForever;
	if (deadline <= now)
		return 0;
	return (int) Min((deadline - now + 999) / 1000, (int64) PG_INT32_MAX);
}

/* A lock name and a semaphore of the same name are apart: so are their guard keys. */
LOCKTAG
GuardTag(int64 key, LeaseSpace space)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) key >> 32), (uint32) key,
						 space == LeaseSpace::kSemaphore ? kPermitGuardKeySpace : kGuardKeySpace);
	return tag;
}

bool		FencedHere(int64 key, int64 token);
bool		FencedKeyHere(int64 key, LeaseSpace space);

/*
 * Waits, in the lock manager, for the transactions that fenced the key to
 * end: the guard key taken exclusively and let go.  false: not by deadline.
 * This transaction's own fence would never end while it waits: an ERROR.
 */
bool
WaitForFences(const LockTarget &target, LeaseSpace space, TimestampTz deadline)
{
	LOCKTAG		guard = GuardTag(target.key, space);
	int			left = MillisecondsLeft(deadline);

	if (FencedKeyHere(target.key, space))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this transaction checked a lease that blocks \"%.*s\"", CutLength(target, 64), target.name),
				 errdetail("The lease is kept until this transaction ends, so this request would wait for itself."),
				 errhint("Take the lock or the permits in another transaction, or before the check.")));
	if (LockAcquire(&guard, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		if (left == 0 || !WaitForLock(&guard, ExclusiveLock, false, left))
			return false;
	}
	else
	{
		/* no checking transaction runs: the fence is going; look again shortly, not at once */
		SleepUntil(GetCurrentTimestamp() + 1000);
	}
	(void) LockRelease(&guard, ExclusiveLock, false);
	return true;
}

/* Leaves the wait queue; with permits, lets whoever can go now go. */
void
LeaveQueue(const LeaseState &leases, uint32 slot, const Resource &resource)
{
	LWLockAcquire(leases.lock, LW_EXCLUSIVE);
	leases.table->Dequeue(slot);
	if (resource.space == LeaseSpace::kSemaphore)
		(void) leases.table->GrantWaiters(resource, GetCurrentTimestamp(), leases.table->Tokens(),
										  TokenTimeline(), WakeLatch, NULL);
	LWLockRelease(leases.lock);
}

/* After holders of resource went: wake its waiters, and grant permits that fit now. */
void
AfterHoldersWent(const LeaseState &leases, const Resource &resource, TimestampTz now)
{
	if (resource.space == LeaseSpace::kSemaphore)
		(void) leases.table->GrantWaiters(resource, now, leases.table->Tokens(), TokenTimeline(), WakeLatch,
										  NULL);
	leases.table->WakeWaiters(resource, WakeLatch, NULL);
}

/* Room for one more holder of this role, or an ERROR (the caller has let go of the lock). */
void
ReportNoRoom(const LeaseState &leases, bool table_full)
{
	if (table_full)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many leases and semaphore grants on this server"),
				 errdetail("The lease table holds %u, the limit set by advlock_named.max_leases.",
						   leases.table->Capacity()),
				 errhint("Release leases that are no longer needed, or raise advlock_named.max_leases and restart the server.")));
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("too many leases and semaphore grants held by role \"%s\"",
					GetUserNameFromId(GetUserId(), false)),
			 errdetail("The role holds %d, the limit set by advlock_named.max_leases_per_role.",
					   max_leases_per_role),
			 errhint("Release leases that are no longer needed, or raise advlock_named.max_leases_per_role for the role.")));
}

/* Whether one more holder fits, table and role, at now; under the table's lock. */
bool
RoomFor(const LeaseState &leases, TimestampTz now, bool *table_full)
{
	*table_full = leases.table->Count() >= leases.table->Capacity();
	if (*table_full)
		return false;
	return max_leases_per_role == 0 ||
		leases.table->CountForRole(GetUserId(), now) < (uint32) max_leases_per_role;
}

/*
 * Inserts a holder for spec with a fresh token, under the table's lock,
 * which it holds on return (0 returned: it let go of it to make a token
 * epoch durable, and the caller tries again).  A full table first gives up
 * holders whose time ran out, noted in gone.
 */
int64
InsertHolder(const LeaseState &leases, const HolderSpec &spec, GoneList *gone)
{
	bool		table_full;
	bool		fits = RoomFor(leases, spec.acquired, &table_full);
	int64		token;

	/* as many as the list has room to count, and at least one */
	if (!fits && table_full &&
		leases.table->ReclaimAnyDead(spec.acquired, (uint32) Max(kGoneRoom - gone->count, 1), NoteGone, gone) > 0)
		fits = RoomFor(leases, spec.acquired, &table_full);
	if (!fits)
	{
		LWLockRelease(leases.lock);
		CountGone(*gone);
		ReportNoRoom(leases, table_full);
	}
	token = DrawToken(leases);
	if (token == 0)
	{
		LWLockRelease(leases.lock);
		CountGone(*gone);
		gone->count = 0;
		EnsureTokenEpoch(leases);
		return 0;
	}
	(void) leases.table->Insert(spec, token);
	return token;
}

/* The owner's privileges, as pg_cancel_backend asks of a backend's role. */
void
RequireRightsOver(Oid owner, const LockTarget &target)
{
	if (has_privs_of_role(GetUserId(), owner))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for a lease on \"%.*s\"", CutLength(target, 64), target.name),
			 errdetail("The lease belongs to role \"%s\".", GetUserNameFromId(owner, true)),
			 errhint("Renew, release and check a lease as its role, a member of it, or a superuser.")));
}

/*
 * The owner of token on target if the table has it, or InvalidOid, and the
 * space it is in if space is given; raises an ERROR if the current user may
 * not act for that owner.  Read under a shared lock, checked after it (the
 * check may read the catalog).
 */
Oid
OwnerToActFor(const LeaseState &leases, const LockTarget &target, int64 token, LeaseSpace *space = nullptr)
{
	LeaseTable::Holder *holder;
	Oid			owner = InvalidOid;

	LWLockAcquire(leases.lock, LW_SHARED);
	holder = leases.table->Find(MyDatabaseId, target.key, token);
	if (holder != nullptr)
		owner = holder->Role();
	if (holder != nullptr && space != nullptr)
		*space = holder->GetResource().space;
	LWLockRelease(leases.lock);
	if (OidIsValid(owner))
		RequireRightsOver(owner, target);
	return owner;
}

/*
 * The holder of token on target under the table's exclusive lock, held on
 * return.  owner comes from OwnerToActFor; a holder granted since that
 * check has its owner checked in turn, so that no other role acts on it.
 */
LeaseTable::Holder *
LockAndFind(const LeaseState &leases, const LockTarget &target, int64 token, Oid *owner)
{
	for (;;)
	{
		LeaseTable::Holder *holder;

		LWLockAcquire(leases.lock, LW_EXCLUSIVE);
		holder = leases.table->Find(MyDatabaseId, target.key, token);
		if (holder == nullptr || holder->Role() == *owner)
			return holder;
		LWLockRelease(leases.lock);
		*owner = OwnerToActFor(leases, target, token);
	}
}

void
CountOn(const LockTarget &target, Oid role, LeaseEvent event, int64 waited_us = 0)
{
	int			stored = CutLength(target, kLeaseNameBytes);

	CountLeaseEvent(role, target.key, std::string_view(target.name, stored), stored < target.name_length,
					NameFingerprint(target), event, waited_us);
}

/* Room for one more fence, made before the fence is counted on its holder. */
void
ReserveFence()
{
	if (fence_count < fence_room)
		return;
	int			room = Max(8, 2 * fence_room);

	fences = static_cast<Fence *>(fences == nullptr
								  ? MemoryContextAlloc(TopMemoryContext, room * sizeof(Fence))
								  : repalloc(fences, room * sizeof(Fence)));
	fence_room = room;
}

bool
FencedHere(int64 key, int64 token)
{
	for (int i = 0; i < fence_count; i++)
		if (fences[i].key == key && fences[i].token == token)
			return true;
	return false;
}

bool
FencedKeyHere(int64 key, LeaseSpace space)
{
	for (int i = 0; i < fence_count; i++)
		if (fences[i].key == key && fences[i].space == space)
			return true;
	return false;
}

/*
 * Drops fence i: the holder may go now, and if it does because its time was
 * up, that is its expiry.  Within a transaction's end: raises no ERROR.
 */
void
DropFence(const LeaseState &leases, int i)
{
	TimestampTz now;
	LeaseTable::Holder *holder;
	GoneList	gone;

	gone.count = 0;
	LWLockAcquire(leases.lock, LW_EXCLUSIVE);
	now = GetCurrentTimestamp();
	holder = leases.table->Find(MyDatabaseId, fences[i].key, fences[i].token);
	if (holder != nullptr)
	{
		Resource	resource = holder->GetResource();
		bool		expired = !holder->Released();

		if (expired)
			NoteGone(*holder, &gone);
		if (leases.table->DropFence(holder, now))
			AfterHoldersWent(leases, resource, now);
		else
			gone.count = 0;
	}
	LWLockRelease(leases.lock);
	fences[i] = fences[--fence_count];
	CountGone(gone, false);
}

void
OnTransactionEnd(XactEvent event, void *arg)
{
	LeaseState *leases = adopted_leases;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			/* the guard lock would go to the prepared transaction, the count would not */
			if (fence_count > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has checked a lease")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
			while (fence_count > 0 && leases != nullptr)
				DropFence(*leases, fence_count - 1);
			fence_count = 0;
			break;
		default:
			break;
	}
}

void
OnSubtransactionEnd(SubXactEvent event, SubTransactionId subxact, SubTransactionId parent, void *arg)
{
	if (fence_count == 0 || adopted_leases == nullptr)
		return;
	for (int i = fence_count - 1; i >= 0; i--)
	{
		if (fences[i].subxact != subxact)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			fences[i].subxact = parent;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
			DropFence(*adopted_leases, i);
	}
}

/* The session's holders that end with it, its wait, and its unfinished statement's grants. */
void
OnSessionEnd(int code, Datum arg)
{
	LeaseState *leases = adopted_leases;
	TimestampTz now;
	uint32		slot = (uint32) AnlMyProcNumber();

	if (leases == nullptr)
		return;
	GiveBackUnfinishedStatementLeases();
	LWLockAcquire(leases->lock, LW_EXCLUSIVE);
	now = GetCurrentTimestamp();
	if (slot < leases->table->WaiterSlots())
	{
		const LeaseTable::Waiter &mine = leases->table->SlotAt(slot);

		/* permits granted to this session's wait that it did not live to take (a FATAL) */
		if (mine.state == LeaseTable::Waiter::State::kGranted)
		{
			LeaseTable::Holder *granted = leases->table->Find(mine.resource.database, mine.resource.key,
															   mine.granted_token);

			if (granted != nullptr)
				(void) leases->table->Release(granted);
		}
		leases->table->Dequeue(slot);
	}
	(void) leases->table->RemoveSessionHolders(MyProcPid, nullptr, nullptr);
	/* whoever waits for what went, or behind this session's wait, may go: every waiter looks again */
	for (uint32 other = 0; other < leases->table->WaiterSlots(); other++)
	{
		const LeaseTable::Waiter &waiter = leases->table->SlotAt(other);

		if (waiter.state == LeaseTable::Waiter::State::kWaiting)
			AfterHoldersWent(*leases, waiter.resource, now);
	}
	LWLockRelease(leases->lock);
}

} // namespace

bool
WaitOutLeases(const LockTarget &target, LockMode mode, int timeout_ms, TimestampTz start, int64 *waited_us)
{
	LeaseState &leases = *LeasesIfAny();
	Resource	resource = ResourceOf(target, LeaseSpace::kLock);
	HolderKind	kind = mode == LockMode::kShared ? HolderKind::kShared : HolderKind::kExclusive;
	TimestampTz deadline = DeadlineOf(timeout_ms, start);
	uint32		slot = MySlot(leases);
	volatile bool queued = false;
	bool		allowed = false;
	TimestampTz waited_since = 0;

	PG_TRY();
	{
		for (;;)
		{
			TimestampTz now = GetCurrentTimestamp();
			GoneList	gone;
			LeaseTable::Obstacle obstacle;

			gone.count = 0;
			LWLockAcquire(leases.lock, LW_EXCLUSIVE);
			if (leases.table->Reclaim(resource, now, NoteGone, &gone) > 0)
				leases.table->WakeWaiters(resource, WakeLatch, NULL);
			obstacle = leases.table->Check(resource, kind, 0, now, slot, MySessionId());
			/* a lease this session took: nothing but its ttl might end a wait without a limit */
			obstacle.own = obstacle.own && timeout_ms == kWaitForever;
			if (!obstacle.blocked || timeout_ms == 0 || (deadline != 0 && now >= deadline) || obstacle.own)
			{
				if (queued)
					leases.table->Dequeue(slot);
				queued = false;
				LWLockRelease(leases.lock);
				CountGone(gone);
				if (obstacle.own)
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("this session took a lease that blocks \"%.*s\"", CutLength(target, 64), target.name),
							 errdetail("The request would wait, without a limit, for this session's own lease to be released or expire."),
							 errhint("Release the lease first, give the request a timeout, or use the lease in place of the lock.")));
				allowed = !obstacle.blocked;
				if (waited_since != 0)
					*waited_us = now - waited_since;
				break;
			}
			if (waited_since == 0)
				waited_since = now;
			if (!queued)
			{
				HookSessionEnd();
				leases.table->Enqueue(slot, WaiterFor(target, resource, kind, now, 0, 0, 0));
				queued = true;
			}
			LWLockRelease(leases.lock);
			CountGone(gone);
			/* a lease this transaction checked would block it to its end */
			if (obstacle.fenced || FencedKeyHere(target.key, LeaseSpace::kLock))
			{
				if (!WaitForFences(target, LeaseSpace::kLock, deadline))
					deadline = now;	/* out of time: the next round gives up */
			}
			else
				SleepUntil(Earlier(deadline, obstacle.next_expiry == kNeverExpires ? 0 : obstacle.next_expiry));
		}
	}
	PG_CATCH();
	{
		if (queued)
			LeaveQueue(leases, slot, resource);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return allowed;
}

int64
AcquireLease(const LockTarget &target, LockMode mode, int64 ttl_us, int timeout_ms, bool session_bound)
{
	LeaseState &leases = *RequireLeases();
	Resource	resource = ResourceOf(target, LeaseSpace::kLock);
	HolderKind	kind = mode == LockMode::kShared ? HolderKind::kShared : HolderKind::kExclusive;
	int64		token = 0;
	GoneList	gone;

	/* a lease would wait for a conflicting lock of this session's, which it would never let go */
	if (AnlLockHeldByMe(&target.tag, ExclusiveLock) ||
		(mode == LockMode::kExclusive && AnlLockHeldByMe(&target.tag, ShareLock)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this session holds a lock on \"%.*s\"", CutLength(target, 64), target.name),
				 errdetail("A lease and a lock on one name exclude each other unless both are shared, in one session too."),
				 errhint("Release the lock first, or use the lock in place of the lease.")));
	EnsureTokenEpoch(leases);
	ReserveStatementLeases(1);
	HookSessionEnd();

	/* queued in the lock manager, then behind conflicting leases */
	if (!AcquireNamedLock(target, mode, Scope::kTransaction, timeout_ms))
		return 0;
	gone.count = 0;
	while (token == 0)
	{
		TimestampTz now;

		LWLockAcquire(leases.lock, LW_EXCLUSIVE);
		now = GetCurrentTimestamp();
		/* holding the lock, no conflicting lease can have come since */
		Assert(!leases.table->Check(resource, kind, 0, now, UINT32_MAX).blocked);
		token = InsertHolder(leases, SpecFor(target, resource, kind, now, ttl_us, session_bound, 0, 0), &gone);
	}
	LWLockRelease(leases.lock);
	CountGone(gone);
	(void) LockRelease(&target.tag, ToLockManagerMode(mode), false);
	NoteStatementLease(target.key, token);
	CountOn(target, GetUserId(), LeaseEvent::kGranted);
	return token;
}

int64
AcquirePermits(const LockTarget &target, int32 capacity, int64 ttl_us, int timeout_ms, int32 permits)
{
	LeaseState &leases = *RequireLeases();
	Resource	resource = ResourceOf(target, LeaseSpace::kSemaphore);
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz deadline = DeadlineOf(timeout_ms, start);
	uint32		slot = MySlot(leases);
	volatile bool queued = false;
	volatile int64 token = 0;
	volatile TimestampTz waited_since = 0;

	if (IsParallelWorker())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot take semaphore permits in a parallel worker")));
	EnsureTokenEpoch(leases);
	ReserveStatementLeases(1);
	HookSessionEnd();

	PG_TRY();
	{
		for (;;)
		{
			TimestampTz now = GetCurrentTimestamp();
			GoneList	gone;
			LeaseTable::Obstacle obstacle;
			LeaseTable::Waiter &mine = leases.table->SlotAt(slot);

			gone.count = 0;
			LWLockAcquire(leases.lock, LW_EXCLUSIVE);
			if (leases.table->Reclaim(resource, now, NoteGone, &gone) > 0)
				AfterHoldersWent(leases, resource, now);
			if (queued && mine.state == LeaseTable::Waiter::State::kGranted)
			{
				token = mine.granted_token;
				leases.table->Dequeue(slot);
				queued = false;
				LWLockRelease(leases.lock);
				CountGone(gone);
				break;
			}
			obstacle = leases.table->Check(resource, HolderKind::kPermits, permits, now, slot);
			if (obstacle.capacity != 0 && obstacle.capacity != capacity)
			{
				int32		theirs = obstacle.capacity;

				if (queued)
					leases.table->Dequeue(slot);
				queued = false;
				LWLockRelease(leases.lock);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("semaphore \"%.*s\" has capacity %d, not %d",
								CutLength(target, 64), target.name, theirs, capacity),
						 errdetail("Every holder and waiter of a semaphore must give the same capacity."),
						 errhint("Use the capacity the others use, or another name.")));
			}
			if (!obstacle.blocked)
			{
				int64		drawn = InsertHolder(leases, SpecFor(target, resource, HolderKind::kPermits, now,
																 ttl_us, false, permits, capacity),
											&gone);

				if (drawn == 0)
					continue;	/* an epoch was made durable: again */
				token = drawn;
				if (queued)
					leases.table->Dequeue(slot);
				queued = false;
				LWLockRelease(leases.lock);
				CountGone(gone);
				break;
			}
			if (timeout_ms == 0 || (deadline != 0 && now >= deadline))
			{
				if (queued)
				{
					leases.table->Dequeue(slot);
					/* those behind may go now */
					(void) leases.table->GrantWaiters(resource, now, leases.table->Tokens(), TokenTimeline(),
													  WakeLatch, NULL);
				}
				queued = false;
				LWLockRelease(leases.lock);
				CountGone(gone);
				break;
			}
			if (!queued)
			{
				leases.table->Enqueue(slot, WaiterFor(target, resource, HolderKind::kPermits, now, ttl_us,
													   permits, capacity));
				queued = true;
				waited_since = now;
			}
			LWLockRelease(leases.lock);
			CountGone(gone);
			if (obstacle.fenced)
			{
				if (!WaitForFences(target, LeaseSpace::kSemaphore, deadline))
					deadline = now;
			}
			else
				SleepUntil(Earlier(deadline, obstacle.next_expiry == kNeverExpires ? 0 : obstacle.next_expiry));
		}
	}
	PG_CATCH();
	{
		/* permits granted to us while we were failing go back, and the queue moves on */
		if (queued)
		{
			LeaseTable::Waiter &mine = leases.table->SlotAt(slot);

			LWLockAcquire(leases.lock, LW_EXCLUSIVE);
			if (mine.state == LeaseTable::Waiter::State::kGranted)
			{
				LeaseTable::Holder *holder = leases.table->Find(MyDatabaseId, target.key, mine.granted_token);

				if (holder != nullptr)
					(void) leases.table->Release(holder);
			}
			leases.table->Dequeue(slot);
			AfterHoldersWent(leases, resource, GetCurrentTimestamp());
			LWLockRelease(leases.lock);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();

	int64		waited = waited_since == 0 ? 0 : GetCurrentTimestamp() - waited_since;
	if (token == 0)
	{
		CountOn(target, GetUserId(), timeout_ms == 0 ? LeaseEvent::kTryFailed : LeaseEvent::kTimedOut, waited);
		return 0;
	}
	NoteStatementLease(target.key, token);
	CountOn(target, GetUserId(), LeaseEvent::kPermitsGranted, waited);
	return token;
}

bool
RenewLease(const LockTarget &target, int64 token, int64 ttl_us)
{
	LeaseState &leases = *RequireLeases();
	Oid			owner = OwnerToActFor(leases, target, token);
	TimestampTz now;
	LeaseTable::Holder *holder;
	GoneList	gone;
	bool		renewed = false;

	gone.count = 0;
	holder = LockAndFind(leases, target, token, &owner);
	/* read under the lock: whoever took over what expired read it under the lock too */
	now = GetCurrentTimestamp();
	if (holder != nullptr && holder->Expires() == kNeverExpires && holder->Kind() == HolderKind::kPermits)
	{
		LWLockRelease(leases.lock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("permits held by a session do not expire"),
				 errdetail("Token " INT64_FORMAT " is a session's permits of semaphore \"%.*s\".", token,
						   CutLength(target, 64), target.name),
				 errhint("Acquire permits with a ttl to renew them.")));
	}
	if (holder != nullptr && holder->Live(now))
	{
		leases.table->Renew(holder, now + ttl_us);
		leases.table->WakeWaiters(holder->GetResource(), WakeLatch, NULL);
		renewed = true;
	}
	else if (holder != nullptr)
	{
		Resource	resource = holder->GetResource();

		if (leases.table->Reclaim(resource, now, NoteGone, &gone) > 0)
			AfterHoldersWent(leases, resource, now);
	}
	LWLockRelease(leases.lock);
	CountGone(gone);
	if (OidIsValid(owner))
		CountOn(target, owner, renewed ? LeaseEvent::kRenewed : LeaseEvent::kLost);
	return renewed;
}

bool
ReleaseLease(const LockTarget &target, int64 token, bool semaphore)
{
	LeaseState &leases = *RequireLeases();
	Oid			owner = OwnerToActFor(leases, target, token);
	TimestampTz now;
	LeaseTable::Holder *holder;
	GoneList	gone;
	bool		released = false;

	gone.count = 0;
	holder = LockAndFind(leases, target, token, &owner);
	now = GetCurrentTimestamp();
	if (holder != nullptr && semaphore && holder->GetResource().space != LeaseSpace::kSemaphore)
		holder = nullptr;
	/* a session's permits are that session's to release */
	if (holder != nullptr && holder->Kind() == HolderKind::kPermits && holder->Expires() == kNeverExpires &&
		holder->SessionPid() != MyProcPid)
	{
		LWLockRelease(leases.lock);
		return false;
	}
	if (holder != nullptr)
	{
		Resource	resource = holder->GetResource();

		if (holder->Live(now))
		{
			(void) leases.table->Release(holder);
			released = true;
			AfterHoldersWent(leases, resource, now);
		}
		else if (leases.table->Reclaim(resource, now, NoteGone, &gone) > 0)
			AfterHoldersWent(leases, resource, now);
	}
	LWLockRelease(leases.lock);
	CountGone(gone);
	if (released)
		ForgetStatementLease(token);
	else if (OidIsValid(owner))
		CountOn(target, owner, LeaseEvent::kLost);
	return released;
}

void
CheckLease(const LockTarget &target, int64 token)
{
	LeaseState &leases = *RequireLeases();
	LeaseSpace	space = LeaseSpace::kLock;
	Oid			owner = OwnerToActFor(leases, target, token, &space);
	LOCKTAG		guard = GuardTag(target.key, space);
	LeaseTable::Holder *holder;
	bool		live;

	if (IsParallelWorker())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot check a lease in a parallel worker")));
	/* behind a takeover that waits for earlier fences, if there is one */
	(void) LockAcquire(&guard, ShareLock, false, false);
	ReserveFence();

	holder = LockAndFind(leases, target, token, &owner);
	/* a token granted only after the first look, in the other space, is not under this guard */
	live = holder != nullptr && holder->GetResource().space == space && holder->Live(GetCurrentTimestamp());
	if (live && !FencedHere(target.key, token))
	{
		leases.table->AddFence(holder);
		fences[fence_count++] = Fence{target.key, space, token, GetCurrentSubTransactionId()};
	}
	LWLockRelease(leases.lock);

	if (!live)
	{
		if (OidIsValid(owner))
			CountOn(target, owner, LeaseEvent::kLost);
		ereport(ERROR,
				(errcode(kLeaseNotHeld),
				 errmsg("lease on \"%.*s\" is not held", CutLength(target, 64), target.name),
				 errdetail("Token " INT64_FORMAT " is not a live lease on this name: it expired, was released, belongs to another name, or the server restarted.",
						   token),
				 errhint("Acquire the lease again; the writes guarded by this check roll back with the transaction.")));
	}
}

void
GiveBackLease(int64 key, int64 token)
{
	LeaseState *leases = adopted_leases;
	LeaseTable::Holder *holder;

	if (leases == nullptr)
		return;
	LWLockAcquire(leases->lock, LW_EXCLUSIVE);
	holder = leases->table->Find(MyDatabaseId, key, token);
	if (holder != nullptr)
	{
		Resource	resource = holder->GetResource();

		(void) leases->table->Release(holder);
		AfterHoldersWent(*leases, resource, GetCurrentTimestamp());
	}
	LWLockRelease(leases->lock);
}

LeaseHolding *
CurrentLeaseHoldings(const int64 *key, int *count)
{
	LeaseState *leases = LeasesIfAny();
	TimestampTz now = GetCurrentTimestamp();
	LeaseHolding *holdings;
	int			n = 0;

	*count = 0;
	if (leases == nullptr)
		return nullptr;
	holdings = static_cast<LeaseHolding *>(palloc_extended(sizeof(LeaseHolding) * leases->table->Capacity(),
														   MCXT_ALLOC_HUGE));
	LWLockAcquire(leases->lock, LW_SHARED);
	for (uint32 place = 0; place < leases->table->PlaceCount(); place++)
	{
		const LeaseTable::Holder *holder = leases->table->At(place);
		std::string_view name;

		if (holder == nullptr || holder->GetResource().database != MyDatabaseId ||
			holder->GetResource().space != LeaseSpace::kLock || holder->Dead(now) ||
			(key != nullptr && holder->GetResource().key != *key))
			continue;
		name = holder->Name();
		holdings[n] = LeaseHolding{holder->GetResource().key,
								   holder->Kind() == HolderKind::kShared ? LockMode::kShared : LockMode::kExclusive,
								   holder->Token(), holder->Role(), holder->SessionPid(), holder->Expires(),
								   (uint8) name.size(), {}};
		memcpy(holdings[n].name, name.data(), name.size());
		n++;
	}
	LWLockRelease(leases->lock);
	*count = n;
	return holdings;
}

LeaseWait *
CurrentLeaseWaits(int *count)
{
	LeaseState *leases = LeasesIfAny();
	LeaseWait  *waits;
	int			n = 0;

	*count = 0;
	if (leases == nullptr)
		return nullptr;
	waits = static_cast<LeaseWait *>(palloc(sizeof(LeaseWait) * (leases->table->WaiterSlots() + 1)));
	LWLockAcquire(leases->lock, LW_SHARED);
	for (uint32 slot = 0; slot < leases->table->WaiterSlots(); slot++)
	{
		const LeaseTable::Waiter &waiter = leases->table->SlotAt(slot);

		if (waiter.state == LeaseTable::Waiter::State::kWaiting && waiter.resource.database == MyDatabaseId)
			waits[n++] = LeaseWait{waiter.pid, waiter.resource.key, waiter.resource.space, waiter.since};
	}
	LWLockRelease(leases->lock);
	*count = n;
	return waits;
}

void
RegisterLeaseCallbacks()
{
	RegisterXactCallback(OnTransactionEnd, NULL);
	RegisterSubXactCallback(OnSubtransactionEnd, NULL);
}

} // namespace advlock_named
