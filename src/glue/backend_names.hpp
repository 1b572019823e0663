/*-------------------------------------------------------------------------
 *
 * backend_names.hpp
 *	  The backend's one name table (name_table.hpp), shared by the code that
 *	  turns a name into its lock (lock_target) and the code that locks it
 *	  (lock_ops).
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "name_table.hpp"

namespace advlock_named {

/* The table once made, else nullptr; only backend_names.cpp sets it. */
extern NameTable *made_names;

/* Makes the table; raises an ERROR if its memory cannot be had. */
NameTable  &MakeNames();

/*
 * The table, made on first use, with its memory in the "advlock_named
 * names" context (so it shows in pg_backend_memory_contexts).  Inline, as
 * a lock and its unlock ask for it five times.
 */
inline NameTable &
Names()
{
	return made_names != nullptr ? *made_names : MakeNames();
}

/* The table if it has been made, else nullptr: for readers that need none. */
inline NameTable *
NamesIfMade()
{
	return made_names;
}

} // namespace advlock_named
