/*-------------------------------------------------------------------------
 *
 * timed_wait.hpp
 *	  Waiting a bounded time in the lock queue without aborting the caller.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

namespace advlock_named {

/* A timeout in milliseconds; kWaitForever means no limit of our own. */
constexpr int kWaitForever = -1;

/*
 * Reads an interval argument as a timeout.  NULL, negative and too long
 * timeouts are errors; 'infinity' (PostgreSQL 17 and later) is kWaitForever;
 * anything positive rounds up to a whole millisecond.
 */
int			TimeoutFromArgument(FunctionCallInfo fcinfo, int argno);

/*
 * Queues for the lock like LockAcquire, but gives up after timeout_ms
 * (> 0) and returns false, leaving no lock and no queue entry behind and
 * the caller's transaction intact.  Other errors (cancel, deadlock,
 * statement_timeout) propagate as usual.
 */
bool		LockAcquireWithTimeout(const LOCKTAG *tag, LOCKMODE mode, bool session, int timeout_ms);

} // namespace advlock_named
