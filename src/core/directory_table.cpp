/*-------------------------------------------------------------------------
 *
 * directory_table.cpp
 *	  The shared name directory's table; see directory_table.hpp.
 *
 * The index is probed linearly, with backward-shift deletion, so there are
 * no tombstones and a run of occupied slots always ends at a free one; at
 * most half its slots are taken, which keeps runs short.  Free entries are
 * linked into a list through next_free_.
 *
 *-------------------------------------------------------------------------
 */
#include "directory_table.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace advlock_named {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
			  "counters in shared memory must be lock-free atomics");
static_assert(std::atomic<std::int64_t>::is_always_lock_free,
			  "counters in shared memory must be lock-free atomics");
static_assert(std::atomic<bool>::is_always_lock_free, "flags in shared memory must be lock-free atomics");
static_assert(kStoredNameBytes <= UINT8_MAX, "a stored name's length fits its byte");

namespace {

constexpr std::uint32_t kEvictPercent = 5;

/*
 * Usage is kept in fixed point, kUsageUnit to an event, so that the 1%
 * decay of each eviction round reaches every entry, one used once or twice
 * too (pg_stat_statements keeps a double).
 */
constexpr std::uint64_t kUsageUnit = 1 << 16;

/* Not a role: GatherLeastUsed and ChooseVictims take the entries of every role. */
constexpr std::uint32_t kAnyRole = 0;

/* Usage a count of events adds; decayed by 1% at each eviction round. */
std::uint64_t
UsageOf(const NameCounts &counts)
{
	return (counts.acquisitions + counts.timeouts + counts.failed_tries + counts.deadlocks) * kUsageUnit;
}

/*
 * usage less 1%, and less one unit at least, so that no usage stops
 * decaying; never 0, which marks a free place.
 */
std::uint64_t
Decayed(std::uint64_t usage)
{
	return usage > 1 ? usage - std::max<std::uint64_t>(usage / 100, 1) : usage;
}

/* Adds more, skipping the write (and its cache line's traffic) when there is nothing to add. */
template <typename Count>
void
AddAny(std::atomic<Count> &total, Count more)
{
	if (more != 0)
		total.fetch_add(more, std::memory_order_relaxed);
}

void
AtomicMax(std::atomic<std::int64_t> &target, std::int64_t value)
{
	std::int64_t current = target.load(std::memory_order_relaxed);

	while (value > current &&
		   !target.compare_exchange_weak(current, value, std::memory_order_relaxed))
	{
	}
}

std::size_t
HeaderBytes()
{
	return (sizeof(DirectoryTable) + alignof(DirectoryTable::Entry) - 1) / alignof(DirectoryTable::Entry) *
		alignof(DirectoryTable::Entry);
}

std::uint32_t
SlotCountFor(std::uint32_t capacity)
{
	return 2 * capacity + 1;
}

} // namespace

/* An entry as eviction sorts it: least used, then oldest, first. */
struct DirectoryTable::Candidate
{
	std::uint64_t usage;
	std::uint64_t sequence;
	std::uint32_t place;

	bool		operator<(const Candidate &other) const noexcept
	{
		return usage != other.usage ? usage < other.usage : sequence < other.sequence;
	}
};

/* What a scan of the ages found. */
struct DirectoryTable::Scan
{
	std::uint32_t count;		/* entries it considered */
	std::uint32_t kept;			/* the least used of those, in the candidates' heap */
	std::uint32_t own;			/* entries of the role it was given, of every entry */
	bool		mixed;			/* whether another role has entries too */
};

bool
NameCounts::Empty() const noexcept
{
	return acquisitions == 0 && timeouts == 0 && failed_tries == 0 && deadlocks == 0 &&
		total_wait_us == 0 && leases_granted == 0 && leases_renewed == 0 && leases_expired == 0 &&
		leases_lost == 0;
}

void
NameCounts::Add(const NameCounts &other) noexcept
{
	acquisitions += other.acquisitions;
	waited += other.waited;
	timeouts += other.timeouts;
	failed_tries += other.failed_tries;
	deadlocks += other.deadlocks;
	total_wait_us += other.total_wait_us;
	max_wait_us = std::max(max_wait_us, other.max_wait_us);
	last_acquired = std::max(last_acquired, other.last_acquired);
	leases_granted += other.leases_granted;
	leases_renewed += other.leases_renewed;
	leases_expired += other.leases_expired;
	leases_lost += other.leases_lost;
}

