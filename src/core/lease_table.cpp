/*-------------------------------------------------------------------------
 *
 * lease_table.cpp
 *	  The shared table of leases and semaphore permits; see lease_table.hpp.
 *
 *-------------------------------------------------------------------------
 */
#include "lease_table.hpp"

#include "lease_ledger.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace advlock_named {

static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
			  "counters in shared memory must be lock-free atomics");
static_assert(kLeaseNameBytes <= UINT8_MAX, "a stored name's length fits its byte");

namespace {

/* This process's: a pointer to its own memory, so never in the shared table. */
LedgerSink *ledger_sink = nullptr;

constexpr std::size_t
Aligned(std::size_t size)
{
	return (size + 7) / 8 * 8;
}

/* Twice as many buckets as holders, a power of two. */
std::uint32_t
BucketCountFor(std::uint32_t capacity)
{
	std::uint32_t count = 16;

	while (count < 2 * capacity)
		count *= 2;
	return count;
}

void
CopyName(char *to, std::uint8_t *length, std::string_view name)
{
	if (name.size() > kLeaseNameBytes)
		name = name.substr(0, kLeaseNameBytes);
	std::memcpy(to, name.data(), name.size());
	*length = static_cast<std::uint8_t>(name.size());
}

} // namespace

std::size_t
LeaseTable::BytesFor(std::uint32_t capacity, std::uint32_t waiter_slots) noexcept
{
	return Aligned(sizeof(LeaseTable)) + BucketCountFor(capacity) * sizeof(Bucket) +
		std::size_t{capacity} * sizeof(Holder) + std::size_t{waiter_slots} * sizeof(Waiter);
}

LeaseTable *
LeaseTable::Create(void *memory, std::uint32_t capacity, std::uint32_t waiter_slots) noexcept
{
	LeaseTable *table = new (memory) LeaseTable();
	Bucket	   *buckets;
	Holder	   *holders;
	Waiter	   *waiters;

	table->capacity_ = capacity;
	table->waiter_slots_ = waiter_slots;
	table->bucket_mask_ = BucketCountFor(capacity) - 1;
	table->count_ = 0;
	table->free_list_ = capacity > 0 ? 1 : 0;
	table->waiting_ = 0;
	table->next_sequence_ = 1;
	table->lock_space_holders_.store(0, std::memory_order_relaxed);
	table->tokens_.Reset();
	buckets = table->Buckets();
	for (std::uint32_t b = 0; b <= table->bucket_mask_; b++)
	{
		new (&buckets[b]) Bucket();
		buckets[b].lock_holders.store(0, std::memory_order_relaxed);
		buckets[b].head = 0;
	}
	holders = table->Holders();
	for (std::uint32_t i = 0; i < capacity; i++)
	{
		new (&holders[i]) Holder();
		holders[i].used_ = false;
		holders[i].next_ = i + 1 < capacity ? i + 2 : 0;
	}
	waiters = table->Waiters();
	for (std::uint32_t i = 0; i < waiter_slots; i++)
	{
		new (&waiters[i]) Waiter();
		waiters[i].state = Waiter::State::kFree;
	}
	return table;
}

LeaseTable::Bucket *
LeaseTable::Buckets() noexcept
{
	return reinterpret_cast<Bucket *>(reinterpret_cast<char *>(this) + Aligned(sizeof(LeaseTable)));
}

const LeaseTable::Bucket *
LeaseTable::Buckets() const noexcept
{
	return reinterpret_cast<const Bucket *>(reinterpret_cast<const char *>(this) + Aligned(sizeof(LeaseTable)));
}

LeaseTable::Holder *
LeaseTable::Holders() noexcept
{
	return reinterpret_cast<Holder *>(Buckets() + bucket_mask_ + 1);
}

const LeaseTable::Holder *
LeaseTable::Holders() const noexcept
{
	return reinterpret_cast<const Holder *>(Buckets() + bucket_mask_ + 1);
}

LeaseTable::Waiter *
LeaseTable::Waiters() noexcept
{
	return reinterpret_cast<Waiter *>(Holders() + capacity_);
}

const LeaseTable::Waiter *
LeaseTable::Waiters() const noexcept
{
	return reinterpret_cast<const Waiter *>(Holders() + capacity_);
}

std::uint32_t
LeaseTable::BucketOf(const Resource &resource) const noexcept
{
	/* the key is already a hash: mix in the database and the space */
	std::uint64_t h = static_cast<std::uint64_t>(resource.key) ^
		(std::uint64_t{resource.database} * 0x9e3779b97f4a7c15ULL) ^
		static_cast<std::uint64_t>(resource.space);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return static_cast<std::uint32_t>(h) & bucket_mask_;
}

