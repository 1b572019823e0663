/*-------------------------------------------------------------------------
 *
 * name_table.cpp
 *	  The backend's table of locked keys and their names.
 *
 *-------------------------------------------------------------------------
 */
#include "name_table.hpp"

#include <cstddef>
#include <cstring>

namespace advlock_named {
namespace {

std::size_t
EntryBytes(std::size_t name_length) noexcept
{
	return offsetof(NameEntry, name) + (name_length > 0 ? name_length : 1);
}

std::uint64_t
NameHash(std::string_view name) noexcept
{
	return HashBytes(name.data(), name.size());
}

} // namespace

NameTable::~NameTable()
{
	/* the index by key has every entry */
	for (std::size_t i = 0; i < slot_count_; i++)
		if (slots_[i].entry != nullptr)
			FreeEntry(slots_[i].entry);
	if (slots_ != nullptr)
		allocator_.release(slots_);
}

/* A power of two that keeps the load at or below 3/4, and at least 16. */
std::size_t
NameTable::SlotsFor(std::size_t count) noexcept
{
	std::size_t size = 16;

	while (count * 4 > size * 3)
		size *= 2;
	return size;
}

/* Both indexes' slots, size each. */
NameTable::Slot *
NameTable::AllocateSlots(std::size_t size) noexcept
{
	Slot	   *slots = static_cast<Slot *>(allocator_.allocate(IndexBytes(size)));

	if (slots != nullptr)
		std::memset(static_cast<void *>(slots), 0, IndexBytes(size));
	return slots;
}

/* Adds entry to one index, at the first free slot from home on. */
void
NameTable::PlaceIn(Slot *slots, std::size_t size, std::size_t home, std::uint64_t hash,
				   NameEntry *entry) noexcept
{
	std::size_t i = home;

	while (slots[i].entry != nullptr)
		i = (i + 1) & (size - 1);
	slots[i] = Slot{hash, entry};
}

/* Adds entry to both indexes (to the one by name only when it has its whole name). */
void
NameTable::Place(Slot *slots, std::size_t size, NameEntry *entry) noexcept
{
	std::uint64_t key = static_cast<std::uint64_t>(entry->key);

	PlaceIn(slots, size, KeyHome(key, size), key, entry);
	if (entry->whole_name)
	{
		std::uint64_t hash = NameHash(entry->Name());

		PlaceIn(slots + size, size, NameHome(hash, size), hash, entry);
	}
}

/* Moves every entry into new indexes of size slots; false leaves all as it was. */
bool
NameTable::Resize(std::size_t size) noexcept
{
	Slot	   *slots = AllocateSlots(size);

	if (slots == nullptr)
		return false;
	for (std::size_t i = 0; i < slot_count_; i++)
		if (slots_[i].entry != nullptr)
			Place(slots, size, slots_[i].entry);
	if (slots_ != nullptr)
	{
		allocator_.release(slots_);
		allocated_bytes_ -= IndexBytes(slot_count_);
	}
	slots_ = slots;
	slot_count_ = size;
	allocated_bytes_ += IndexBytes(size);
	return true;
}

void
NameTable::FreeEntry(NameEntry *entry) noexcept
{
	allocated_bytes_ -= EntryBytes(entry->name_length);
	allocator_.release(entry);
}

NameEntry *
NameTable::Find(std::int64_t key) const noexcept
{
	if (last_found_ != nullptr && last_found_->key == key)
		return last_found_;
	if (slot_count_ == 0)
		return nullptr;

	std::size_t mask = slot_count_ - 1;

	for (std::size_t i = KeyHome(static_cast<std::uint64_t>(key), slot_count_);; i = (i + 1) & mask)
	{
		const Slot &slot = slots_[i];

		if (slot.entry == nullptr)
			return nullptr;
		if (slot.hash == static_cast<std::uint64_t>(key))
			return last_found_ = slot.entry;
	}
}

NameEntry *
NameTable::FindName(std::string_view name) const noexcept
{
	if (last_found_ != nullptr && last_found_->HasName(name))
		return last_found_;
	if (slot_count_ == 0)
		return nullptr;

	const Slot *name_slots = slots_ + slot_count_;
	std::uint64_t hash = NameHash(name);
	std::size_t mask = slot_count_ - 1;

	for (std::size_t i = NameHome(hash, slot_count_);; i = (i + 1) & mask)
	{
		const Slot &slot = name_slots[i];

		if (slot.entry == nullptr)
			return nullptr;
		if (slot.hash == hash && slot.entry->HasName(name))
			return last_found_ = slot.entry;
	}
}

NameEntry *
NameTable::Insert(std::int64_t key, std::string_view name, bool whole_name) noexcept
{
	NameEntry  *entry;

	if (SlotsFor(count_ + 1) > slot_count_ && !Resize(SlotsFor(count_ + 1)))
		return nullptr;
	entry = static_cast<NameEntry *>(allocator_.allocate(EntryBytes(name.size())));
	if (entry == nullptr)
		return nullptr;
	allocated_bytes_ += EntryBytes(name.size());

	entry->key = key;
	entry->named_session_holds[0] = 0;
	entry->named_session_holds[1] = 0;
	entry->statement_holds[0] = 0;
	entry->statement_holds[1] = 0;
	entry->statement_generation = 0;
	entry->directory_entry = nullptr;
	entry->directory_generation = 0;
	entry->directory_role = 0;
	entry->name_length = static_cast<std::uint32_t>(name.size());
	entry->whole_name = whole_name;
	std::memcpy(entry->name, name.data(), name.size());
	Place(slots_, slot_count_, entry);
	count_++;
	return last_found_ = entry;
}

void
NameTable::SetNamedSessionHolds(NameEntry &entry, LockMode mode, std::int64_t holds) noexcept
{
	bool		had = entry.HasNamedSessionHolds();

	entry.named_session_holds[static_cast<int>(mode)] = holds < 0 ? 0 : holds;
	if (entry.HasNamedSessionHolds() && !had)
		named_session_count_++;
	else if (had && !entry.HasNamedSessionHolds())
		named_session_count_--;
}

void
NameTable::ForEachStatementHold(void (*visit) (NameEntry &entry, LockMode mode, std::int64_t holds, void *context),
								void *context) const noexcept
{
	if (!statement_took_holds_)
		return;
	for (std::size_t i = 0; i < slot_count_; i++)
		if (NameEntry *entry = slots_[i].entry)
			for (int m = 0; m < kModeCount; m++)
			{
				LockMode	mode = static_cast<LockMode>(m);
				std::int64_t holds = StatementHolds(*entry, mode);

				if (holds > 0)
					visit(*entry, mode, holds, context);
			}
}

void
NameTable::Prune(bool (*is_held) (const NameEntry &entry, void *context), void *context) noexcept
{
	std::size_t kept = 0;
	std::size_t size;
	Slot	   *slots;

	for (std::size_t i = 0; i < slot_count_; i++)
		if (NameEntry *entry = slots_[i].entry)
		{
			entry->kept = is_held(*entry, context);
			kept += entry->kept;
		}

	last_found_ = nullptr;
	prune_count_++;

	/* without memory for a right-sized array nothing is pruned this time */
	size = SlotsFor(kept);
	slots = AllocateSlots(size);
	if (slots == nullptr)
		return;

	for (std::size_t i = 0; i < slot_count_; i++)
	{
		NameEntry  *entry = slots_[i].entry;

		if (entry == nullptr)
			continue;
		if (entry->kept)
		{
			Place(slots, size, entry);
			continue;
		}
		if (entry->HasNamedSessionHolds())
			named_session_count_--;
		FreeEntry(entry);
	}
	if (slots_ != nullptr)
		allocator_.release(slots_);
	allocated_bytes_ = allocated_bytes_ - IndexBytes(slot_count_) + IndexBytes(size);
	slots_ = slots;
	slot_count_ = size;
	count_ = kept;
	prune_at_ = count_ * 2 > kMinPruneSize ? count_ * 2 : kMinPruneSize;
}

void
NameTable::ForEach(void (*visit) (NameEntry &entry, void *context), void *context) const noexcept
{
	for (std::size_t i = 0; i < slot_count_; i++)
		if (slots_[i].entry != nullptr)
			visit(*slots_[i].entry, context);
}

} // namespace advlock_named
