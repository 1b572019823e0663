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

NameTable  *made_names = nullptr;

/* On first use, so that loading the module allocates nothing. */
pg_noinline NameTable &
MakeNames()
{
	void	   *storage;

	name_context = AllocSetContextCreate(TopMemoryContext, "advlock_named names",
										 ALLOCSET_SMALL_SIZES);
	storage = MemoryContextAlloc(name_context, sizeof(NameTable));
	made_names = new (storage) NameTable(Allocator{AllocateNameMemory, ReleaseNameMemory});
	return *made_names;
}

} // namespace advlock_named
