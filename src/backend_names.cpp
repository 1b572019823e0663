/*-------------------------------------------------------------------------
 *
 * backend_names.cpp
 *	  The backend's name table and its memory context.
 *
 *-------------------------------------------------------------------------
 */
extern "C" {
#include "postgres.h"

#include "utils/memutils.h"
}

#include <new>

#include "backend_names.hpp"

namespace advlock_named {
namespace {

MemoryContext name_context = NULL;
NameTable  *name_table = NULL;

void *
AllocateNameMemory(std::size_t size)
{
	return MemoryContextAllocExtended(name_context, size, MCXT_ALLOC_NO_OOM);
}

void
ReleaseNameMemory(void *pointer)
{
	pfree(pointer);
}

} // namespace

/* Made on first use, so that loading the module allocates nothing. */
NameTable &
Names()
{
	if (name_table == NULL)
	{
		void	   *storage;

		name_context = AllocSetContextCreate(TopMemoryContext, "advlock_named names",
											 ALLOCSET_SMALL_SIZES);
		storage = MemoryContextAlloc(name_context, sizeof(NameTable));
		name_table = new (storage) NameTable(Allocator{AllocateNameMemory, ReleaseNameMemory});
	}
	return *name_table;
}

NameTable *
NamesIfMade()
{
	return name_table;
}

} // namespace advlock_named
