/*-------------------------------------------------------------------------
 *
 * settings.hpp
 *	  The extension's configuration parameters.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

namespace advlock_named {

/* advlock_named.max_locks_per_session: distinct named locks one session may hold; 0 = no limit */
extern int	max_locks_per_session;

/* Registers the parameters; called once from _PG_init. */
void		DefineSettings();

} // namespace advlock_named
