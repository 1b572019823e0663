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

/* Room to record count more holds; before the locks, as recording after a grant must not fail. */
void		ReserveStatementHolds(int count);

/* A session hold taken by name, granted just now. */
void		NoteStatementHold(int64 key, LockMode mode);

/* A session hold of (key, mode) released by name: the statement's own go first. */
void		ForgetStatementHold(int64 key, LockMode mode);

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
 * Brackets a rollback of an internal subtransaction that swallows its
 * error, so that it is not taken for the statement failing.
 */
void		BeginOwnRollback();
void		EndOwnRollback();

} // namespace advlock_named
