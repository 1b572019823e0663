/*-------------------------------------------------------------------------
 *
 * lock_target.cpp
 *	  Validating lock names and deriving their advisory lock tags.
 *
 * Glue layer.  Only plain data is alive while server functions run here,
 * so an ERROR may longjmp through these frames without skipping anything.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

#include <algorithm>
#include <string_view>

#include "backend_names.hpp"
#include "key_cache.hpp"
#include "lock_target.hpp"
#include "name_key.hpp"
#include "pg_compat.hpp"

namespace advlock_named {

/*
 * field4 = 1 is the int8 key space of pg_advisory_lock(bigint): a named lock
 * is exactly the builtin advisory lock on named_lock_key(name).
 */
constexpr uint16 kInt8KeySpace = 1;

LOCKTAG
AdvisoryTag(int64 key)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) ((uint64) key >> 32), (uint32) key, kInt8KeySpace);
	return tag;
}

namespace {

KeyCache	key_cache;

/*
 * The bytes a name's key is the digest of.  The key is defined over UTF-8 so
 * that it is the same in every database.  A SQL_ASCII database declares no
 * encoding to convert from: its bytes are hashed as they are, which for
 * UTF-8 text is the same key.  *converted is a palloc'd copy to free, or
 * NULL.
 */
inline std::string_view
KeyBytes(const char *name, int length, char **converted)
{
	int			encoding = GetDatabaseEncoding();
	char	   *utf8;

	*converted = NULL;
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return std::string_view(name, length);
	utf8 = pg_server_to_any(name, length, PG_UTF8);
	if (utf8 == name)
		return std::string_view(name, length);
	*converted = utf8;
	return std::string_view(utf8, strlen(utf8));
}

/*
 * The key of a name the name table does not have by name: the name checked,
 * converted to UTF-8 if the database is not, and looked up in the key cache.
 * Apart, so that a name the table has saves none of the registers this needs.
 */
pg_noinline void
DeriveKey(LockTarget *target)
{
	char	   *converted;
	std::string_view utf8_name = KeyBytes(target->name, target->name_length, &converted);
	size_t		utf8_length = utf8_name.size();

	switch (CheckName(utf8_name))
	{
		case NameProblem::kEmpty:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lock name must not be empty")));
			break;
		case NameProblem::kTooLong:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("lock name is too long"),
					 errdetail("The name is %zu bytes long in UTF-8; the limit is %zu bytes.",
							   utf8_length, kMaxNameBytes),
					 errhint("Use a shorter name, for example a digest of the long one.")));
			break;
		case NameProblem::kNone:
			break;
	}

	target->key = key_cache.Key(utf8_name, &target->fingerprint);
	if (converted != NULL)
		pfree(converted);
}

bool
KeyLess(const LockTarget &a, const LockTarget &b)
{
	return a.key < b.key;
}

bool
SameKey(const LockTarget &a, const LockTarget &b)
{
	return a.key == b.key;
}

} // namespace

LockTarget
TargetFromText(text *name)
{
	LockTarget	target;
	NameTable  *names = NamesIfMade();

	target.name = VARDATA_ANY(name);
	target.name_length = VARSIZE_ANY_EXHDR(name);
	target.fingerprint = 0;
	target.entry = nullptr;
	target.entry_prunes = 0;

	/*
	 * A name this backend has locked before, and still remembers, was
	 * checked and its key derived then: its entry has the key.
	 */
	if (names != nullptr)
		target.entry = names->FindName(std::string_view(target.name, target.name_length));
	if (target.entry != nullptr)
	{
		target.entry_prunes = names->PruneCount();
		target.key = target.entry->key;
	}
	else
		DeriveKey(&target);
	target.tag = AdvisoryTag(target.key);
	return target;
}

uint64
NameFingerprint(const LockTarget &target)
{
	char	   *converted;
	uint64		fingerprint;

	if (target.fingerprint != 0)
		return target.fingerprint;
	fingerprint = HashName(KeyBytes(target.name, target.name_length, &converted)).fingerprint;
	if (converted != NULL)
		pfree(converted);
	return fingerprint;
}

LockTarget *
TargetsFromArrayArgument(FunctionCallInfo fcinfo, int argno, int *count)
{
	ArrayType  *names;
	Datum	   *elements;
	bool	   *nulls;
	int			element_count;
	LockTarget *targets;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lock name array must not be null")));
	names = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(names) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("lock name array must be one-dimensional")));

	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &element_count);
	if (element_count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lock name array must not be empty")));

	/* Every name is checked before anything is locked. */
	targets = static_cast<LockTarget *>(palloc(element_count * sizeof(LockTarget)));
	for (int i = 0; i < element_count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("lock name must not be null"),
					 errdetail("Element %d of the array is null.", ARR_LBOUND(names)[0] + i)));
		targets[i] = TargetFromText(DatumGetTextPP(elements[i]));
	}

	/*
	 * One canonical order, by key, is what makes sets deadlock-free against
	 * each other; names that share a key are one lock, taken once.
	 */
	std::sort(targets, targets + element_count, KeyLess);
	*count = std::unique(targets, targets + element_count, SameKey) - targets;
	return targets;
}

} // namespace advlock_named
