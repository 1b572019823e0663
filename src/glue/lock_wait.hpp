/*-------------------------------------------------------------------------
 *
 * lock_wait.hpp
 *	  Waiting in the lock queue, for as long as it takes or a bounded time.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

namespace advlock_named {

/* A timeout in milliseconds; kWaitForever means no limit of our own. */
constexpr int kWaitForever = -1;

/* How the errors of a timeout argument name it, and how to wait forever instead. */
struct TimeoutWords
{
	const char *what;
	const char *forever_hint;
};

constexpr TimeoutWords kLockTimeoutWords = {
	"lock timeout", "Call the function without a timeout to wait as long as it takes."};

/*
 * Reads an interval argument as a timeout.  NULL, negative and too long
 * timeouts are errors; 'infinity' (PostgreSQL 17 and later) is kWaitForever;
 * anything positive rounds up to a whole millisecond.
 */
int			TimeoutFromArgument(FunctionCallInfo fcinfo, int argno, const TimeoutWords &words = kLockTimeoutWords);

/* An interval's length in microseconds, a month taken as 30 days; +-INFINITY for +-'infinity'. */
double		IntervalMicroseconds(const Interval *interval);

/*
 * Queues for a lock this backend does not hold in this mode, after a
 * conditional LockAcquire found it taken.  With kWaitForever it waits like
 * LockAcquire; with timeout_ms > 0 it gives up after that long and returns
 * false, leaving no lock and no queue entry behind and the caller's
 * transaction intact.  Errors (cancel, deadlock, statement_timeout)
 * propagate as usual, and a call that fails never leaves a lock held.
 */
bool		WaitForLock(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms);

} // namespace advlock_named
