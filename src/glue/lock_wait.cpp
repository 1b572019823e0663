/*-------------------------------------------------------------------------
 *
 * lock_wait.cpp
 *	  Waiting in the lock queue, with or without a time limit.
 *
 * The waiter sleeps in the lock manager's own queue, so it is fair, visible
 * in pg_locks and part of deadlock detection.  A bounded wait sets
 * lock_timeout to the caller's timeout for the duration of the wait.
 * lock_timeout raises an ERROR, which would abort the caller's transaction,
 * so that wait runs in an internal subtransaction whose rollback absorbs
 * that one error; error cleanup also takes us off the wait queue.
 *
 * An ERROR can also arrive just after the grant: a cancel or lock timeout
 * that fired as the holder let go is still pending when LockAcquire returns,
 * or is raised by the wait's own error cleanup, which records the grant.
 * Both waits check for it before returning and give such a session lock
 * back, so a call either succeeds or fails holding nothing new.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
}

#include "pg_compat.hpp"
#include "lock_wait.hpp"
#include "statement_holds.hpp"
#include "wait_timeout.hpp"

namespace advlock_named {

double
IntervalMicroseconds(const Interval *interval)
{
	if (AnlIntervalIsPlusInfinity(interval))
		return INFINITY;
	if (AnlIntervalIsMinusInfinity(interval))
		return -INFINITY;
	return interval->time + interval->day * (double) USECS_PER_DAY +
		interval->month * (double) DAYS_PER_MONTH * USECS_PER_DAY;
}

int
TimeoutFromArgument(FunctionCallInfo fcinfo, int argno, const TimeoutWords &words)
{
	double		microseconds;
	double		milliseconds;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", words.what),
				 errhint("%s", words.forever_hint)));
	microseconds = IntervalMicroseconds(PG_GETARG_INTERVAL_P(argno));
	if (microseconds == INFINITY)
		return kWaitForever;
	if (microseconds < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", words.what),
				 errhint("Use a zero timeout to try once without waiting.")));
	milliseconds = WholeMilliseconds(microseconds);
	if (milliseconds > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", words.what),
				 errdetail("The longest timeout is %d milliseconds, about 24.8 days.", PG_INT32_MAX),
				 errhint("%s", words.forever_hint)));
	return (int) milliseconds;
}

/*
 * Gives back a session lock granted in the instant before an ERROR.  Only
 * called after a wait, which happens only when this backend held the lock in
 * this mode in no scope, so any hold now is that grant.  A transaction lock needs no help:
 * it goes with the aborted (sub)transaction.
 */
static void
GiveBackRacingGrant(const LOCKTAG *tag, LOCKMODE mode, bool session)
{
	if (session && AnlLockHeldByMe(tag, mode))
		(void) LockRelease(tag, mode, true);
}

static void
WaitInQueue(const LOCKTAG *tag, LOCKMODE mode, bool session)
{
	PG_TRY();
	{
		(void) LockAcquire(tag, mode, session, false);
		CHECK_FOR_INTERRUPTS();
	}
	PG_CATCH();
	{
		GiveBackRacingGrant(tag, mode, session);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Committing the internal subtransaction hands its transaction lock to the
 * caller's transaction resource owner, not to the caller's own owner (a
 * portal's, a cursor's), where a grant without waiting would have put it.
 * Moving it there makes it live exactly as long and lets the caller give it
 * back.  Both steps are local: the lock is held, so no shared state changes.
 */
static void
MoveToOwner(const LOCKTAG *tag, LOCKMODE mode, ResourceOwner from, ResourceOwner to)
{
	if (from == to)
		return;
	CurrentResourceOwner = to;
	(void) LockAcquire(tag, mode, false, true);
	CurrentResourceOwner = from;
	(void) LockRelease(tag, mode, false);
	CurrentResourceOwner = to;
}

/*
 * Waits for the lock in an internal subtransaction; returns false when
 * lock_timeout fired, after rolling the subtransaction back.
 */
static bool
WaitInSubtransaction(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	int			caller_lock_timeout = LockTimeout;
	volatile bool granted = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_context);

	PG_TRY();
	{
		LockTimeout = timeout_ms;
		(void) LockAcquire(tag, mode, session, false);
		LockTimeout = caller_lock_timeout;
		CHECK_FOR_INTERRUPTS();

		/* a transaction lock moves to the caller's (sub)transaction */
		ReleaseCurrentSubTransaction();
		granted = true;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		LockTimeout = caller_lock_timeout;
		error = RollBackOwnSubtransaction(caller_context);
		CurrentResourceOwner = caller_owner;
		GiveBackRacingGrant(tag, mode, session);

		if (error->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(error);
		FreeErrorData(error);
	}
	PG_END_TRY();

	MemoryContextSwitchTo(caller_context);
	if (granted && !session)
		MoveToOwner(tag, mode, CurrentResourceOwner, caller_owner);
	CurrentResourceOwner = caller_owner;
	return granted;
}

bool
WaitForLock(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms)
{
	Assert(timeout_ms > 0 || timeout_ms == kWaitForever);

	if (timeout_ms > 0)
		return WaitInSubtransaction(tag, mode, session, timeout_ms);
	WaitInQueue(tag, mode, session);
	return true;
}

} // namespace advlock_named
