/*-------------------------------------------------------------------------
 *
 * directory_table.hpp
 *	  The shared name directory and per-name statistics: a fixed array of
 *	  entries and a compact open-addressing index over them, laid out in a
 *	  block of raw memory.
 *
 * One entry per (database, role, key): the name that key was taken under
 * (its first kStoredNameBytes bytes), a second 64-bit fingerprint of the
 * whole name for collision detection, and the lock statistics of that role
 * on that name.  Entries stay where they are inserted until they go.  The
 * index holds (database, key, place of the entry) in 16 bytes a slot, with
 * twice as many slots as entries, so a lookup reads a cache line or two of
 * it and then only the entry it wants.  Every entry of one (database, key) probes from
 * the same home slot, so the entries of all roles of a key lie in one run
 * and a lookup by (database, key) alone stops at the first free slot.
 *
 * The memory comes from the glue (the main shared memory segment when the
 * library is preloaded, a DSM registry segment otherwise), and so does the
 * locking: the caller holds the table's LWLock, shared for lookups and
 * for adding counts (the counters are atomics), exclusive for inserting,
 * evicting and resetting.  The block has room for eviction to sort every
 * entry in, so evicting needs no memory of the caller's.  Timestamps are
 * opaque 64-bit values (PostgreSQL's TimestampTz in practice).
 *
 * Pure C++: no PostgreSQL header, no allocation, nothing throws.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace advlock_named {

/* Longest prefix of a name the directory keeps, in bytes. */
constexpr std::size_t kStoredNameBytes = 128;

/* Lock statistics of one name, as plain numbers (pending or a snapshot). */
struct NameCounts
{
	std::uint64_t acquisitions = 0;	/* granted requests, at once or after a wait */
	std::uint64_t waited = 0;		/* of those, granted after a wait */
	std::uint64_t timeouts = 0;		/* timed waits that gave up */
	std::uint64_t failed_tries = 0; /* try calls that found the lock taken */
	std::uint64_t deadlocks = 0;	/* waits ended by a deadlock error */
	std::int64_t total_wait_us = 0; /* time in the lock queue, all waits */
	std::int64_t max_wait_us = 0;
	std::int64_t last_acquired = 0; /* 0: never */
	std::uint64_t leases_granted = 0;	/* leases and semaphore grants */
	std::uint64_t leases_renewed = 0;
	std::uint64_t leases_expired = 0;	/* gone because their time was up */
	std::uint64_t leases_lost = 0;	/* renewed, released or checked when gone */

	bool		Empty() const noexcept;
	void		Add(const NameCounts &other) noexcept;
};

/* Who took a name where: the table's key. */
struct NameId
{
	std::uint32_t database;
	std::uint32_t role;
	std::int64_t key;
};

class DirectoryTable
{
public:
	class Entry
	{
	public:
		NameId		Id() const noexcept { return id_; }
		std::uint64_t Fingerprint() const noexcept { return fingerprint_; }
		std::string_view Name() const noexcept { return std::string_view(name_, name_length_); }
		/* whether Name() is a prefix of a longer name */
		bool		Truncated() const noexcept { return truncated_; }
		NameCounts	Counts() const noexcept;

	private:
		friend class DirectoryTable;

		bool		used_;
		bool		truncated_;
		std::uint8_t name_length_;	/* at most kStoredNameBytes */
		/* counts have come in: the usage of 1 the entry started with has been replaced */
		std::atomic<bool> counted_;
		std::uint32_t next_free_;	/* a free entry's successor on the free list, plus one */
		NameId		id_;
		std::uint64_t fingerprint_;
		std::atomic<std::uint64_t> acquisitions_;
		std::atomic<std::uint64_t> waited_;
		std::atomic<std::uint64_t> timeouts_;
		std::atomic<std::uint64_t> failed_tries_;
		std::atomic<std::uint64_t> deadlocks_;
		std::atomic<std::int64_t> total_wait_us_;
		std::atomic<std::int64_t> max_wait_us_;
		std::atomic<std::int64_t> last_acquired_;
		std::atomic<std::uint64_t> leases_granted_;
		std::atomic<std::uint64_t> leases_renewed_;
		std::atomic<std::uint64_t> leases_expired_;
		std::atomic<std::uint64_t> leases_lost_;
		char		name_[kStoredNameBytes];
	};

	/* The directory-wide figures of the info view. */
	struct Info
	{
		std::uint32_t entries;
		std::uint32_t capacity;
		std::uint64_t evictions;
		std::uint64_t collisions;
		std::uint64_t resets;
		std::int64_t last_reset;	/* 0: never reset */
	};

	/* Bytes a table of capacity entries needs. */
	static std::size_t BytesFor(std::uint32_t capacity) noexcept;

	/* Lays out an empty table in memory of BytesFor(capacity) bytes, suitably aligned. */
	static DirectoryTable *Create(void *memory, std::uint32_t capacity) noexcept;

	/* The entry of id, or nullptr. */
	Entry	   *Find(const NameId &id) noexcept;

