/*-------------------------------------------------------------------------
 *
 * hold_registry.hpp
 *	  What this backend holds through advlock_named: names, modes, scopes
 *	  and re-entrant hold counts.
 *
 * The lock manager knows keys, not names, and cannot tell our holds from
 * holds taken with the integer builtins, so the extension keeps this
 * backend-local record.  It mirrors the lock manager's own release rules:
 * transaction holds belong to the subtransaction that took them, move to the
 * parent when it commits and vanish when it aborts or the top transaction
 * ends; session holds stay until unlocked.
 *
 * Pure C++: no PostgreSQL header may be included here, and no exception
 * leaves it.  The only method that allocates is Prepare, which is called
 * before the lock is requested, so recording a granted lock cannot fail.
 * Entries are erased only in EndTransaction, so an Entry pointer stays valid
 * for the rest of the SQL call that obtained it.  Up to kIdleEntriesKept
 * entries that hold nothing are kept for reuse (at most about 600 kB), so
 * a name locked in transaction after transaction costs no allocation.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace advlock_named {

enum class LockMode : std::uint8_t
{
	kShared,
	kExclusive,
};

/* A subtransaction id as the server numbers them; the top level is 1. */
using SubXactId = std::uint32_t;

/* What Prepare is given for a session hold, which no subtransaction owns. */
constexpr SubXactId kNoSubXact = 0;

/* One registry entry as plain data, for reporting. */
struct HoldRow
{
	std::int64_t key;
	LockMode	mode;
	const char *name;			/* points into the registry; not terminated */
	std::size_t name_length;
	std::int64_t session_holds;
	std::int64_t xact_holds;
};

class HoldRegistry
{
public:
	struct Entry;

	static constexpr std::size_t kIdleEntriesKept = 4096;

	HoldRegistry() = default;
	HoldRegistry(const HoldRegistry &) = delete;
	HoldRegistry &operator=(const HoldRegistry &) = delete;
	~HoldRegistry();

	/*
	 * Makes sure (key, mode) has an entry with room for one more hold: a
	 * transaction hold under subxact, or a session hold for kNoSubXact.
	 * Returns nullptr when memory runs out.
	 */
	Entry	   *Prepare(std::int64_t key, LockMode mode, std::string_view name, SubXactId subxact) noexcept;

	/* The entry of (key, mode), or nullptr; never allocates. */
	Entry	   *Find(std::int64_t key, LockMode mode) noexcept;

	void		AddSessionHold(Entry &entry) noexcept;
	void		AddXactHold(Entry &entry, SubXactId subxact) noexcept;

	/* Whether the entry holds anything, in either scope. */
	static bool IsHeld(const Entry &entry) noexcept;

	/* How many distinct (key, mode) locks are held: what a limit counts. */
	std::size_t HeldCount() const noexcept { return held_count_; }

	/* Forgets one transaction hold that subxact took. */
	void		DropXactHold(Entry &entry, SubXactId subxact) noexcept;

	/* Forgets up to count session holds (never below zero). */
	void		DropSessionHolds(Entry &entry, std::int64_t count) noexcept;

	/* Caps the session holds at what the lock manager still has. */
	void		LimitSessionHolds(Entry &entry, std::int64_t held) noexcept;

	void		CommitSubTransaction(SubXactId child, SubXactId parent) noexcept;
	void		AbortSubTransaction(SubXactId subxact) noexcept;

	/* The top transaction ended (commit, abort or prepare). */
	void		EndTransaction() noexcept;

	/* Entries that hold something, unordered; rows needs room for EntryCount(). */
	std::size_t EntryCount() const noexcept { return entry_count_; }
	std::size_t Snapshot(HoldRow *rows) const noexcept;

	/* Orders rows by name bytes, then mode: a stable order for reports. */
	static void SortByName(HoldRow *rows, std::size_t count) noexcept;

	/* What a table slot compares before reading its entry; pairs may share one. */
	static std::uint64_t Tag(std::int64_t key, LockMode mode) noexcept;

	struct XactHold
	{
		SubXactId	subxact;
		std::int64_t holds;
	};

	struct Entry
	{
		std::int64_t key;
		LockMode	mode;
		std::string name;
		std::int64_t session_holds = 0;
		std::vector<XactHold> xact_holds;
		std::int64_t xact_hold_total = 0;	/* over xact_holds, kept so that
											 * IsHeld need not read them */
		bool		touched = false;	/* listed in touched_ */
	};

private:
	/*
	 * Entries live on the heap, so pointers to them stay valid until
	 * EndTransaction erases them; slots_ is an open-addressing table of them
	 * (linear probing, power-of-two size) because keys are SHA-256 output
	 * and need no hashing, and the lock path looks entries up twice per
	 * lock and unlock pair.  A slot carries its entry's tag, so probing and
	 * erasing read only the table: with many names in use the entries are
	 * rarely in the CPU cache, and a probe that followed every pointer paid
	 * a cache miss per slot.
	 */
	struct Slot
	{
		std::uint64_t tag;		/* Tag(entry->key, entry->mode) */
		Entry	   *entry;		/* nullptr: empty */
	};

	std::size_t Home(std::uint64_t tag) const noexcept { return tag & (slots_.size() - 1); }
	void		Place(Entry *entry) noexcept;
	void		Grow();
	void		Erase(const Entry &entry) noexcept;

	/* Remembers entry for EndTransaction; best effort, may fail silently. */
	void		Touch(Entry &entry) noexcept;

	/* Keeps held_count_ right after entry changed from was_held. */
	void		Recount(const Entry &entry, bool was_held) noexcept;

	std::vector<Slot> slots_;
	std::size_t entry_count_ = 0;

	/* Entries changed in the current transaction: the only ones to revisit. */
	std::vector<Entry *> touched_;

	std::size_t held_count_ = 0;
};

} // namespace advlock_named
