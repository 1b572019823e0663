/*-------------------------------------------------------------------------
 *
 * statement_holds.cpp
 *	  Session holds taken by the statement in progress; see
 *	  statement_holds.hpp.
 *
 * Where the statement ends: PostgresMain resets MessageContext before it
 * reads each message, and a reset callback registered on it (once per
 * message that takes a hold) says the message is over, failed or not.
 *
 * Whether it failed: an error that reaches PostgresMain is the statement
 * failing; PostgresMain clears error_context_stack and debug_query_string
 * before it aborts the transaction (or the savepoint's subtransaction).  An
 * error caught inside the statement rolls back a subtransaction with both
 * still set (a PL's exception block has its own error context callback, so
 * this holds also for fast-path function calls, which have no query
 * string), except a rollback of our own timed wait's, which says so.
 *
 * Glue layer; see advlock_named.cpp for the rules every glue file follows.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
}

#include "backend_names.hpp"
#include "lease_ops.hpp"
#include "lock_ops.hpp"
#include "statement_holds.hpp"

namespace advlock_named {
namespace {

/* The statement's leases and permits, by token; room reserved in TopMemoryContext. */
struct LeaseGrant
{
	int64		key;
	int64		token;
};
LeaseGrant *statement_leases = nullptr;
int			statement_lease_count = 0;
int			statement_lease_room = 0;
/* registered on MessageContext for the message in progress while watching_message */
MemoryContextCallback message_end;
int			own_rollbacks = 0;

bool
StatementTookAnything()
{
	NameTable  *names = NamesIfMade();

	return (names != nullptr && names->StatementTookHolds()) || statement_lease_count > 0;
}

void
ForgetAll()
{
	ForgetStatementHolds();
	statement_lease_count = 0;
}

/* The message is over: its holds, if any are left, are its for good. */
void
OnMessageEnd(void *arg)
{
	watching_message = false;
	ForgetAll();
}

bool
StatementFailing()
{
	return debug_query_string == NULL && error_context_stack == NULL && own_rollbacks == 0;
}

/* Within an abort: must not raise an ERROR, and does not. */
void
GiveBackStatement()
{
	GiveBackStatementHolds();
	GiveBackUnfinishedStatementLeases();
	ForgetAll();
}

void
OnTransactionEnd(XactEvent event, void *arg)
{
	bool		failing = StatementFailing();

	/* an ERROR out of a rollback of our own leaves no bracket open */
	own_rollbacks = 0;
	if (!StatementTookAnything())
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			/* a procedure's COMMIT: the holds' transaction is done, and so are they */
			ForgetAll();
			break;
		case XACT_EVENT_ABORT:
			if (failing)
				GiveBackStatement();
			break;
		default:
			break;
	}
}

/* A statement failing inside a savepoint aborts only the savepoint's subtransaction. */
void
OnSubtransactionEnd(SubXactEvent event, SubTransactionId subid, SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && StatementTookAnything() && StatementFailing())
		GiveBackStatement();
}

} // namespace

bool		watching_message = false;

bool
WatchMessage()
{
	if (watching_message)
		return true;
	if (MessageContext == NULL)
		return false;
	message_end.func = OnMessageEnd;
	message_end.arg = NULL;
	MemoryContextRegisterResetCallback(MessageContext, &message_end);
	watching_message = true;
	return true;
}

void
ForgetStatementHolds()
{
	NameTable  *names = NamesIfMade();

	if (names != nullptr)
		names->EndStatement();
}

void
ReserveStatementLeases(int count)
{
	int			room;

	if (MessageContext == NULL || statement_lease_count + count <= statement_lease_room)
		return;
	room = Max(8, 2 * (statement_lease_count + count));
	if (statement_leases == nullptr)
		statement_leases = static_cast<LeaseGrant *>(MemoryContextAlloc(TopMemoryContext, room * sizeof(LeaseGrant)));
	else
		statement_leases = static_cast<LeaseGrant *>(repalloc(statement_leases, room * sizeof(LeaseGrant)));
	statement_lease_room = room;
}

void
NoteStatementLease(int64 key, int64 token)
{
	if (statement_lease_count >= statement_lease_room)
		return;					/* no client messages: nothing is the statement's */
	WatchMessage();
	statement_leases[statement_lease_count++] = LeaseGrant{key, token};
}

void
ForgetStatementLease(int64 token)
{
	for (int i = 0; i < statement_lease_count; i++)
		if (statement_leases[i].token == token)
		{
			statement_leases[i] = statement_leases[--statement_lease_count];
			return;
		}
}

void
GiveBackUnfinishedStatementLeases()
{
	for (int i = 0; i < statement_lease_count; i++)
		GiveBackLease(statement_leases[i].key, statement_leases[i].token);
	statement_lease_count = 0;
}

void
RegisterStatementCallbacks()
{
	RegisterXactCallback(OnTransactionEnd, NULL);
	RegisterSubXactCallback(OnSubtransactionEnd, NULL);
}

ErrorData *
RollBackOwnSubtransaction(MemoryContext context)
{
	ErrorData  *error;

	MemoryContextSwitchTo(context);
	error = CopyErrorData();
	FlushErrorState();
	own_rollbacks++;
	RollbackAndReleaseCurrentSubTransaction();
	own_rollbacks--;
	MemoryContextSwitchTo(context);
	return error;
}

} // namespace advlock_named