NameCounts
DirectoryTable::Entry::Counts() const noexcept
{
	NameCounts	counts;

	counts.acquisitions = acquisitions_.load(std::memory_order_relaxed);
	counts.waited = waited_.load(std::memory_order_relaxed);
	counts.timeouts = timeouts_.load(std::memory_order_relaxed);
	counts.failed_tries = failed_tries_.load(std::memory_order_relaxed);
	counts.deadlocks = deadlocks_.load(std::memory_order_relaxed);
	counts.total_wait_us = total_wait_us_.load(std::memory_order_relaxed);
	counts.max_wait_us = max_wait_us_.load(std::memory_order_relaxed);
	counts.last_acquired = last_acquired_.load(std::memory_order_relaxed);
	counts.leases_granted = leases_granted_.load(std::memory_order_relaxed);
	counts.leases_renewed = leases_renewed_.load(std::memory_order_relaxed);
	counts.leases_expired = leases_expired_.load(std::memory_order_relaxed);
	counts.leases_lost = leases_lost_.load(std::memory_order_relaxed);
	return counts;
}

void
DirectoryTable::Add(Entry &entry, const NameCounts &counts) noexcept
{
	constexpr auto relaxed = std::memory_order_relaxed;
	std::uint64_t usage = UsageOf(counts);

	/*
	 * An entry starts with a usage of 1 for the lock request that published
	 * it, whose counts come later: the first counts to come replace it, so
	 * that a name whose use its backend has not flushed yet ranks with one
	 * used as often whose counts are in.
	 */
	if (usage > 0 && !entry.counted_.exchange(true, relaxed))
		usage -= kUsageUnit;
	if (usage > 0)
		Ages()[&entry - Entries()].usage.fetch_add(usage, relaxed);
	AddAny(entry.acquisitions_, counts.acquisitions);
	AddAny(entry.waited_, counts.waited);
	AddAny(entry.timeouts_, counts.timeouts);
	AddAny(entry.failed_tries_, counts.failed_tries);
	AddAny(entry.deadlocks_, counts.deadlocks);
	AddAny(entry.total_wait_us_, counts.total_wait_us);
	AtomicMax(entry.max_wait_us_, counts.max_wait_us);
	AtomicMax(entry.last_acquired_, counts.last_acquired);
	AddAny(entry.leases_granted_, counts.leases_granted);
	AddAny(entry.leases_renewed_, counts.leases_renewed);
	AddAny(entry.leases_expired_, counts.leases_expired);
	AddAny(entry.leases_lost_, counts.leases_lost);
}

/* The entries, their ages, the index, then room for Evict to sort every entry in. */
std::size_t
DirectoryTable::BytesFor(std::uint32_t capacity) noexcept
{
	static_assert(sizeof(Entry) % alignof(Age) == 0 && sizeof(Age) % alignof(Slot) == 0 &&
				  sizeof(Slot) % alignof(Candidate) == 0,
				  "each part is aligned for the next");
	return HeaderBytes() + std::size_t{capacity} * (sizeof(Entry) + sizeof(Age)) +
		std::size_t{SlotCountFor(capacity)} * sizeof(Slot) + std::size_t{capacity} * sizeof(Candidate);
}

DirectoryTable *
DirectoryTable::Create(void *memory, std::uint32_t capacity) noexcept
{
	DirectoryTable *table = new (memory) DirectoryTable();
	Entry	   *entries;
	Age		   *ages;
	Slot	   *slots;

	table->capacity_ = capacity;
	table->slot_count_ = SlotCountFor(capacity);
	table->entries_ = 0;
	table->free_list_ = capacity > 0 ? 1 : 0;
	table->next_sequence_ = 0;
	table->evictions_.store(0);
	table->collisions_.store(0);
	table->resets_.store(0);
	table->last_reset_.store(0);
	entries = table->Entries();
	ages = table->Ages();
	for (std::uint32_t i = 0; i < capacity; i++)
	{
		Entry	   *entry = new (&entries[i]) Entry();

		entry->used_ = false;
		entry->next_free_ = i + 1 < capacity ? i + 2 : 0;
		new (&ages[i]) Age();
		ages[i].usage.store(0);
		ages[i].sequence = 0;
		ages[i].role = kAnyRole;
	}
	slots = table->Slots();
	for (std::uint32_t i = 0; i < table->slot_count_; i++)
		slots[i].entry = 0;
	return table;
}