LeaseTable::Holder *
LeaseTable::Find(std::uint32_t database, std::int64_t key, std::int64_t token) noexcept
{
	for (LeaseSpace space : {LeaseSpace::kLock, LeaseSpace::kSemaphore})
	{
		Resource	resource{database, space, key};

		for (std::uint32_t p = Buckets()[BucketOf(resource)].head; p != 0; p = Holders()[p - 1].next_)
		{
			Holder	   *holder = &Holders()[p - 1];

			if (holder->token_ == token && holder->resource_ == resource)
				return holder;
		}
	}
	return nullptr;
}

/* Takes a holder out of its chain and puts its place on the free list. */
void
LeaseTable::Unlink(Holder *holder) noexcept
{
	Bucket	   &bucket = Buckets()[BucketOf(holder->resource_)];
	std::uint32_t place = static_cast<std::uint32_t>(holder - Holders()) + 1;
	std::uint32_t *link = &bucket.head;

	while (*link != place)
		link = &Holders()[*link - 1].next_;
	*link = holder->next_;
	if (holder->resource_.space == LeaseSpace::kLock)
	{
		bucket.lock_holders.fetch_sub(1, std::memory_order_release);
		lock_space_holders_.fetch_sub(1, std::memory_order_release);
	}
	if (!holder->released_)
		Report(holder, true);
	holder->used_ = false;
	holder->next_ = free_list_;
	free_list_ = place;
	count_--;
}

std::uint32_t
LeaseTable::Reclaim(const Resource &resource, std::int64_t now, RemovedFunction removed, void *arg) noexcept
{
	std::uint32_t gone = 0;
	std::uint32_t p = Buckets()[BucketOf(resource)].head;

	while (p != 0)
	{
		Holder	   *holder = &Holders()[p - 1];

		p = holder->next_;
		if (holder->resource_ == resource && ReclaimIfDead(holder, now, removed, arg))
			gone++;
	}
	return gone;
}

std::uint32_t
LeaseTable::ReclaimAnyDead(std::int64_t now, std::uint32_t limit, RemovedFunction removed, void *arg) noexcept
{
	std::uint32_t gone = 0;

	for (std::uint32_t i = 0; i < capacity_ && gone < limit; i++)
		if (Holders()[i].used_ && ReclaimIfDead(&Holders()[i], now, removed, arg))
			gone++;
	return gone;
}

bool
LeaseTable::ReclaimIfDead(Holder *holder, std::int64_t now, RemovedFunction removed, void *arg) noexcept
{
	if (!holder->Dead(now))
		return false;
	if (removed != nullptr)
		removed(*holder, arg);
	Unlink(holder);
	return true;
}

/* Whether a waiter for permits of resource came before own_slot (or is there at all, without one). */
bool
LeaseTable::EarlierWaiter(const Resource &resource, std::uint32_t own_slot) const noexcept
{
	const Waiter *waiters = Waiters();
	std::uint64_t own_sequence = UINT64_MAX;

	if (waiting_ == 0)
		return false;
	if (own_slot < waiter_slots_ && waiters[own_slot].state == Waiter::State::kWaiting)
		own_sequence = waiters[own_slot].sequence;
	for (std::uint32_t i = 0; i < waiter_slots_; i++)
		if (i != own_slot && waiters[i].state == Waiter::State::kWaiting &&
			waiters[i].kind == HolderKind::kPermits && waiters[i].resource == resource &&
			waiters[i].sequence < own_sequence)
			return true;
	return false;
}

