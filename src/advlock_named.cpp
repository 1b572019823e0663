/*-------------------------------------------------------------------------
 *
 * advlock_named.cpp
 *	  Module entry: magic block, settings, the log hook of the unlock
 *	  functions, and the transaction callbacks that keep the hold registry
 *	  in step with the lock manager's release rules.
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

#include "access/xact.h"
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

#include "lock_ops.hpp"
#include "name_directory.hpp"
#include "settings.hpp"

namespace advlock_named {
namespace {

/*
 * Transaction holds end with the top transaction.  On PREPARE they pass to
 * the prepared transaction, which this session no longer controls.
 */
void
OnTransactionEvent(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			EndTransaction();
			break;
		default:
			break;
	}
}

/* Mirrors LockReassignCurrentOwner and LockReleaseCurrentOwner. */
void
OnSubTransactionEvent(SubXactEvent event, SubTransactionId my_subid,
					  SubTransactionId parent_subid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			Registry().CommitSubTransaction(my_subid, parent_subid);
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			Registry().AbortSubTransaction(my_subid);
			break;
		default:
			break;
	}
}

} // namespace
} // namespace advlock_named

void
_PG_init(void)
{
	/* first: its setting must exist before DefineSettings reserves the prefix */
	advlock_named::InitNameDirectory();	/* name directory and statistics */
	advlock_named::DefineSettings();
	advlock_named::InstallLockReleaseHook();
	RegisterXactCallback(advlock_named::OnTransactionEvent, NULL);
	RegisterSubXactCallback(advlock_named::OnSubTransactionEvent, NULL);
}
