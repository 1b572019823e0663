/*-------------------------------------------------------------------------
 *
 * settings.cpp
 *	  The extension's configuration parameters.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

#include "settings.hpp"

namespace advlock_named {

/*
 * Every distinct name a session holds takes a slot in the shared lock table
 * (sized by max_locks_per_transaction), so one runaway session could fill it
 * and leave every other session, new connections included, with "out of
 * shared memory".  The default stays well below the default table size.
 */
int			max_locks_per_session = 1000;

/*
 * Up to PostgreSQL 15 each DefineCustom*Variable re-sorts the server's whole
 * array of settings, about 7,000 name comparisons for a name that sorts
 * first as ours do: 0.1 ms per setting in every backend that loads the
 * library unpreloaded, more than the rest of _PG_init together.  A
 * placeholder (the setting in the configuration file) or preloading avoids
 * it; PostgreSQL 16 keeps the settings in a hash table.  Add settings
 * sparingly.
 */
void
DefineSettings()
{
	/*
	 * Superuser-only, so that a runaway or hostile session cannot lift its own
	 * limit; ALTER ROLE/DATABASE ... SET still tailors it per role or database.
	 */
	DefineCustomIntVariable("advlock_named.max_locks_per_session",
							"Maximum number of distinct named locks one session may hold.",
							"Re-entrant holds of a lock count once; 0 means no limit.",
							&max_locks_per_session,
							max_locks_per_session,
							0, PG_INT32_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("advlock_named");
}

} // namespace advlock_named
