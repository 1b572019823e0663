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

namespace advlock_named {
namespace {

std::int64_t
TotalXactHolds(const HoldRegistry::Entry &entry) noexcept
{
	std::int64_t total = 0;

	for (const auto &hold : entry.xact_holds)
		total += hold.holds;
	return total;
}

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

HoldRegistry::Entry *
HoldRegistry::Prepare(std::int64_t key, LockMode mode, std::string_view name, SubXactId subxact) noexcept
{
	try
	{
		auto [it, inserted] = entries_.try_emplace(EntryKey{key, mode});
		Entry	   &entry = it->second;

		if (inserted)
		{
			entry.key = key;
			entry.mode = mode;
			entry.name.assign(name);
		}
		if (!entry.touched)
		{
			touched_.push_back(EntryKey{key, mode});
			entry.touched = true;
		}
		if (FindXactHold(entry, subxact) == nullptr)
			entry.xact_holds.push_back(XactHold{subxact, 0});
		return &entry;
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
	auto		it = entries_.find(EntryKey{key, mode});

	return it == entries_.end() ? nullptr : &it->second;
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
	Recount(entry, was_held);
}

bool
HoldRegistry::IsHeld(const Entry &entry) noexcept
{
	return entry.session_holds > 0 || TotalXactHolds(entry) > 0;
}

std::int64_t
HoldRegistry::SessionHolds(const Entry &entry) noexcept
{
	return entry.session_holds;
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
		hold->holds--;
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
	for (const EntryKey &touched_key : touched_)
	{
		Entry	   &entry = entries_.find(touched_key)->second;
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
	for (const EntryKey &touched_key : touched_)
	{
		Entry	   &entry = entries_.find(touched_key)->second;
		bool		was_held = IsHeld(entry);

		if (XactHold *hold = FindXactHold(entry, subxact))
			entry.xact_holds.erase(entry.xact_holds.begin() + (hold - entry.xact_holds.data()));
		Recount(entry, was_held);
	}
}

void
HoldRegistry::EndTransaction() noexcept
{
	for (const EntryKey &touched_key : touched_)
	{
		auto		it = entries_.find(touched_key);
		Entry	   &entry = it->second;
		bool		was_held = IsHeld(entry);

		entry.xact_holds.clear();
		Recount(entry, was_held);
		entry.touched = false;
		if (entry.session_holds == 0)
			entries_.erase(it);
	}
	touched_.clear();
}

std::size_t
HoldRegistry::Snapshot(HoldRow *rows) const noexcept
{
	std::size_t count = 0;

	for (const auto &[entry_key, entry] : entries_)
	{
		std::int64_t xact_holds = TotalXactHolds(entry);

		if (entry.session_holds == 0 && xact_holds == 0)
			continue;
		rows[count++] = HoldRow{entry.key, entry.mode, entry.name.data(), entry.name.size(),
								entry.session_holds, xact_holds};
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
		touched_.push_back(EntryKey{entry.key, entry.mode});
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
