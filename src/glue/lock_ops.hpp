/*-------------------------------------------------------------------------
 *
 * lock_ops.hpp
 *	  Taking and releasing named locks in the lock manager, which alone
 *	  records what is held; this backend adds only the names (name_table).
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "lock_target.hpp"
#include "name_table.hpp"

namespace advlock_named {

enum class Scope
{
	kSession,
	kTransaction,
};

/* Whether this backend holds the advisory lock on key, in either mode, by name or not. */
bool		KeyHeldByMe(int64 key);

/* Hooks the end of transactions, where unused names are dropped; from _PG_init. */
void		RegisterLockCallbacks();

/*
 * Requests the lock and remembers its name.  With kWaitForever it queues
 * like pg_advisory_lock; with 0 it returns false at once when the lock is
 * not free; otherwise it waits at most timeout_ms (see lock_wait.hpp).
 */
bool		AcquireNamedLock(const LockTarget &target, LockMode mode, Scope scope, int timeout_ms);

/*
 * The same for a set of locks, sorted and without duplicates as
 * TargetsFromArrayArgument returns them, all or nothing: when one cannot be
 * had in time none of those taken stay held, and after an error none stay
 * held once the (sub)transaction has rolled back.  The timeout covers the
 * whole set.
 */
bool		AcquireNamedLocks(const LockTarget *targets, int count, LockMode mode, Scope scope,
							  int timeout_ms);

/* Releases one session hold; false (without a warning) when none is held. */
bool		ReleaseNamedSessionLock(const LockTarget &target, LockMode mode);

/* Releases one session hold of each; returns how many were held. */
int			ReleaseNamedSessionLocks(const LockTarget *targets, int count, LockMode mode);

/* Releases every session hold taken by name; returns how many. */
int64		ReleaseAllNamedSessionLocks();

/*
 * Releases, quietly, the session holds the statement in progress took by
 * name; for a statement that failed after taking them.  Never raises an
 * ERROR.
 */
void		GiveBackStatementHolds();

/* One row of named_locks(): what the lock manager holds for a name. */
struct HoldRow
{
	const NameEntry *entry;
	LockMode	mode;
	int64		session_holds;	/* taken by name */
	int64		xact_holds;
};

/* A palloc'd array of the rows with holds, ordered by name and mode. */
HoldRow    *CurrentHolds(size_t *count);

/* A palloc'd array of every remembered name, held or not, unordered. */
const NameEntry *const *KnownNames(size_t *count);

} // namespace advlock_named