DirectoryTable::Entry *
DirectoryTable::Entries() noexcept
{
	return reinterpret_cast<Entry *>(reinterpret_cast<char *>(this) + HeaderBytes());
}

const DirectoryTable::Entry *
DirectoryTable::Entries() const noexcept
{
	return reinterpret_cast<const Entry *>(reinterpret_cast<const char *>(this) + HeaderBytes());
}

DirectoryTable::Age *
DirectoryTable::Ages() noexcept
{
	return reinterpret_cast<Age *>(Entries() + capacity_);
}

DirectoryTable::Slot *
DirectoryTable::Slots() noexcept
{
	return reinterpret_cast<Slot *>(Ages() + capacity_);
}

const DirectoryTable::Slot *
DirectoryTable::Slots() const noexcept
{
	return reinterpret_cast<const Slot *>(reinterpret_cast<const Age *>(Entries() + capacity_) + capacity_);
}

DirectoryTable::Candidate *
DirectoryTable::Candidates() noexcept
{
	return reinterpret_cast<Candidate *>(Slots() + slot_count_);
}

std::uint32_t
DirectoryTable::Home(std::uint32_t database, std::int64_t key) const noexcept
{
	/* the key is already a hash; mix the database in and spread the bits */
	std::uint64_t h = static_cast<std::uint64_t>(key) ^ (std::uint64_t{database} * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return static_cast<std::uint32_t>(h % slot_count_);
}

std::uint32_t
DirectoryTable::Next(std::uint32_t slot) const noexcept
{
	return slot + 1 == slot_count_ ? 0 : slot + 1;
}

DirectoryTable::Entry *
DirectoryTable::Find(const NameId &id) noexcept
{
	const Slot *slots = Slots();
	Entry	   *entries = Entries();

	for (std::uint32_t i = Home(id.database, id.key); slots[i].entry != 0; i = Next(i))
	{
		if (slots[i].key == id.key && slots[i].database == id.database &&
			entries[slots[i].entry - 1].id_.role == id.role)
			return &entries[slots[i].entry - 1];
	}
	return nullptr;
}

std::uint32_t
DirectoryTable::FindAllRoles(std::uint32_t database, std::int64_t key, std::uint32_t skip,
							 const Entry **found, std::uint32_t max) const noexcept
{
	const Slot *slots = Slots();
	std::uint32_t n = 0;

	for (std::uint32_t i = Home(database, key); slots[i].entry != 0 && n < max; i = Next(i))
	{
		if (slots[i].key != key || slots[i].database != database)
			continue;
		if (skip > 0)
			skip--;
		else
			found[n++] = &Entries()[slots[i].entry - 1];
	}
	return n;
}

DirectoryTable::Entry *
DirectoryTable::Publish(const NameId &id, std::uint64_t fingerprint, std::string_view name,
						bool truncated, const Entry **other) noexcept
{
	const Slot *slots = Slots();
	Entry	   *entries = Entries();
	Entry	   *found = nullptr;
	std::uint32_t i;

	if (other != nullptr)
		*other = nullptr;
	for (i = Home(id.database, id.key); slots[i].entry != 0; i = Next(i))
	{
		Entry	   *entry = &entries[slots[i].entry - 1];

		if (slots[i].key != id.key || slots[i].database != id.database)
			continue;
		if (entry->id_.role == id.role)
			found = entry;
		if (entry->fingerprint_ != fingerprint && other != nullptr)
			*other = entry;
	}
	if (found != nullptr)
		return found;
	if (free_list_ == 0)
		return nullptr;
	/* i is the free slot that ends the run of (database, key) */
	return Fill(i, id, fingerprint, name, truncated);
}

/* Takes a free entry for id and indexes it at the free slot given. */
DirectoryTable::Entry *
DirectoryTable::Fill(std::uint32_t slot, const NameId &id, std::uint64_t fingerprint,
					 std::string_view name, bool truncated) noexcept
{
	std::uint32_t place = free_list_ - 1;
	Entry	   *entry = &Entries()[place];

	free_list_ = entry->next_free_;
	Slots()[slot] = Slot{id.key, id.database, place + 1};

	if (name.size() > kStoredNameBytes)
	{
		name = name.substr(0, kStoredNameBytes);
		truncated = true;
	}
	entry->id_ = id;
	entry->fingerprint_ = fingerprint;
	entry->truncated_ = truncated;
	entry->name_length_ = static_cast<std::uint8_t>(name.size());
	entry->counted_.store(false, std::memory_order_relaxed);
	std::memcpy(entry->name_, name.data(), name.size());
	Ages()[place].usage.store(kUsageUnit, std::memory_order_relaxed);
	Ages()[place].sequence = static_cast<std::uint32_t>(next_sequence_++);
	Ages()[place].role = id.role;
	entry->acquisitions_.store(0, std::memory_order_relaxed);
	entry->waited_.store(0, std::memory_order_relaxed);
	entry->timeouts_.store(0, std::memory_order_relaxed);
	entry->failed_tries_.store(0, std::memory_order_relaxed);
	entry->deadlocks_.store(0, std::memory_order_relaxed);
	entry->total_wait_us_.store(0, std::memory_order_relaxed);
	entry->max_wait_us_.store(0, std::memory_order_relaxed);
	entry->last_acquired_.store(0, std::memory_order_relaxed);
	entry->leases_granted_.store(0, std::memory_order_relaxed);
	entry->leases_renewed_.store(0, std::memory_order_relaxed);
	entry->leases_expired_.store(0, std::memory_order_relaxed);
	entry->leases_lost_.store(0, std::memory_order_relaxed);
	entry->used_ = true;
	entries_++;
	return entry;
}

/* The index slot of the entry at place. */
std::uint32_t
DirectoryTable::SlotOf(std::uint32_t place) const noexcept
{
	const Slot *slots = Slots();
	const NameId &id = Entries()[place].id_;
	std::uint32_t i = Home(id.database, id.key);

	while (slots[i].entry != place + 1)
		i = Next(i);
	return i;
}

/*
 * Frees the entry of the index slot hole, then closes the hole by
 * backward-shift deletion: slots after it move back into it unless their
 * home lies cyclically in (hole, their slot], where they still are
 * reachable without it.  Only 16-byte slots move; entries stay.
 */
void
DirectoryTable::EraseAt(std::uint32_t hole) noexcept
{
	Slot	   *slots = Slots();
	Entry	   *entry = &Entries()[slots[hole].entry - 1];

	entry->used_ = false;
	Ages()[slots[hole].entry - 1].usage.store(0, std::memory_order_relaxed);
	entry->next_free_ = free_list_;
	free_list_ = slots[hole].entry;
	entries_--;
	for (std::uint32_t j = Next(hole); slots[j].entry != 0; j = Next(j))
	{
		std::uint32_t home = Home(slots[j].database, slots[j].key);
		bool		reachable = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);

		if (reachable)
			continue;
		slots[hole] = slots[j];
		hole = j;
	}
	slots[hole].entry = 0;
}

