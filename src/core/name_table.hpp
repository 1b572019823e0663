/*-------------------------------------------------------------------------
 *
 * name_table.hpp
 *	  The names behind the keys this backend has locked.
 *
 * The lock manager knows keys, not names, and it is the only record of what
 * is held: which owner holds a lock, and when a (sub)transaction, a portal
 * or pg_advisory_unlock_all() lets it go, is its business alone.  This table
 * adds what it cannot know: the name of each key, and how many of the
 * session-level holds were taken by name (the rest came from the integer
 * builtins on the same key, which named_unlock_all() leaves alone).
 *
 * Entries are removed by Prune, which asks the caller which keys are still
 * held, so the table stays within a constant factor of what is held (see
 * the glue in lock_ops.cpp for when it prunes).  A stored name is cut to
 * kStoredNameBytes; the key stays authoritative.
 *
 * An entry is found by its key and, when its name is stored whole, by its
 * name as well: a name this backend has locked before then costs one index
 * slot and the entry itself, which the lock needs anyway, instead of a trip
 * through the key cache first (one cache line fewer a lock).
 *
 * Pure C++: no PostgreSQL header may be included here, nothing throws, and
 * all memory comes from the allocator the table is given, so the glue can
 * account it to a memory context of its own.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "byte_words.hpp"

namespace advlock_named {

enum class LockMode : std::uint8_t
{
	kShared,
	kExclusive,
};

constexpr int kModeCount = 2;

/* Allocation that reports failure with nullptr rather than an exception. */
struct Allocator
{
	void	   *(*allocate) (std::size_t size);
	void		(*release) (void *pointer);
};

struct NameEntry
{
	std::int64_t key;
	/* session holds taken by name, per LockMode; an upper bound to clamp */
	std::int64_t named_session_holds[kModeCount];
	/*
	 * Of those, the ones the statement in progress took: good while
	 * statement_generation is the table's (see NoteStatementHold).
	 */
	std::int64_t statement_holds[kModeCount];
	std::uint64_t statement_generation;
	/*
	 * The shared name directory's link to its own record of this name: good
	 * while directory_generation is current, for lock requests under
	 * directory_role.
	 */
	void	   *directory_entry;
	std::uint32_t directory_generation;
	std::uint32_t directory_role;
	std::uint32_t name_length;	/* bytes stored in name */
	bool		whole_name;		/* name is not cut: the entry is findable by it */
	bool		kept;			/* scratch for Prune */
	char		name[1];		/* name_length bytes, not terminated */

	std::string_view Name() const noexcept { return std::string_view(name, name_length); }

	/* Whether other is this entry's name, whole (a cut name is none of its prefixes). */
	bool		HasName(std::string_view other) const noexcept
	{
		return whole_name && name_length == other.size() && EqualBytes(name, other.data(), other.size());
	}

	bool		HasNamedSessionHolds() const noexcept
	{
		return named_session_holds[0] > 0 || named_session_holds[1] > 0;
	}
};

class NameTable
{
public:
	/* Longest stored name; longer names are kept cut (by the caller) to this. */
	static constexpr std::size_t kStoredNameBytes = 1024;

	/*
	 * Below this many entries the table is never pruned for its size, so a
	 * backend cycling through up to about a thousand names keeps them (at
	 * most about 1.1 MB, names being cut to kStoredNameBytes).
	 */
	static constexpr std::size_t kMinPruneSize = 1024;

	explicit NameTable(Allocator allocator) noexcept : allocator_(allocator) {}
	NameTable(const NameTable &) = delete;
	NameTable &operator=(const NameTable &) = delete;
	~NameTable();

	/*
	 * The entry of key, or nullptr; never allocates.  The entry found or
	 * inserted last is checked first: an unlock nearly always names the lock
	 * taken last.
	 */
	NameEntry  *Find(std::int64_t key) const noexcept;

	/*
	 * The entry inserted with exactly these name bytes, uncut, or nullptr;
	 * never allocates.  Another name of the same key is not found here (it
	 * finds the entry by its key).
	 */
	NameEntry  *FindName(std::string_view name) const noexcept;

	/*
	 * Adds an entry for a key that has none; name must be at most
	 * kStoredNameBytes long, and whole_name says whether it is the name as
	 * given or cut to fit.  Returns nullptr when memory runs out.
	 */
	NameEntry  *Insert(std::int64_t key, std::string_view name, bool whole_name = true) noexcept;

	std::size_t Count() const noexcept { return count_; }

	/* Entries with a session hold taken by name. */
	std::size_t NamedSessionCount() const noexcept { return named_session_count_; }

	/* The one way to change named_session_holds, so NamedSessionCount stays right. */
	void		SetNamedSessionHolds(NameEntry &entry, LockMode mode, std::int64_t holds) noexcept;

