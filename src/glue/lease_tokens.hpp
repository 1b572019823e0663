/*-------------------------------------------------------------------------
 *
 * lease_tokens.hpp
 *	  What fencing tokens need from the server: the WAL timeline, and a
 *	  file in the data directory that makes each token epoch durable before
 *	  a token of it is given out.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "lease_state.hpp"

namespace advlock_named {

/* The data directory's file with the highest token epoch made durable. */
constexpr const char kEpochFile[] = "advlock_named.epoch";

/*
 * Makes a token epoch durable if the table's counter wants one (the first
 * token since the state was made, or the current epoch half used); then
 * tokens can be drawn under the table's lock without any I/O.  Call it
 * before taking that lock; it raises an ERROR if the file cannot be read or
 * written, or when every epoch is used.
 */
void		EnsureTokenEpoch(const LeaseState &leases);

/* The timeline tokens are drawn on now: the WAL insertion one, or the one replayed on a standby. */
uint64		TokenTimeline();

/*
 * A token drawn under the table's exclusive lock, or 0 when the counter
 * needs EnsureTokenEpoch first (the caller lets go of the lock, calls it,
 * and tries again).  Raises an ERROR, after letting go of the lock, when
 * the timeline is too high for tokens or every epoch is used.
 */
int64		DrawToken(const LeaseState &leases);

} // namespace advlock_named