/*
 * Moves the idle ones among candidates[0, count), in eviction order, to the
 * front until there are target of them, sorting the order a chunk at a time
 * as far as the walk gets.  Returns how many it moved.
 */
std::uint32_t
DirectoryTable::PickIdle(std::uint32_t count, std::uint32_t target, InUseFunction in_use,
						 void *arg) noexcept
{
	Candidate  *candidates = Candidates();
	const Entry *entries = Entries();
	std::uint32_t sorted = 0;
	std::uint32_t victims = 0;

	for (std::uint32_t next = 0; next < count && victims < target; next++)
	{
		const NameId *id;

		if (next == sorted)
		{
			std::uint32_t more = std::min(target, count - sorted);

			std::nth_element(candidates + sorted, candidates + sorted + more - 1, candidates + count);
			std::sort(candidates + sorted, candidates + sorted + more);
			sorted += more;
		}
		id = &entries[candidates[next].place].id_;
		if (!in_use(id->database, id->key, arg))
			candidates[victims++] = candidates[next];
	}
	return victims;
}

/*
 * The full insertion order of the entry at place, from the low 32 bits its
 * age keeps: exact for any entry fewer than 2^32 insertions old, and an
 * older one only ranks as younger among entries used alike.
 */
std::uint64_t
DirectoryTable::SequenceAt(std::uint32_t place) noexcept
{
	std::uint32_t age = static_cast<std::uint32_t>(next_sequence_) - Ages()[place].sequence;

	return next_sequence_ - age;
}

