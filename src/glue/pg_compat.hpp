/*-------------------------------------------------------------------------
 *
 * pg_compat.hpp
 *	  The few server API differences between the supported major versions.
 *
 * Include after the PostgreSQL headers, inside the glue layer only.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

/* The varlena macros moved out of postgres.h in PostgreSQL 16. */
#if PG_VERSION_NUM >= 160000
extern "C" {
#include "varatt.h"
}
#endif

#if PG_VERSION_NUM >= 170000
#define AnlLockHeldByMe(tag, mode) LockHeldByMe((tag), (mode), false)
#else
#define AnlLockHeldByMe(tag, mode) LockHeldByMe((tag), (mode))
#endif

#if PG_VERSION_NUM >= 180000
#define AnlLockAcquireExtended(tag, mode, session, dont_wait, locallockp) \
	LockAcquireExtended((tag), (mode), (session), (dont_wait), true, (locallockp), false)
#else
#define AnlLockAcquireExtended(tag, mode, session, dont_wait, locallockp) \
	LockAcquireExtended((tag), (mode), (session), (dont_wait), true, (locallockp))
#endif

/* Infinite intervals exist from PostgreSQL 17 on. */
#ifdef INTERVAL_NOT_FINITE
#define AnlIntervalIsPlusInfinity(interval) INTERVAL_IS_NOEND(interval)
#define AnlIntervalIsMinusInfinity(interval) INTERVAL_IS_NOBEGIN(interval)
#else
#define AnlIntervalIsPlusInfinity(interval) ((void) (interval), false)
#define AnlIntervalIsMinusInfinity(interval) ((void) (interval), false)
#endif


/* This backend's PGPROC number, which names its slot in shared arrays. */
#if PG_VERSION_NUM >= 170000
#define AnlMyProcNumber() MyProcNumber
#else
#define AnlMyProcNumber() (MyProc->pgprocno)
#endif
