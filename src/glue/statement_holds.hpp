/*-------------------------------------------------------------------------
 *
 * statement_holds.hpp
 *	  Session holds taken by the statement in progress, given back if that
 *	  statement fails.
 *
 * A session hold outlives its transaction, so without help a statement
 * that takes one and then fails (a later error in the statement, a cancel,
 * a statement timeout, a deadlock) leaves it held while its client was told
 * the call failed.  Here "the statement" is the client's request: one
 * message of the protocol (a simple-protocol query string, whatever
 * statements it holds, or one extended-protocol Execute).  A hold is the
 * statement's until the message ends or the hold's transaction commits,
 * whichever comes first; if an error reaches the top level before that,
 * the hold is given back as part of the abort.  An error caught inside the
 * statement (a PL/pgSQL exception block) is not the statement failing.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "name_table.hpp"

namespace advlock_named {

/* Whether a callback watches for the end of the message in progress; only statement_holds.cpp sets it. */
extern bool watching_message;

/*
 * Starts watching the message in progress; false when there are no client
 * messages (a background worker), so nothing is the statement's.
 */
bool		WatchMessage();

/*
 * A session hold taken by name, granted just now; never fails.  Inline,
 * with the counts on the name's own entry: every session lock pays it.
 */
inline void
NoteStatementHold(NameTable &names, NameEntry &entry, LockMode mode)
{
	if (likely(watching_message) || WatchMessage())
		names.NoteStatementHold(entry, mode);
}

/* A session hold of (entry, mode) released by name: the statement's own go first. */
inline void
ForgetStatementHold(NameTable &names, NameEntry &entry, LockMode mode)
{
	(void) names.ForgetStatementHold(entry, mode);
}

/* Every session hold taken by name released at once. */
void		ForgetStatementHolds();

/* The same for leases and semaphore permits, by token: a failed statement releases them. */
void		ReserveStatementLeases(int count);
void		NoteStatementLease(int64 key, int64 token);
void		ForgetStatementLease(int64 token);

/*
 * The session ends in the middle of a message: its statement never
 * completed, so its leases go (its locks go with the session anyway).
 */
void		GiveBackUnfinishedStatementLeases();

/* Hooks the transaction ends that decide; from _PG_init. */
void		RegisterStatementCallbacks();

/*
 * In the PG_CATCH of an internal subtransaction that swallows its error:
 * copies the error into context, rolls the subtransaction back without
 * that being taken for the statement failing, and returns the copy, with
 * context current.
 */
ErrorData  *RollBackOwnSubtransaction(MemoryContext context);

} // namespace advlock_named