/*
 * Keeps the least used entries, at most room of them, in a heap at the
 * front of the candidates: the entries of only_role, or of every role for
 * kAnyRole.  With decay, first decays every usage by 1% (the scan of a
 * round that reads every entry anyway); the decay writes only what it
 * changes.  Counts the entries of role as it goes.
 *
 * Ties in usage are common (every name used once has the same), so they go
 * oldest first, which keeps the newest names longest.  The heap is small
 * enough to stay in the CPU's cache, rather than every entry written out:
 * names that churn through a full directory evict every 5 % of its size,
 * so this runs often.
 */
DirectoryTable::Scan
DirectoryTable::GatherLeastUsed(std::uint32_t only_role, std::uint32_t role, bool decay,
								std::uint32_t room) noexcept
{
	Age		   *ages = Ages();
	Candidate  *candidates = Candidates();
	Scan		scan{0, 0, 0, false};

	for (std::uint32_t i = 0; i < capacity_; i++)
	{
		std::uint64_t usage = ages[i].usage.load(std::memory_order_relaxed);

		if (usage == 0)
			continue;
		if (decay && Decayed(usage) != usage)
		{
			usage = Decayed(usage);
			ages[i].usage.store(usage, std::memory_order_relaxed);
		}
		if (ages[i].role == role)
			scan.own++;
		else
			scan.mixed = true;
		if (only_role != kAnyRole && ages[i].role != only_role)
			continue;

		Candidate	candidate{usage, SequenceAt(i), i};

		scan.count++;
		if (scan.kept < room)
		{
			candidates[scan.kept++] = candidate;
			std::push_heap(candidates, candidates + scan.kept);
		}
		else if (candidate < candidates[0])
		{
			std::pop_heap(candidates, candidates + scan.kept);
			candidates[scan.kept - 1] = candidate;
			std::push_heap(candidates, candidates + scan.kept);
		}
	}
	return scan;
}

/*
 * Whether role has at least its fair share of the entries: as many as the
 * entries divided by the roles that have some, role included.  Counts the
 * roles in the candidates' room, so the heap there is gone.
 */
bool
DirectoryTable::HasFairShare(std::uint32_t role, const Scan &scan) noexcept
{
	std::uint32_t *roles = reinterpret_cast<std::uint32_t *>(Candidates());
	const Age  *ages = Ages();
	std::uint32_t n = 0;

	static_assert(sizeof(Candidate) >= 2 * sizeof(std::uint32_t), "a role for every entry fits the candidates' room");
	roles[n++] = role;
	for (std::uint32_t i = 0; i < capacity_; i++)
		if (ages[i].usage.load(std::memory_order_relaxed) != 0)
			roles[n++] = ages[i].role;
	std::sort(roles, roles + n);
	return std::uint64_t{scan.own} * static_cast<std::uint32_t>(std::unique(roles, roles + n) - roles) >=
		scan.count;
}

/*
 * Picks up to target idle victims among the entries scan found, into the
 * front of the candidates, and returns how many.  When the heap held too
 * few idle ones, it orders every entry (of only_role) and walks on.  With
 * kAnyRole, when none is idle, the least used go all the same.
 */
