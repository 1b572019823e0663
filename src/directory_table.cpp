/*-------------------------------------------------------------------------
 *
 * directory_table.cpp
 *	  The shared name directory's hash table; see directory_table.hpp.
 *
 * Linear probing with backward-shift deletion, so there are no tombstones
 * and a run of occupied slots always ends at a free one.  The table has a
 * third more slots than entries, which keeps probe runs short when full.
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

namespace {

constexpr std::uint32_t kEvictPercent = 5;

/* Usage a count of events adds; decayed by 1% at each eviction round. */
std::uint64_t
UsageOf(const NameCounts &counts)
{
	return counts.acquisitions + counts.timeouts + counts.failed_tries + counts.deadlocks;
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
	return capacity + capacity / 3 + 1;
}

} // namespace

/* An entry as eviction sorts it: least used, then oldest, first. */
struct DirectoryTable::Candidate
{
	std::uint64_t usage;
	std::uint64_t sequence;
	NameId		id;

	bool		operator<(const Candidate &other) const noexcept
	{
		return usage != other.usage ? usage < other.usage : sequence < other.sequence;
	}
};

bool
NameCounts::Empty() const noexcept
{
	return acquisitions == 0 && timeouts == 0 && failed_tries == 0 && deadlocks == 0 &&
		total_wait_us == 0;
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
	return counts;
}

void
DirectoryTable::Entry::Add(const NameCounts &counts) noexcept
{
	constexpr auto relaxed = std::memory_order_relaxed;

	usage_.fetch_add(UsageOf(counts), relaxed);
	if (counts.acquisitions != 0)
		acquisitions_.fetch_add(counts.acquisitions, relaxed);
	if (counts.waited != 0)
		waited_.fetch_add(counts.waited, relaxed);
	if (counts.timeouts != 0)
		timeouts_.fetch_add(counts.timeouts, relaxed);
	if (counts.failed_tries != 0)
		failed_tries_.fetch_add(counts.failed_tries, relaxed);
	if (counts.deadlocks != 0)
		deadlocks_.fetch_add(counts.deadlocks, relaxed);
	if (counts.total_wait_us != 0)
		total_wait_us_.fetch_add(counts.total_wait_us, relaxed);
	AtomicMax(max_wait_us_, counts.max_wait_us);
	AtomicMax(last_acquired_, counts.last_acquired);
}

/* The slots, then room for Evict to sort every entry in. */
std::size_t
DirectoryTable::BytesFor(std::uint32_t capacity) noexcept
{
	static_assert(alignof(Candidate) <= alignof(Entry), "candidates follow the slots");
	return HeaderBytes() + std::size_t{SlotCountFor(capacity)} * sizeof(Entry) +
		std::size_t{capacity} * sizeof(Candidate);
}

DirectoryTable *
DirectoryTable::Create(void *memory, std::uint32_t capacity) noexcept
{
	DirectoryTable  *table = new (memory) DirectoryTable();
	Entry	   *slots;

	table->capacity_ = capacity;
	table->slot_count_ = SlotCountFor(capacity);
	table->entries_ = 0;
	table->next_sequence_ = 0;
	table->evictions_.store(0);
	table->collisions_.store(0);
	table->resets_.store(0);
	table->last_reset_.store(0);
	slots = table->Slots();
	for (std::uint32_t i = 0; i < table->slot_count_; i++)
	{
		Entry	   *entry = new (&slots[i]) Entry();

		entry->used_ = false;
	}
	return table;
}

DirectoryTable::Entry *
DirectoryTable::Slots() noexcept
{
	return reinterpret_cast<Entry *>(reinterpret_cast<char *>(this) + HeaderBytes());
}

const DirectoryTable::Entry *
DirectoryTable::Slots() const noexcept
{
	return reinterpret_cast<const Entry *>(reinterpret_cast<const char *>(this) + HeaderBytes());
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
	Entry	   *slots = Slots();

	for (std::uint32_t i = Home(id.database, id.key); slots[i].used_; i = Next(i))
	{
		const NameId &other = slots[i].id_;

		if (other.key == id.key && other.database == id.database && other.role == id.role)
			return &slots[i];
	}
	return nullptr;
}