LeaseTable::Obstacle
LeaseTable::Check(const Resource &resource, HolderKind kind, std::int32_t permits, std::int64_t now,
				  std::uint32_t own_slot, std::uint64_t own_session) const noexcept
{
	Obstacle	obstacle{false, false, false, kNeverExpires, 0, 0, 0};
	bool		fenced_only = false;

	for (std::uint32_t p = Buckets()[BucketOf(resource)].head; p != 0; p = Holders()[p - 1].next_)
	{
		const Holder &holder = Holders()[p - 1];
		bool		conflicts;

		if (!(holder.resource_ == resource) || holder.Dead(now))
			continue;
		obstacle.holders++;
		obstacle.permits_held += holder.permits_;
		if (holder.kind_ == HolderKind::kPermits)
			obstacle.capacity = holder.capacity_;
		conflicts = kind == HolderKind::kPermits || kind == HolderKind::kExclusive ||
			holder.kind_ == HolderKind::kExclusive;
		if (!conflicts)
			continue;
		if (own_session != 0 && holder.acquirer_ == own_session)
			obstacle.own = true;
		/* its time up or released, only a fence holds it: no expiry to wait for */
		if (holder.released_ || holder.expires_ <= now)
			fenced_only = true;
		else if (holder.expires_ < obstacle.next_expiry)
			obstacle.next_expiry = holder.expires_;
		if (kind != HolderKind::kPermits)
			obstacle.blocked = true;
	}
	if (kind == HolderKind::kPermits)
	{
		if (obstacle.capacity == 0)
			for (std::uint32_t i = 0; i < waiter_slots_; i++)
				if (Waiters()[i].state == Waiter::State::kWaiting && Waiters()[i].kind == HolderKind::kPermits &&
					Waiters()[i].resource == resource)
				{
					obstacle.capacity = Waiters()[i].capacity;
					break;
				}
		bool		short_of_permits = obstacle.holders > 0 && obstacle.permits_held + permits > obstacle.capacity;
		bool		behind_others = EarlierWaiter(resource, own_slot);

		obstacle.blocked = short_of_permits || behind_others;
		/* only the first in line waits for fences to go, not those behind it */
		fenced_only = fenced_only && short_of_permits && !behind_others;
	}
	obstacle.fenced = obstacle.blocked && fenced_only;
	obstacle.own = obstacle.blocked && obstacle.own;
	if (!obstacle.blocked)
		obstacle.next_expiry = kNeverExpires;
	return obstacle;
}

void
LeaseTable::SetLedgerSink(LedgerSink *sink) noexcept
{
	ledger_sink = sink;
}

void
LeaseTable::Report(const Holder *holder, bool gone) noexcept
{
	if (ledger_sink == nullptr || !Kept(*holder))
		return;
	if (gone)
		ledger_sink->Put(static_cast<std::uint32_t>(holder - Holders()), nullptr);
	else
	{
		LedgerRecord record = RecordOf(*holder);

		ledger_sink->Put(static_cast<std::uint32_t>(holder - Holders()), &record);
	}
}

LeaseTable::Holder *
LeaseTable::Insert(const HolderSpec &spec, std::int64_t token) noexcept
{
	Holder	   *holder = Place(spec, token);

	if (holder != nullptr)
		Report(holder, false);
	return holder;
}

LeaseTable::Holder *
LeaseTable::Readmit(const HolderSpec &spec, std::int64_t token, std::int64_t renewals) noexcept
{
	Holder	   *holder = Place(spec, token);

	if (holder != nullptr)
		holder->renewals_ = renewals;
	return holder;
}

LeaseTable::Holder *
LeaseTable::Place(const HolderSpec &spec, std::int64_t token) noexcept
{
	Holder	   *holder;
	Bucket	   &bucket = Buckets()[BucketOf(spec.resource)];
	std::uint32_t place = free_list_;

	if (place == 0)
		return nullptr;
	holder = &Holders()[place - 1];
	free_list_ = holder->next_;
	holder->resource_ = spec.resource;
	holder->kind_ = spec.kind;
	holder->used_ = true;
	holder->released_ = false;
	holder->truncated_ = spec.truncated || spec.name.size() > kLeaseNameBytes;
	CopyName(holder->name_, &holder->name_length_, spec.name);
	holder->role_ = spec.role;
	holder->token_ = token;
	holder->permits_ = spec.permits;
	holder->capacity_ = spec.capacity;
	holder->acquired_ = spec.acquired;
	holder->expires_ = spec.expires;
	holder->renewals_ = 0;
	holder->session_pid_ = spec.session_pid;
	holder->acquirer_ = spec.acquirer;
	holder->fences_ = 0;
	holder->fingerprint_ = spec.fingerprint;
	holder->next_ = bucket.head;
	bucket.head = place;
	if (spec.resource.space == LeaseSpace::kLock)
	{
		bucket.lock_holders.fetch_add(1, std::memory_order_release);
		lock_space_holders_.fetch_add(1, std::memory_order_release);
	}
	count_++;
	return holder;
}

bool
LeaseTable::Release(Holder *holder) noexcept
{
	Report(holder, true);
	holder->released_ = true;
	if (holder->fences_ > 0)
		return false;
	Unlink(holder);
	return true;
}

void
LeaseTable::Renew(Holder *holder, std::int64_t expires) noexcept
{
	holder->expires_ = expires;
	holder->renewals_++;
	Report(holder, false);
}

