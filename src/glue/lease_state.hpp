/*-------------------------------------------------------------------------
 *
 * lease_state.hpp
 *	  The shared lease table as a backend sees it, and its settings.
 *
 * Like the name directory it lives in the main shared memory segment when
 * the library is preloaded, and otherwise (PostgreSQL 17 and later) in a
 * DSM segment made by the first lease; shared_state.cpp does both.  On
 * 15 and 16 without preloading there are no leases.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "lease_table.hpp"

namespace advlock_named {

/* advlock_named.max_leases: holders the table has room for (leases and semaphore grants) */
extern int	max_leases;
/* advlock_named.max_lease_ttl: the longest ttl a lease may ask for, in milliseconds */
extern int	max_lease_ttl;
/* advlock_named.max_leases_per_role: holders one role may have at once; 0: no limit */
extern int	max_leases_per_role;

struct LeaseState
{
	LeaseTable *table;
	LWLock	   *lock;			/* the table's, and the token counter's in it */
	LWLock	   *token_lock;		/* one backend at a time makes a token epoch durable */
};

/* The table once this backend adopted it, else nullptr; only shared_state.cpp sets it. */
extern LeaseState *adopted_leases;

/* The table if another backend made it since, adopted now; else nullptr. */
LeaseState *AdoptLeasesIfMade();

/*
 * For readers of the table (the views, a lock waiting out leases): the
 * lease table if one exists on the server, else nullptr, and then no lease
 * can conflict with a lock.  Costs a load when
 * this backend has it or none can exist (15 and 16 without preloading), a
 * call otherwise.  Raises an ERROR only when the table exists but cannot be
 * attached: a lock must not be granted past a lease it cannot see.
 */
inline LeaseState *
LeasesIfAny()
{
#if PG_VERSION_NUM >= 170000
	if (adopted_leases == nullptr)
		return AdoptLeasesIfMade();
#endif
	return adopted_leases;
}

/* For the lease functions: the table, made if need be, or an ERROR saying why there is none. */
LeaseState *RequireLeases();

} // namespace advlock_named
