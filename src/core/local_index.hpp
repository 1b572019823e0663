/*-------------------------------------------------------------------------
 *
 * local_index.hpp
 *	  A backend's own table of entries keyed by (key, role), up to a fixed
 *	  number, emptied all at once.
 *
 * The name directory's record of the names this backend used sits on the
 * path of every name new to the backend, when nothing of it is in the CPU's
 * cache: a lookup reads one 16-byte slot (which repeats the entry's key)
 * and then only the entry it finds, and an insert writes the next entry of
 * one array.  Entries never move and never go singly, so a pointer to one
 * stays good until Clear.  Keys are SHA-256 output, so their low bits are
 * the hash.
 *
 * Pure C++: no PostgreSQL header, no allocation (the caller gives the
 * memory), nothing throws.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace advlock_named {

template <typename Entry>
class LocalIndex
{
public:
	struct Slot
	{
		std::int64_t key;
		std::uint32_t role;
		std::uint32_t place;	/* the entry's plus one; 0: a free slot */
	};

	/* Slots for a capacity (a power of two): twice as many, so probes stay short. */
	static constexpr std::size_t SlotCount(std::uint32_t capacity) noexcept { return 2 * std::size_t{capacity}; }

	/* entries: room for capacity entries; slots: SlotCount(capacity) of them, zeroed. */
	LocalIndex(Entry *entries, Slot *slots, std::uint32_t capacity) noexcept
		: entries_(entries), slots_(slots), capacity_(capacity) {}

	Entry	   *Find(std::int64_t key, std::uint32_t role) const noexcept
	{
		for (std::size_t i = Home(key, role);; i = Next(i))
		{
			const Slot &slot = slots_[i];

			if (slot.place == 0)
				return nullptr;
			if (slot.key == key && slot.role == role)
				return &entries_[slot.place - 1];
		}
	}

	/*
	 * The entry of (key, role), added if absent (*found says which); the new
	 * one is raw memory for the caller to fill.  nullptr when it is absent
	 * and the table is full.
	 */
	Entry	   *Enter(std::int64_t key, std::uint32_t role, bool *found) noexcept
	{
		std::size_t i;

		for (i = Home(key, role); slots_[i].place != 0; i = Next(i))
		{
			if (slots_[i].key == key && slots_[i].role == role)
			{
				*found = true;
				return &entries_[slots_[i].place - 1];
			}
		}
		*found = false;
		if (count_ == capacity_)
			return nullptr;
		slots_[i] = Slot{key, role, ++count_};
		return &entries_[count_ - 1];
	}

	std::uint32_t Count() const noexcept { return count_; }

	/* Forgets every entry; pointers to them are invalid after. */
	void		Clear() noexcept
	{
		std::memset(static_cast<void *>(slots_), 0, SlotCount(capacity_) * sizeof(Slot));
		count_ = 0;
	}

private:
	std::size_t Home(std::int64_t key, std::uint32_t role) const noexcept
	{
		return (static_cast<std::uint64_t>(key) ^ (std::uint64_t{role} * 0x9E3779B97F4A7C15ULL)) &
			(SlotCount(capacity_) - 1);
	}

	std::size_t Next(std::size_t slot) const noexcept { return (slot + 1) & (SlotCount(capacity_) - 1); }

	Entry	   *entries_;
	Slot	   *slots_;
	std::uint32_t capacity_;
	std::uint32_t count_ = 0;
};

} // namespace advlock_named