bool
LeaseTable::DropFence(Holder *holder, std::int64_t now) noexcept
{
	if (holder->fences_ > 0)
		holder->fences_--;
	if (!holder->Dead(now))
		return false;
	Unlink(holder);
	return true;
}

std::uint32_t
LeaseTable::RemoveSessionHolders(std::int32_t pid, RemovedFunction removed, void *arg) noexcept
{
	std::uint32_t gone = 0;

	for (std::uint32_t i = 0; i < capacity_; i++)
	{
		Holder	   *holder = &Holders()[i];

		if (!holder->used_ || holder->session_pid_ != pid || holder->released_)
			continue;
		if (removed != nullptr)
			removed(*holder, arg);
		if (Release(holder))
			gone++;
	}
	return gone;
}

std::uint32_t
LeaseTable::CountForRole(std::uint32_t role, std::int64_t now) const noexcept
{
	std::uint32_t count = 0;

	for (std::uint32_t i = 0; i < capacity_; i++)
		if (Holders()[i].used_ && Holders()[i].role_ == role && !Holders()[i].Dead(now))
			count++;
	return count;
}

void
LeaseTable::Enqueue(std::uint32_t slot, const WaiterSpec &spec) noexcept
{
	Waiter	   &waiter = Waiters()[slot];

	if (waiter.state == Waiter::State::kFree)
		waiting_++;
	waiter.state = Waiter::State::kWaiting;
	waiter.kind = spec.kind;
	waiter.resource = spec.resource;
	waiter.role = spec.role;
	waiter.permits = spec.permits;
	waiter.capacity = spec.capacity;
	waiter.pid = spec.pid;
	waiter.sequence = next_sequence_++;
	waiter.since = spec.since;
	waiter.ttl = spec.ttl;
	waiter.granted_token = 0;
	waiter.wakeup = spec.wakeup;
	waiter.fingerprint = spec.fingerprint;
	waiter.truncated = spec.truncated || spec.name.size() > kLeaseNameBytes;
	CopyName(waiter.name, &waiter.name_length, spec.name);
}

void
LeaseTable::Dequeue(std::uint32_t slot) noexcept
{
	Waiter	   &waiter = Waiters()[slot];

	if (waiter.state != Waiter::State::kFree)
		waiting_--;
	waiter.state = Waiter::State::kFree;
}

std::uint32_t
LeaseTable::GrantWaiters(const Resource &resource, std::int64_t now, TokenCounter &tokens,
						 std::uint64_t timeline, WakeFunction wake, void *arg) noexcept
{
	std::uint32_t granted = 0;

	while (waiting_ > 0)
	{
		Waiter	   *first = nullptr;
		std::int64_t token;
		Obstacle	obstacle;
		Holder	   *holder;

		for (std::uint32_t i = 0; i < waiter_slots_; i++)
		{
			Waiter	   &waiter = Waiters()[i];

			if (waiter.state == Waiter::State::kWaiting && waiter.kind == HolderKind::kPermits &&
				waiter.resource == resource && (first == nullptr || waiter.sequence < first->sequence))
				first = &waiter;
		}
		if (first == nullptr)
			break;
		obstacle = Check(resource, HolderKind::kPermits, first->permits, now,
						 static_cast<std::uint32_t>(first - Waiters()));
		if (obstacle.blocked || free_list_ == 0 ||
			tokens.Next(timeline, &token) != TokenCounter::Draw::kDrawn)
		{
			/* the first one wakes to find out why itself (the table full, tokens) */
			if (!obstacle.blocked)
				wake(*first, arg);
			break;
		}
		holder = Insert(HolderSpec{resource, HolderKind::kPermits, first->role, first->permits,
								   first->capacity, now,
								   first->ttl == 0 ? kNeverExpires : now + first->ttl,
								   first->ttl == 0 ? first->pid : 0, 0, first->fingerprint, first->Name(),
								   first->truncated},
						token);
		first->state = Waiter::State::kGranted;
		first->granted_token = holder->token_;
		wake(*first, arg);
		granted++;
	}
	return granted;
}

void
LeaseTable::WakeWaiters(const Resource &resource, WakeFunction wake, void *arg) const noexcept
{
	if (waiting_ == 0)
		return;
	for (std::uint32_t i = 0; i < waiter_slots_; i++)
		if (Waiters()[i].state != Waiter::State::kFree && Waiters()[i].resource == resource)
			wake(Waiters()[i], arg);
}

const LeaseTable::Holder *
LeaseTable::At(std::uint32_t place) const noexcept
{
	const Holder *holder = &Holders()[place];

	return holder->used_ ? holder : nullptr;
}

} // namespace advlock_named
