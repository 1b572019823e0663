/*-------------------------------------------------------------------------
 *
 * lock_ops.hpp
 *	  Taking and releasing named locks in the lock manager while keeping
 *	  this backend's hold registry in step.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "hold_registry.hpp"
#include "lock_target.hpp"

namespace advlock_named {

enum class Scope
{
	kSession,
	kTransaction,
};

/* This backend's registry of what it took through the extension. */
HoldRegistry &Registry();

/* Lets the unlock functions answer false without LockRelease's WARNING; from _PG_init. */
void		InstallLockReleaseHook();

/* The top transaction ended (commit, abort or prepare). */
void		EndTransaction();

/*
 * Requests the lock and records the hold.  With kWaitForever it queues like
 * pg_advisory_lock; with 0 it returns false at once when the lock is not
 * free; otherwise it waits at most timeout_ms (see lock_wait.hpp).
 */
bool		AcquireNamedLock(const LockTarget &target, LockMode mode, Scope scope, int timeout_ms);

/*
 * The same for a set of locks, sorted and without duplicates as
 * TargetsFromArrayArgument returns them, all or nothing: when one cannot be
 * had in time, or an error interrupts, none of those taken stay held.  The
 * timeout covers the whole set.
 */
bool		AcquireNamedLocks(const LockTarget *targets, int count, LockMode mode, Scope scope,
							  int timeout_ms);

/* A palloc'd, unordered copy of the registry's non-empty entries. */
HoldRow    *SnapshotRegistry(size_t *count);

/* Releases one session hold; false (without a warning) when none is held. */
bool		ReleaseNamedSessionLock(const LockTarget &target, LockMode mode);

/* Releases one session hold of each; returns how many were held. */
int			ReleaseNamedSessionLocks(const LockTarget *targets, int count, LockMode mode);

/* Releases every session hold taken through the extension; returns how many. */
int64		ReleaseAllNamedSessionLocks();

/*
 * Forgets session holds that something else released behind our back:
 * pg_advisory_unlock_all(), DISCARD ALL or pg_advisory_unlock(key).
 */
void		ReconcileSessionHolds();

} // namespace advlock_named
