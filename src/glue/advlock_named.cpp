/*-------------------------------------------------------------------------
 *
 * advlock_named.cpp
 *	  Module entry: magic block, settings and the callback that drops the
 *	  names of locks no longer held.
 *
 * Boundary rules for every glue file (the ones that include postgres.h):
 *	1. No object with a non-trivial destructor is alive across a call that
 *	   can raise an ERROR, which longjmps over C++ frames.
 *	2. Nothing the glue calls can throw: the pure C++ core is noexcept.
 *	3. Callbacks never raise an ERROR.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "storage/lock.h"

/* Entry points the server looks up by name; see PG_CXXFLAGS in the Makefile. */
#pragma GCC visibility push(default)
#ifdef PG_MODULE_MAGIC_EXT
PG_MODULE_MAGIC_EXT(.name = "advlock_named", .version = ADVLOCK_NAMED_VERSION);
#else
PG_MODULE_MAGIC;
#endif

void		_PG_init(void);
#pragma GCC visibility pop
}

#include "lease_ops.hpp"
#include "lock_ops.hpp"
#include "name_directory.hpp"
#include "settings.hpp"
#include "statement_holds.hpp"

void
_PG_init(void)
{
	/* first: its setting must exist before DefineSettings reserves the prefix */
	advlock_named::InitNameDirectory();	/* name directory and statistics */
	advlock_named::DefineSettings();
	advlock_named::RegisterLockCallbacks();
	advlock_named::RegisterStatementCallbacks();
	advlock_named::RegisterLeaseCallbacks();
}
