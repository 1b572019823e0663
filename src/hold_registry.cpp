/*-------------------------------------------------------------------------
 *
 * hold_registry.cpp
 *	  Backend-local bookkeeping of named lock holds.
 *
 *-------------------------------------------------------------------------
 */
#include "hold_registry.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

namespace advlock_named {
namespace {

HoldRegistry::XactHold *
FindXactHold(HoldRegistry::Entry &entry, SubXactId subxact) noexcept
{
	for (auto &hold : entry.xact_holds)
		if (hold.subxact == subxact)
			return &hold;
	return nullptr;
}

bool
NameLess(const HoldRow &a, const HoldRow &b) noexcept
{
	int			order = std::memcmp(a.name, b.name, std::min(a.name_length, b.name_length));

	if (order != 0)
		return order < 0;
	if (a.name_length != b.name_length)
		return a.name_length < b.name_length;
	return a.mode < b.mode;
}

} // namespace

HoldRegistry::~HoldRegistry()
{
	for (const Slot &slot : slots_)
		delete slot.entry;
}

std::uint64_t
HoldRegistry::Tag(std::int64_t key, LockMode mode) noexcept
{
	/* the two modes of a key must not land in neighbouring slots */
	std::uint64_t spread_mode = static_cast<std::uint64_t>(mode) * 0x9E3779B97F4A7C15ULL;

	return static_cast<std::uint64_t>(key) ^ spread_mode;
}

void
HoldRegistry::Place(Entry *entry) noexcept
{
	std::size_t mask = slots_.size() - 1;
	std::uint64_t tag = Tag(entry->key, entry->mode);
	std::size_t i = Home(tag);

	while (slots_[i].entry != nullptr)
		i = (i + 1) & mask;
	slots_[i] = Slot{tag, entry};
}

/* Doubles the table; the only step besides Prepare's own that allocates. */
void
HoldRegistry::Grow()
{
	std::vector<Slot> old(std::max<std::size_t>(16, 2 * slots_.size()), Slot{0, nullptr});

	old.swap(slots_);
	for (const Slot &slot : old)
		if (slot.entry != nullptr)
			Place(slot.entry);
}

void
HoldRegistry::Erase(const Entry &entry) noexcept
{
	std::size_t mask = slots_.size() - 1;
	std::size_t hole = Home(Tag(entry.key, entry.mode));

	while (slots_[hole].entry != &entry)
		hole = (hole + 1) & mask;
	delete slots_[hole].entry;
	slots_[hole].entry = nullptr;
	entry_count_--;

	/* Backward shift: move up every later entry whose probe passes the hole. */
	for (std::size_t i = (hole + 1) & mask; slots_[i].entry != nullptr; i = (i + 1) & mask)
	{
		std::size_t home = Home(slots_[i].tag);
		bool		reachable_from_hole = hole <= i ? (home <= hole || home > i)
			: (home <= hole && home > i);

		if (reachable_from_hole)
		{
			slots_[hole] = slots_[i];
			slots_[i].entry = nullptr;
			hole = i;
		}
	}
}

HoldRegistry::Entry *
HoldRegistry::Prepare(std::int64_t key, LockMode mode, std::string_view name, SubXactId subxact) noexcept
{
	try
	{
		Entry	   *entry = Find(key, mode);

		if (entry == nullptr)
		{
			if ((entry_count_ + 1) * 4 > slots_.size() * 3)
				Grow();

			std::unique_ptr<Entry> created = std::make_unique<Entry>();

			created->key = key;
			created->mode = mode;
			created->name.assign(name);
			entry = created.release();
			Place(entry);
			entry_count_++;
		}
		if (!entry->touched)
		{
			touched_.push_back(entry);
			entry->touched = true;
		}
		if (subxact != kNoSubXact && FindXactHold(*entry, subxact) == nullptr)
			entry->xact_holds.push_back(XactHold{subxact, 0});
		return entry;
	}
	catch (...)
	{
		/* A half-made entry is harmless: it holds nothing and is pruned later. */
		return nullptr;
	}
}

HoldRegistry::Entry *
HoldRegistry::Find(std::int64_t key, LockMode mode) noexcept
{
	if (slots_.empty())
		return nullptr;

	std::size_t mask = slots_.size() - 1;
	std::uint64_t tag = Tag(key, mode);

	for (std::size_t i = Home(tag);; i = (i + 1) & mask)
	{
		const Slot &slot = slots_[i];

		if (slot.entry == nullptr)
			return nullptr;
		/* distinct (key, mode) pairs may share a tag, so the entry decides */
		if (slot.tag == tag && slot.entry->key == key && slot.entry->mode == mode)
			return slot.entry;
	}
}

void
HoldRegistry::AddSessionHold(Entry &entry) noexcept
{
	bool		was_held = IsHeld(entry);

	entry.session_holds++;
	Recount(entry, was_held);
}

void
HoldRegistry::AddXactHold(Entry &entry, SubXactId subxact) noexcept
{
	bool		was_held = IsHeld(entry);

	/* Prepare made the slot; EndTransaction is the only thing that removes it. */
	FindXactHold(entry, subxact)->holds++;
	entry.xact_hold_total++;
	Recount(entry, was_held);
}

bool
HoldRegistry::IsHeld(const Entry &entry) noexcept
{
	return entry.session_holds > 0 || entry.xact_hold_total > 0;
}

void
HoldRegistry::DropSessionHolds(Entry &entry, std::int64_t count) noexcept
{
	bool		was_held = IsHeld(entry);

	entry.session_holds -= std::min(count, entry.session_holds);
	Recount(entry, was_held);
	Touch(entry);
}

void
HoldRegistry::DropXactHold(Entry &entry, SubXactId subxact) noexcept
{
	bool		was_held = IsHeld(entry);
	XactHold   *hold = FindXactHold(entry, subxact);

	if (hold != nullptr && hold->holds > 0)
	{
		hold->holds--;
		entry.xact_hold_total--;
	}
	Recount(entry, was_held);
}

void
HoldRegistry::LimitSessionHolds(Entry &entry, std::int64_t held) noexcept
{
	if (entry.session_holds > held)
		DropSessionHolds(entry, entry.session_holds - held);
}

void
HoldRegistry::CommitSubTransaction(SubXactId child, SubXactId parent) noexcept
{
	for (Entry *touched : touched_)
	{
		Entry	   &entry = *touched;
		XactHold   *from = FindXactHold(entry, child);

		if (from == nullptr)
			continue;
		if (XactHold *to = FindXactHold(entry, parent))
		{
			to->holds += from->holds;
			entry.xact_holds.erase(entry.xact_holds.begin() + (from - entry.xact_holds.data()));
		}
		else
			from->subxact = parent;
	}
}

void
HoldRegistry::AbortSubTransaction(SubXactId subxact) noexcept
{
	for (Entry *touched : touched_)
	{
		Entry	   &entry = *touched;
		bool		was_held = IsHeld(entry);

		if (XactHold *hold = FindXactHold(entry, subxact))
		{
			entry.xact_hold_total -= hold->holds;
			entry.xact_holds.erase(entry.xact_holds.begin() + (hold - entry.xact_holds.data()));
		}
		Recount(entry, was_held);
	}
}

void
HoldRegistry::EndTransaction() noexcept
{
	for (Entry *touched : touched_)
	{
		Entry	   &entry = *touched;
		bool		was_held = IsHeld(entry);

		entry.xact_holds.clear();
		entry.xact_hold_total = 0;
		Recount(entry, was_held);
		entry.touched = false;
		if (entry.session_holds == 0 && entry_count_ - held_count_ > kIdleEntriesKept)
			Erase(entry);
	}
	touched_.clear();
}

std::size_t
HoldRegistry::Snapshot(HoldRow *rows) const noexcept
{
	std::size_t count = 0;

	for (const Slot &slot : slots_)
	{
		const Entry *entry = slot.entry;

		if (entry == nullptr || !IsHeld(*entry))
			continue;
		rows[count++] = HoldRow{entry->key, entry->mode, entry->name.data(), entry->name.size(),
								entry->session_holds, entry->xact_hold_total};
	}
	return count;
}

void
HoldRegistry::SortByName(HoldRow *rows, std::size_t count) noexcept
{
	std::sort(rows, rows + count, NameLess);
}

void
HoldRegistry::Touch(Entry &entry) noexcept
{
	if (entry.touched)
		return;
	try
	{
		touched_.push_back(&entry);
		entry.touched = true;
	}
	catch (...)
	{
		/* Only pruning is lost: the entry stays until it is touched again. */
	}
}

void
HoldRegistry::Recount(const Entry &entry, bool was_held) noexcept
{
	bool		is_held = IsHeld(entry);

	if (is_held && !was_held)
		held_count_++;
	else if (was_held && !is_held)
		held_count_--;
}

} // namespace advlock_named
