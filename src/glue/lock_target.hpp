/*-------------------------------------------------------------------------
 *
 * lock_target.hpp
 *	  Turning a SQL lock-name argument into the advisory lock it names.
 *
 * Glue layer: include after the PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include "name_table.hpp"

namespace advlock_named {

/* A validated name and the lock-manager tag of its advisory key. */
struct LockTarget
{
	LOCKTAG		tag;
	int64		key;
	const char *name;			/* server encoding, as the caller wrote it */
	int			name_length;
	uint64		fingerprint;	/* NameFingerprint's, when deriving the key gave it; else 0 */
	/* the name table's entry of the name, if reading it found one, ... */
	NameEntry  *entry;
	/* ... good while the table's PruneCount() is still this */
	uint64		entry_prunes;
};

/* Reads a name; raises an ERROR for an empty or oversize one. */
LockTarget	TargetFromText(text *name);

/*
 * Reads argument argno; raises an ERROR for a NULL, empty or oversize name.
 * Inline: a dozen SQL functions call it, too many for the link-time
 * optimizer to inline it into the lock and unlock calls by itself.
 */
inline LockTarget
TargetFromArgument(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lock name must not be null")));
	return TargetFromText(PG_GETARG_TEXT_PP(argno));
}

/*
 * Reads a text[] argument as a set of names: every element is validated
 * (NULL, empty or oversize names and NULL, empty or multidimensional arrays
 * are errors); the palloc'd result is sorted by key, without duplicate keys.
 */
LockTarget *TargetsFromArrayArgument(FunctionCallInfo fcinfo, int argno, int *count);

/*
 * The name's fingerprint (name_key.hpp): free when this call derived the
 * key, otherwise a SHA-256 of the name.
 */
uint64		NameFingerprint(const LockTarget &target);

/* The tag of the advisory lock on key in this database, as pg_advisory_lock(bigint) builds it. */
LOCKTAG		AdvisoryTag(int64 key);

inline LOCKMODE
ToLockManagerMode(LockMode mode)
{
	return mode == LockMode::kShared ? ShareLock : ExclusiveLock;
}

} // namespace advlock_named