std::uint32_t
DirectoryTable::ChooseVictims(std::uint32_t only_role, const Scan &scan, std::uint32_t target,
							  InUseFunction in_use, void *arg) noexcept
{
	const Age  *ages = Ages();
	Candidate  *candidates = Candidates();
	std::uint32_t victims;

	target = std::min(target, scan.count);
	victims = PickIdle(scan.kept, target, in_use, arg);
	if (victims < target && scan.count > scan.kept)
	{
		/* too many in use: every entry, in order */
		std::uint32_t count = 0;

		for (std::uint32_t i = 0; i < capacity_; i++)
		{
			std::uint64_t usage = ages[i].usage.load(std::memory_order_relaxed);

			if (usage != 0 && (only_role == kAnyRole || ages[i].role == only_role))
				candidates[count++] = Candidate{usage, SequenceAt(i), i};
		}
		victims = PickIdle(count, target, in_use, arg);
	}
	/* none idle: the walk sorted them all and moved none */
	if (victims == 0 && only_role == kAnyRole)
		victims = target;
	return victims;
}

/*
 * The first scan, over every entry, is all a part of one role's names
 * needs.  Where several roles have names, the publishing role's share is
 * counted, and a role with its fair share gathers only its own.
 */
std::uint32_t
DirectoryTable::Evict(std::uint32_t role, InUseFunction in_use, void *arg) noexcept
{
	Candidate  *candidates = Candidates();
	std::uint32_t target = std::max<std::uint32_t>(1, capacity_ * kEvictPercent / 100);
	std::uint32_t room = std::min(capacity_, 2 * target);
	Scan		scan = GatherLeastUsed(kAnyRole, role, true, room);
	std::uint32_t only_role = kAnyRole;
	std::uint32_t victims;

	if (scan.mixed && scan.own > 0)
	{
		if (HasFairShare(role, scan))
			only_role = role;
		scan = GatherLeastUsed(only_role, role, false, room);
	}
	victims = ChooseVictims(only_role, scan, target, in_use, arg);
	if (victims == 0 && only_role != kAnyRole)
	{
		/* every name of its own in use: the others' idle ones go, as they would for any role */
		scan = GatherLeastUsed(kAnyRole, role, false, room);
		victims = ChooseVictims(kAnyRole, scan, target, in_use, arg);
	}

	for (std::uint32_t v = 0; v < victims; v++)
		EraseAt(SlotOf(candidates[v].place));
	evictions_.fetch_add(victims, std::memory_order_relaxed);
	return victims;
}

void
DirectoryTable::ResetCounts(std::int64_t now) noexcept
{
	Entry	   *entries = Entries();

	for (std::uint32_t i = 0; i < capacity_; i++)
	{
		if (!entries[i].used_)
			continue;
		entries[i].acquisitions_.store(0, std::memory_order_relaxed);
		entries[i].waited_.store(0, std::memory_order_relaxed);
		entries[i].timeouts_.store(0, std::memory_order_relaxed);
		entries[i].failed_tries_.store(0, std::memory_order_relaxed);
		entries[i].deadlocks_.store(0, std::memory_order_relaxed);
		entries[i].total_wait_us_.store(0, std::memory_order_relaxed);
		entries[i].max_wait_us_.store(0, std::memory_order_relaxed);
		entries[i].last_acquired_.store(0, std::memory_order_relaxed);
		entries[i].leases_granted_.store(0, std::memory_order_relaxed);
		entries[i].leases_renewed_.store(0, std::memory_order_relaxed);
		entries[i].leases_expired_.store(0, std::memory_order_relaxed);
		entries[i].leases_lost_.store(0, std::memory_order_relaxed);
	}
	resets_.fetch_add(1, std::memory_order_relaxed);
	last_reset_.store(now, std::memory_order_relaxed);
}

DirectoryTable::Info
DirectoryTable::GetInfo() const noexcept
{
	return Info{entries_, capacity_, evictions_.load(std::memory_order_relaxed),
				collisions_.load(std::memory_order_relaxed), resets_.load(std::memory_order_relaxed),
				last_reset_.load(std::memory_order_relaxed)};
}

const DirectoryTable::Entry *
DirectoryTable::At(std::uint32_t place) const noexcept
{
	const Entry *entry = &Entries()[place];

	return entry->used_ ? entry : nullptr;
}

} // namespace advlock_named
