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

/*
 * The table, made on first use, with its memory in the "advlock_named
 * names" context (so it shows in pg_backend_memory_contexts); raises an
 * ERROR if that memory cannot be had.
 */
NameTable  &Names();

/* The table if it has been made, else nullptr: for readers that need none. */
NameTable  *NamesIfMade();

} // namespace advlock_named
