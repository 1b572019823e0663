/*-------------------------------------------------------------------------
 *
 * bench_control.c
 *	  The control of make bench: the integer builtins' own work, called
 *	  through an extension's C functions.
 *
 * A named lock function costs what the builtin on its key costs, plus two
 * things: what PostgreSQL charges any extension's C function (loading the
 * module in each new backend, finding the function when each execution of
 * a plan starts, where builtins skip the catalog through fmgr_isbuiltin),
 * and the module's own work on the name.  Each function here passes its
 * call straight to a builtin, so it pays the first and nothing else: its
 * ratio to the builtin is the best an extension can do, and named/control
 * is what advlock_named adds.  bench/run.sh builds this in its scratch
 * directory and loads it by path; it is never installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"

PG_MODULE_MAGIC;

#define CONTROL_OF(builtin) \
	PG_FUNCTION_INFO_V1(control_##builtin); \
	Datum \
	control_##builtin(PG_FUNCTION_ARGS) \
	{ \
		return builtin(fcinfo); \
	}

CONTROL_OF(pg_try_advisory_lock_int8)
CONTROL_OF(pg_try_advisory_lock_shared_int8)
CONTROL_OF(pg_advisory_unlock_int8)
CONTROL_OF(pg_advisory_unlock_shared_int8)
CONTROL_OF(pg_try_advisory_xact_lock_int8)
CONTROL_OF(pg_try_advisory_xact_lock_shared_int8)
CONTROL_OF(pg_advisory_xact_lock_int8)
CONTROL_OF(pg_advisory_xact_lock_shared_int8)