	/*
	 * The session holds the statement in progress took, counted on the
	 * entries themselves so that a lock costs no search: a statement's
	 * count is good while the entry's generation is the table's, so
	 * EndStatement forgets all of them at once.  Failing statements are
	 * rare; only they visit every entry (ForEachStatementHold).
	 */
	void		NoteStatementHold(NameEntry &entry, LockMode mode) noexcept
	{
		if (entry.statement_generation != statement_generation_)
		{
			entry.statement_holds[0] = entry.statement_holds[1] = 0;
			entry.statement_generation = statement_generation_;
		}
		entry.statement_holds[static_cast<int>(mode)]++;
		statement_took_holds_ = true;
	}

	/* One of the statement's holds of (entry, mode) released; false if it has none. */
	bool		ForgetStatementHold(NameEntry &entry, LockMode mode) noexcept
	{
		if (StatementHolds(entry, mode) == 0)
			return false;
		entry.statement_holds[static_cast<int>(mode)]--;
		return true;
	}

	std::int64_t StatementHolds(const NameEntry &entry, LockMode mode) const noexcept
	{
		return entry.statement_generation == statement_generation_ ? entry.statement_holds[static_cast<int>(mode)] : 0;
	}

	bool		StatementTookHolds() const noexcept { return statement_took_holds_; }

	void		EndStatement() noexcept
	{
		if (statement_took_holds_)
			statement_generation_++;
		statement_took_holds_ = false;
	}

	/* Calls visit(entry, mode, holds, context) for each of the statement's holds. */
	void		ForEachStatementHold(void (*visit) (NameEntry &entry, LockMode mode, std::int64_t holds, void *context),
									 void *context) const noexcept;

	/*
	 * Whether Insert should prune first: the table has doubled since the last
	 * prune (counted from what survived it), so pruning now costs at most
	 * one visit per entry inserted since.
	 */
	bool		WantsPrune() const noexcept { return count_ >= prune_at_; }

	/*
	 * Removes the entries for which is_held(entry, context) is false and
	 * shrinks the table to fit the rest.  Entry pointers are invalid after.
	 */
	void		Prune(bool (*is_held) (const NameEntry &entry, void *context), void *context) noexcept;

	/*
	 * How many prunes have run: an entry pointer taken when this was n is
	 * good while it is still n.
	 */
	std::uint64_t PruneCount() const noexcept { return prune_count_; }

	/* Calls visit(entry, context) for every entry, in no particular order. */
	void		ForEach(void (*visit) (NameEntry &entry, void *context), void *context) const noexcept;

	/* Bytes allocated by the table, entries included. */
	std::size_t AllocatedBytes() const noexcept { return allocated_bytes_; }

private:
	/*
	 * Two indexes, each open addressing with linear probing over a power-of-
	 * two array of slot_count_ slots, allocated as one array: by key, then
	 * by name.  A slot repeats its entry's hash, so a probe reads no entry
	 * but the one found.  Keys are SHA-256 output, so a key's low bits
	 * place it; a name is placed by the top bits of its HashBytes.
	 */
	struct Slot
	{
		std::uint64_t hash;
		NameEntry  *entry;		/* nullptr: free */
	};

	/* Bytes of both indexes at size slots each. */
	static std::size_t IndexBytes(std::size_t size) noexcept { return 2 * size * sizeof(Slot); }

	Slot	   *AllocateSlots(std::size_t size) noexcept;
	/* Where a probe starts in an index of size slots. */
	static std::size_t KeyHome(std::uint64_t key, std::size_t size) noexcept { return key & (size - 1); }
	static std::size_t NameHome(std::uint64_t hash, std::size_t size) noexcept
	{
		return hash >> (64 - __builtin_ctzll(size));
	}

	static void PlaceIn(Slot *slots, std::size_t size, std::size_t home, std::uint64_t hash,
						NameEntry *entry) noexcept;
	static void Place(Slot *slots, std::size_t size, NameEntry *entry) noexcept;
	bool		Resize(std::size_t size) noexcept;
	void		FreeEntry(NameEntry *entry) noexcept;

	static std::size_t SlotsFor(std::size_t count) noexcept;

	Allocator	allocator_;
	Slot	   *slots_ = nullptr;
	mutable NameEntry *last_found_ = nullptr;	/* cleared by Prune */
	std::size_t slot_count_ = 0;
	std::size_t count_ = 0;
	std::size_t named_session_count_ = 0;
	std::size_t prune_at_ = kMinPruneSize;
	std::size_t allocated_bytes_ = 0;
	std::uint64_t prune_count_ = 0;
	/* entries start at generation 0, never the table's */
	std::uint64_t statement_generation_ = 1;
	bool		statement_took_holds_ = false;
};

} // namespace advlock_named