const DirectoryTable::Entry *
DirectoryTable::FindAnyRole(std::uint32_t database, std::int64_t key) const noexcept
{
	const Entry *slots = Slots();

	for (std::uint32_t i = Home(database, key); slots[i].used_; i = Next(i))
		if (slots[i].id_.key == key && slots[i].id_.database == database)
			return &slots[i];
	return nullptr;
}

const DirectoryTable::Entry *
DirectoryTable::FindCollision(std::uint32_t database, std::int64_t key,
						 std::uint64_t fingerprint) const noexcept
{
	const Entry *slots = Slots();

	for (std::uint32_t i = Home(database, key); slots[i].used_; i = Next(i))
		if (slots[i].id_.key == key && slots[i].id_.database == database &&
			slots[i].fingerprint_ != fingerprint)
			return &slots[i];
	return nullptr;
}

DirectoryTable::Entry *
DirectoryTable::Insert(const NameId &id, std::uint64_t fingerprint, std::string_view name,
				  bool truncated) noexcept
{
	Entry	   *slots = Slots();
	std::uint32_t i;
	Entry	   *entry;

	if (entries_ >= capacity_)
		return nullptr;
	for (i = Home(id.database, id.key); slots[i].used_; i = Next(i))
	{
	}
	entry = &slots[i];
	if (name.size() > kStoredNameBytes)
	{
		name = name.substr(0, kStoredNameBytes);
		truncated = true;
	}
	entry->id_ = id;
	entry->fingerprint_ = fingerprint;
	entry->sequence_ = next_sequence_++;
	entry->truncated_ = truncated;
	entry->name_length_ = static_cast<std::uint16_t>(name.size());
	std::memcpy(entry->name_, name.data(), name.size());
	entry->usage_.store(1, std::memory_order_relaxed);
	entry->acquisitions_.store(0, std::memory_order_relaxed);
	entry->waited_.store(0, std::memory_order_relaxed);
	entry->timeouts_.store(0, std::memory_order_relaxed);
	entry->failed_tries_.store(0, std::memory_order_relaxed);
	entry->deadlocks_.store(0, std::memory_order_relaxed);
	entry->total_wait_us_.store(0, std::memory_order_relaxed);
	entry->max_wait_us_.store(0, std::memory_order_relaxed);
	entry->last_acquired_.store(0, std::memory_order_relaxed);
	entry->used_ = true;
	entries_++;
	return entry;
}

void
DirectoryTable::MoveEntry(Entry &from, Entry &to) noexcept
{
	constexpr auto relaxed = std::memory_order_relaxed;

	to.id_ = from.id_;
	to.fingerprint_ = from.fingerprint_;
	to.sequence_ = from.sequence_;
	to.truncated_ = from.truncated_;
	to.name_length_ = from.name_length_;
	std::memcpy(to.name_, from.name_, from.name_length_);
	to.usage_.store(from.usage_.load(relaxed), relaxed);
	to.acquisitions_.store(from.acquisitions_.load(relaxed), relaxed);
	to.waited_.store(from.waited_.load(relaxed), relaxed);
	to.timeouts_.store(from.timeouts_.load(relaxed), relaxed);
	to.failed_tries_.store(from.failed_tries_.load(relaxed), relaxed);
	to.deadlocks_.store(from.deadlocks_.load(relaxed), relaxed);
	to.total_wait_us_.store(from.total_wait_us_.load(relaxed), relaxed);
	to.max_wait_us_.store(from.max_wait_us_.load(relaxed), relaxed);
	to.last_acquired_.store(from.last_acquired_.load(relaxed), relaxed);
	to.used_ = true;
	from.used_ = false;
}

