/*-------------------------------------------------------------------------
 *
 * lease_ops.hpp
 *	  Leases and semaphore permits: granting, waiting, renewing, releasing,
 *	  fencing, and the lock path's respect for leases.
 *
 * A lease shares the name space of named locks, and the two exclude each
 * other without a process holding the lease: a lease request takes the
 * name's lock in the lock manager (transaction scope, queueing fairly with
 * session and transaction locks), waits there for conflicting leases to
 * go, inserts its lease, and lets the lock go; a lock request, once the
 * lock manager granted it, waits the same way for conflicting leases
 * before it returns.  Each side looks at the lease table while it holds a
 * lock manager lock that conflicts with the other's, so two conflicting
 * grants cannot both pass, and a waiter keeps its place in the lock
 * manager's queue while it waits, so later requests of either kind queue
 * behind it.
 *
 * The fence: named_lease_check takes a transaction-level share lock on the
 * name's guard key (an advisory tag of its own) and counts itself on the
 * holder, which keeps the holder from expiring or going until the
 * transaction ends.  A waiter that finds a conflicting holder kept only by
 * such fences takes the guard key exclusively first, in the lock manager,
 * so it waits (deadlock detection included) for the checking transactions
 * to end, and new checks queue behind it.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "lease_state.hpp"
#include "lock_target.hpp"

namespace advlock_named {

/*
 * field4 of a guard key's advisory tag: key spaces of their own, apart from
 * pg_advisory_lock's 1 and 2; one for leases on lock names ("NL"), one for
 * semaphore permits.
 */
constexpr uint16 kGuardKeySpace = 20044;
constexpr uint16 kPermitGuardKeySpace = 20045;

/*
 * A lease on target: its token, or 0 when it was not granted within
 * timeout_ms (0: try once; kWaitForever).  ttl_us > 0; session_bound ends
 * it with this session too.
 */
int64		AcquireLease(const LockTarget &target, LockMode mode, int64 ttl_us, int timeout_ms, bool session_bound);

/*
 * permits of the semaphore target of capacity: the token, or 0 when not
 * granted within timeout_ms.  ttl_us 0: the permits are this session's.
 */
int64		AcquirePermits(const LockTarget &target, int32 capacity, int64 ttl_us, int timeout_ms, int32 permits);

/* now + ttl_us for a live lease or lease permits; false when it is gone. */
bool		RenewLease(const LockTarget &target, int64 token, int64 ttl_us);

/* Releases a lease or permits; false when they were gone.  semaphore: only semaphore tokens. */
bool		ReleaseLease(const LockTarget &target, int64 token, bool semaphore);

/* The fence; raises an ERROR unless token is live on target. */
void		CheckLease(const LockTarget &target, int64 token);

/*
 * The lock path: once the lock manager granted a named lock in mode,
 * whether leases let it stand, waiting up to timeout_ms (measured from
 * start) for conflicting ones to go; *waited_us says how long it waited.
 * false: they did not go in time, and the caller gives the lock back.  A
 * conflicting lease this session took, or checked, would keep it waiting
 * for itself: an ERROR.
 */
bool		WaitOutLeases(const LockTarget &target, LockMode mode, int timeout_ms, TimestampTz start,
						  int64 *waited_us);

/*
 * AdoptLeasesIfMade for the lock path, right after the lock manager granted
 * granted in mode: if adopting fails, a session lock goes back before the
 * ERROR goes on, so that a failed call holds nothing.  In shared_state.cpp.
 */
#if PG_VERSION_NUM >= 170000
LeaseState *AdoptLeasesIfMadeOrGiveBack(const LOCKTAG *granted, LOCKMODE mode, bool session);
#endif

/*
 * Whether a lease may conflict with a lock on target that the lock manager
 * just granted in mode: a load or two when none does.
 */
inline bool
LeasesMayConflict(const LockTarget &target, LOCKMODE mode, bool session)
{
	LeaseState *leases = adopted_leases;

#if PG_VERSION_NUM >= 170000
	if (leases == nullptr)
		leases = AdoptLeasesIfMadeOrGiveBack(&target.tag, mode, session);
#endif
	return leases != nullptr && leases->table->MayHoldLockSpace(target.tag.locktag_field1, target.key);
}

/* A live lease of this database's lock name space, as the lock views show it. */
struct LeaseHolding
{
	int64		key;
	LockMode	mode;
	int64		token;
	Oid			role;
	int32		pid;			/* the session it ends with; 0: none */
	TimestampTz expires;
	uint8		name_length;
	char		name[kLeaseNameBytes];
};

/* A session waiting for leases to go, holding its lock manager lock meanwhile. */
struct LeaseWait
{
	int32		pid;
	int64		key;
	LeaseSpace	space;
	TimestampTz since;
};

/*
 * The live leases of this database's lock name space, of one key or of all
 * (key nullptr), and the waits for leases in this database; palloc'd.
 * None when there is no lease table.
 */
LeaseHolding *CurrentLeaseHoldings(const int64 *key, int *count);
LeaseWait  *CurrentLeaseWaits(int *count);

/* Releases a lease a failed statement took, by its token; never raises an ERROR. */
void		GiveBackLease(int64 key, int64 token);

/* Hooks the transaction ends that end fences; from _PG_init. */
void		RegisterLeaseCallbacks();

} // namespace advlock_named
