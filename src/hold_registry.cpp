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
	for (Entry *entry : slots_)
		delete entry;
}

std::size_t
HoldRegistry::Home(std::int64_t key, LockMode mode) const noexcept
{
	/* the two modes of a key must not land in neighbouring slots */
	std::uint64_t spread_mode = static_cast<std::uint64_t>(mode) * 0x9E3779B97F4A7C15ULL;

	return (static_cast<std::uint64_t>(key) ^ spread_mode) & (slots_.size() - 1);
}

void
HoldRegistry::Place(Entry *entry) noexcept
{
	std::size_t mask = slots_.size() - 1;
	std::size_t i = Home(entry->key, entry->mode);

	while (slots_[i] != nullptr)
		i = (i + 1) & mask;
	slots_[i] = entry;
}

/* Doubles the table; the only step besides Prepare's own that allocates. */
void
HoldRegistry::Grow()
{
	std::vector<Entry *> old(std::max<std::size_t>(16, 2 * slots_.size()), nullptr);

	old.swap(slots_);
	for (Entry *entry : old)
		if (entry != nullptr)
			Place(entry);
}

void
HoldRegistry::Erase(const Entry &entry) noexcept
{
	std::size_t mask = slots_.size() - 1;
	std::size_t hole = Home(entry.key, entry.mode);

	while (slots_[hole] != &entry)
		hole = (hole + 1) & mask;
	delete slots_[hole];
	slots_[hole] = nullptr;
	entry_count_--;

	/* Backward shift: move up every later entry whose probe passes the hole. */
	for (std::size_t i = (hole + 1) & mask; slots_[i] != nullptr; i = (i + 1) & mask)
	{
		std::size_t home = Home(slots_[i]->key, slots_[i]->mode);
		bool		reachable_from_hole = hole <= i ? (home <= hole || home > i)
			: (home <= hole && home > i);

		if (reachable_from_hole)
		{
			slots_[hole] = slots_[i];
			slots_[i] = nullptr;
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

	for (std::size_t i = Home(key, mode);; i = (i + 1) & mask)
	{
		Entry	   *entry = slots_[i];

		if (entry == nullptr || (entry->key == key && entry->mode == mode))
			return entry;
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

	for (const Entry *entry : slots_)
	{
		if (entry == nullptr)
			continue;

		if (!IsHeld(*entry))
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