/*
 * Backward-shift deletion: entries after the hole move back into it unless
 * their home lies cyclically in (hole, their slot], where they still are
 * reachable without it.
 */
void
DirectoryTable::EraseAt(std::uint32_t hole) noexcept
{
	Entry	   *slots = Slots();

	slots[hole].used_ = false;
	entries_--;
	for (std::uint32_t j = Next(hole); slots[j].used_; j = Next(j))
	{
		std::uint32_t home = Home(slots[j].id_.database, slots[j].id_.key);
		bool		reachable = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);

		if (reachable)
			continue;
		MoveEntry(slots[j], slots[hole]);
		hole = j;
	}
}

/*
 * Ties in usage are common (every name used once has the same), so they go
 * oldest first: by slot, the victims of every round would be the lowest
 * slots, and the entries left would pile up into one run of thousands of
 * slots that every lookup of an absent name walks to its end.
 */
std::uint32_t
DirectoryTable::Evict(InUseFunction in_use, void *arg) noexcept
{
	Entry	   *slots = Slots();
	Candidate  *candidates = Candidates();
	std::uint32_t count = 0;
	std::uint32_t target = std::max<std::uint32_t>(1, capacity_ * kEvictPercent / 100);
	std::uint32_t sorted = 0;
	std::uint32_t victims = 0;

	for (std::uint32_t i = 0; i < slot_count_; i++)
	{
		std::uint64_t usage;

		if (!slots[i].used_)
			continue;
		usage = slots[i].usage_.load(std::memory_order_relaxed);
		slots[i].usage_.store(usage - usage / 100, std::memory_order_relaxed);
		candidates[count++] = Candidate{usage, slots[i].sequence_, slots[i].id_};
	}
	target = std::min(target, count);

	/*
	 * The idle ones in order, moved to the front; the order is sorted a
	 * chunk at a time, as far as the walk gets.
	 */
	for (std::uint32_t next = 0; next < count && victims < target; next++)
	{
		if (next == sorted)
		{
			std::uint32_t more = std::min(target, count - sorted);

			std::nth_element(candidates + sorted, candidates + sorted + more - 1, candidates + count);
			std::sort(candidates + sorted, candidates + sorted + more);
			sorted += more;
		}
		if (!in_use(candidates[next].id.database, candidates[next].id.key, arg))
			candidates[victims++] = candidates[next];
	}
	/* none idle: the walk sorted them all and moved none */
	if (victims == 0)
		victims = target;

	/*
	 * Erasing shifts later entries back, so each victim is found again by
	 * its id rather than by the slot it had.
	 */
	for (std::uint32_t v = 0; v < victims; v++)
	{
		Entry	   *victim = Find(candidates[v].id);

		if (victim != nullptr)
			EraseAt(static_cast<std::uint32_t>(victim - slots));
	}
	evictions_.fetch_add(victims, std::memory_order_relaxed);
	return victims;
}

void
DirectoryTable::ResetCounts(std::int64_t now) noexcept
{
	Entry	   *slots = Slots();

	for (std::uint32_t i = 0; i < slot_count_; i++)
	{
		if (!slots[i].used_)
			continue;
		slots[i].acquisitions_.store(0, std::memory_order_relaxed);
		slots[i].waited_.store(0, std::memory_order_relaxed);
		slots[i].timeouts_.store(0, std::memory_order_relaxed);
		slots[i].failed_tries_.store(0, std::memory_order_relaxed);
		slots[i].deadlocks_.store(0, std::memory_order_relaxed);
		slots[i].total_wait_us_.store(0, std::memory_order_relaxed);
		slots[i].max_wait_us_.store(0, std::memory_order_relaxed);
		slots[i].last_acquired_.store(0, std::memory_order_relaxed);
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
DirectoryTable::At(std::uint32_t slot) const noexcept
{
	const Entry *entry = &Slots()[slot];

	return entry->used_ ? entry : nullptr;
}

} // namespace advlock_named
