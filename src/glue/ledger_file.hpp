/*-------------------------------------------------------------------------
 *
 * ledger_file.hpp
 *	  The lease ledger's file in the data directory, which carries the
 *	  leases a role owns over a crash of the server's processes; see
 *	  src/core/lease_ledger.hpp.
 *
 * Nothing here raises an ERROR: it runs while the postmaster builds shared
 * memory, while a backend makes the lease segment, and under the table's
 * lock.  A failure is logged, and leases then live as long as the shared
 * memory does, as they would without a ledger.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "lease_table.hpp"

namespace advlock_named {

/* The data directory's file with the kept holders. */
constexpr const char kLedgerFile[] = "advlock_named.leases";

/*
 * For a table just built: readmits the holders the ledger kept, if it was
 * written in this life of the postmaster (the table is being built again
 * after a crash) and their time is not up, then writes the ledger anew for
 * the table as it is.
 */
void		ReadmitLedger(LeaseTable *table);

/* Whether the ledger holds a holder ReadmitLedger would readmit now. */
bool		LedgerHoldsLeases();

/* From now on this process writes the changes it makes to kept holders to the ledger. */
void		WriteLedgerFromNowOn();

} // namespace advlock_named