	/*
	 * Adds counts to entry; safe under a shared lock.  A new entry's usage
	 * starts at 1, for the request that published it: its first counts
	 * replace that 1, later ones add to it.
	 */
	void		Add(Entry &entry, const NameCounts &counts) noexcept;

	/*
	 * The entries of (database, key) of every role, from the skip'th on:
	 * puts up to max of them into found and returns how many it put.  The
	 * caller copies what it needs before releasing the lock.
	 */
	std::uint32_t FindAllRoles(std::uint32_t database, std::int64_t key, std::uint32_t skip,
							   const Entry **found, std::uint32_t max) const noexcept;

	/*
	 * The entry of id, added if absent (exclusive lock), in one walk of the
	 * index; nullptr when it is absent and the table is full.  name is cut
	 * to kStoredNameBytes by the caller, which knows the encoding; truncated
	 * says it was.  If other is given, *other is an entry of the same
	 * (database, key) whose fingerprint differs (a name colliding with
	 * this one), or nullptr.
	 */
	Entry	   *Publish(const NameId &id, std::uint64_t fingerprint, std::string_view name,
						bool truncated, const Entry **other = nullptr) noexcept;

	/*
	 * Makes room for a name of role (exclusive lock): removes about 5% of
	 * the capacity, the least used first and, among equally used ones, the
	 * oldest first, of the entries for which in_use(database, key, arg) is
	 * false; only when every entry is in use, the least used of those.
	 * in_use is asked in that order and only until enough idle entries are
	 * found.  A role that has at least its fair share of the entries (the
	 * entries divided by the roles that have some, itself included) evicts
	 * its own idle ones, so that one role taking many names churns only its
	 * own; only when none of them is idle, the others.  Decays every usage
	 * by 1%.  Returns how many entries went.
	 */
	using InUseFunction = bool (*)(std::uint32_t database, std::int64_t key, void *arg);
	std::uint32_t Evict(std::uint32_t role, InUseFunction in_use, void *arg) noexcept;

	/* Zeroes every entry's counts (exclusive lock); names stay. */
	void		ResetCounts(std::int64_t now) noexcept;

	void		NoteCollision() noexcept { collisions_.fetch_add(1, std::memory_order_relaxed); }

	Info		GetInfo() const noexcept;

	/* Iteration over the places of entries: At(i) is nullptr for a free one. */
	std::uint32_t PlaceCount() const noexcept { return capacity_; }
	const Entry *At(std::uint32_t place) const noexcept;

private:
	/*
	 * What eviction orders entries by, apart from them so that its scan
	 * reads 16 bytes an entry: the events counted, in kUsageUnit units and
	 * decayed (at least 1; 0 for a free place), the low 32 bits of the
	 * insertion order, for eviction among equals, and the entry's role, for
	 * each role's share.
	 */
	struct Age
	{
		std::atomic<std::uint64_t> usage;
		std::uint32_t sequence;
		std::uint32_t role;
	};

	/* The index: an entry's (database, key) and place. */
	struct Slot
	{
		std::int64_t key;
		std::uint32_t database;
		std::uint32_t entry;	/* its place plus one; 0: a free slot */
	};
	struct Candidate;

	DirectoryTable() = default;

	std::uint32_t Home(std::uint32_t database, std::int64_t key) const noexcept;
	std::uint32_t Next(std::uint32_t slot) const noexcept;
	std::uint32_t SlotOf(std::uint32_t place) const noexcept;
	std::uint32_t PickIdle(std::uint32_t count, std::uint32_t target, InUseFunction in_use,
						   void *arg) noexcept;
	struct Scan;
	std::uint64_t SequenceAt(std::uint32_t place) noexcept;
	Scan		GatherLeastUsed(std::uint32_t only_role, std::uint32_t role, bool decay,
								std::uint32_t room) noexcept;
	std::uint32_t ChooseVictims(std::uint32_t only_role, const Scan &scan, std::uint32_t target,
								InUseFunction in_use, void *arg) noexcept;
	bool		HasFairShare(std::uint32_t role, const Scan &scan) noexcept;
	Entry	   *Fill(std::uint32_t slot, const NameId &id, std::uint64_t fingerprint,
					 std::string_view name, bool truncated) noexcept;
	void		EraseAt(std::uint32_t slot) noexcept;
	Entry	   *Entries() noexcept;
	const Entry *Entries() const noexcept;
	Age		   *Ages() noexcept;
	Slot	   *Slots() noexcept;
	const Slot *Slots() const noexcept;
	Candidate  *Candidates() noexcept;

	std::uint32_t capacity_;	/* most entries */
	std::uint32_t slot_count_;	/* index slots, twice as many */
	std::uint32_t entries_;
	std::uint32_t free_list_;	/* the first free entry's place plus one; 0: none */
	std::uint64_t next_sequence_;
	std::atomic<std::uint64_t> evictions_;
	std::atomic<std::uint64_t> collisions_;
	std::atomic<std::uint64_t> resets_;
	std::atomic<std::int64_t> last_reset_;
};

} // namespace advlock_named
