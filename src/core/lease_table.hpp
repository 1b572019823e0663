/*-------------------------------------------------------------------------
 *
 * lease_table.hpp
 *	  The shared table of leases and semaphore permits: holdings owned by a
 *	  role and a fencing token rather than by a backend, and the backends
 *	  waiting for them.
 *
 * A holder is one grant: an exclusive or shared lease on a name of the lock
 * name space (the name space of named locks, which leases share so that a
 * lease and a lock on one name exclude each other), or some permits of a
 * semaphore (a name space of its own).  It lives until it is released, its
 * time is up (unless its session holds it: then until that session ends),
 * and no transaction that checked it (a fence) is still running.
 *
 * Holders are found by (database, space, key) through a chained hash whose
 * buckets also count the lock-space holders they chain, read without the
 * table's lock: a named lock request, once granted by the lock manager, has
 * nothing to look at when its bucket counts none.
 *
 * Waiters take one slot each, by backend.  Waiters for permits queue in the
 * order they came and are granted by whoever frees permits, in that order,
 * as long as the next one fits; the others only wait for conflicting
 * holders to go.
 *
 * The memory and the locking come from the glue: the caller holds the
 * table's lock (exclusive to change anything, shared to read), except for
 * MayHoldLockSpace.  Times are opaque int64 microseconds (PostgreSQL's
 * TimestampTz in practice).
 *
 * Changes to the holders that a role owns with a time to live go to this
 * process's ledger sink, if it has one (lease_ledger.hpp).
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

#include "fencing_token.hpp"

namespace advlock_named {

class LedgerSink;

/* Longest prefix of a name a holder keeps, in bytes. */
constexpr std::size_t kLeaseNameBytes = 128;

/* The expiry of a holder that does not expire (it is its session's). */
constexpr std::int64_t kNeverExpires = INT64_MAX;

enum class LeaseSpace : std::uint8_t
{
	kLock,						/* named locks and leases: one resource per name */
	kSemaphore,
};

enum class HolderKind : std::uint8_t
{
	kShared,
	kExclusive,
	kPermits,
};

/* What holders hold. */
struct Resource
{
	std::uint32_t database;
	LeaseSpace	space;
	std::int64_t key;

	bool		operator==(const Resource &other) const noexcept
	{
		return key == other.key && database == other.database && space == other.space;
	}
};

/* A grant to insert. */
struct HolderSpec
{
	Resource	resource;
	HolderKind	kind;
	std::uint32_t role;
	std::int32_t permits;		/* kPermits: how many; else 0 */
	std::int32_t capacity;		/* kPermits: the semaphore's; else 0 */
	std::int64_t acquired;
	std::int64_t expires;		/* kNeverExpires: its session's until released */
	std::int32_t session_pid;	/* ends with this session; 0: with none */
	std::uint64_t acquirer;		/* the session that took it (opaque, unique per session); 0: none */
	std::uint64_t fingerprint;	/* of the whole name, for the name directory */
	std::string_view name;		/* cut to kLeaseNameBytes by the caller */
	bool		truncated;
};

/* A wait for a resource, as a waiter announces it. */
struct WaiterSpec
{
	Resource	resource;
	HolderKind	kind;
	std::uint32_t role;
	std::int32_t permits;
	std::int32_t capacity;
	std::int64_t since;
	std::int64_t ttl;			/* kPermits: the grant's time to live; 0: its session's */
	std::int32_t pid;
	void	   *wakeup;			/* opaque to the table: what the glue wakes the waiter with */
	std::uint64_t fingerprint;
	std::string_view name;
	bool		truncated;
};

class LeaseTable
{
public:
	class Holder
	{
	public:
		const Resource &GetResource() const noexcept { return resource_; }
		HolderKind	Kind() const noexcept { return kind_; }
		std::int64_t Token() const noexcept { return token_; }
		std::uint32_t Role() const noexcept { return role_; }
		std::int32_t Permits() const noexcept { return permits_; }
		std::int32_t Capacity() const noexcept { return capacity_; }
		std::int64_t Acquired() const noexcept { return acquired_; }
		std::int64_t Expires() const noexcept { return expires_; }
		std::int64_t Renewals() const noexcept { return renewals_; }
		std::int32_t SessionPid() const noexcept { return session_pid_; }
		std::uint32_t Fences() const noexcept { return fences_; }
		bool		Released() const noexcept { return released_; }
		std::uint64_t Fingerprint() const noexcept { return fingerprint_; }
		std::string_view Name() const noexcept { return std::string_view(name_, name_length_); }
		bool		Truncated() const noexcept { return truncated_; }

		/* Released, or its time is up, with no fence left to hold it. */
		bool		Dead(std::int64_t now) const noexcept
		{
			return fences_ == 0 && (released_ || expires_ <= now);
		}
		/* Renewable, checkable: not released, and its time not up or a fence holds it. */
		bool		Live(std::int64_t now) const noexcept
		{
			return !released_ && (expires_ > now || fences_ > 0);
		}

	private:
		friend class LeaseTable;

		Resource	resource_;
		HolderKind	kind_;
		bool		used_;
		bool		released_;
		bool		truncated_;
		std::uint8_t name_length_;
		std::uint32_t role_;
		std::int64_t token_;
		std::int32_t permits_;
		std::int32_t capacity_;
		std::int64_t acquired_;
		std::int64_t expires_;
		std::int64_t renewals_;
		std::int32_t session_pid_;
		std::uint32_t fences_;
		std::uint64_t acquirer_;
		std::uint32_t next_;		/* in its bucket's chain, or the free list: place plus one */
		std::uint64_t fingerprint_;
		char		name_[kLeaseNameBytes];
	};

	/* A backend's slot: free, waiting, or (permits) granted by another. */
	struct Waiter
	{
		enum class State : std::uint8_t
		{
			kFree,
			kWaiting,
			kGranted,
		};

		State		state;
		bool		truncated;
		std::uint8_t name_length;
		HolderKind	kind;
		Resource	resource;
		std::uint32_t role;
		std::int32_t permits;
		std::int32_t capacity;
		std::int32_t pid;
		std::uint64_t sequence;	/* arrival order */
		std::int64_t since;
		std::int64_t ttl;
		std::int64_t granted_token;
		void	   *wakeup;
		std::uint64_t fingerprint;
		char		name[kLeaseNameBytes];

		std::string_view Name() const noexcept { return std::string_view(name, name_length); }
	};

	/* What stands in the way of a request, among the live and fenced holders of its resource. */
	struct Obstacle
	{
		bool		blocked;		/* a holder conflicts, or earlier waiters for permits */
		bool		fenced;			/* one of the conflicting holders is held only by fences */
		bool		own;			/* one of the conflicting holders was taken by the asking session */
		std::int64_t next_expiry;	/* when the first conflicting holder's time is up; kNeverExpires */
		std::int32_t permits_held;
		std::int32_t capacity;		/* of the permits held or awaited; 0: none */
		std::uint32_t holders;
	};

	static std::size_t BytesFor(std::uint32_t capacity, std::uint32_t waiter_slots) noexcept;
	static LeaseTable *Create(void *memory, std::uint32_t capacity, std::uint32_t waiter_slots) noexcept;

	std::uint32_t Capacity() const noexcept { return capacity_; }
	std::uint32_t Count() const noexcept { return count_; }
	std::uint32_t WaiterSlots() const noexcept { return waiter_slots_; }

	/*
	 * Whether key's bucket chains a lock-space holder; without the lock.
	 * Every lock request asks, so a table without lock-space holders (the
	 * common case) answers from one word, not the key's bucket.
	 */
	bool		MayHoldLockSpace(std::uint32_t database, std::int64_t key) const noexcept
	{
		return lock_space_holders_.load(std::memory_order_acquire) != 0 &&
			Buckets()[BucketOf(Resource{database, LeaseSpace::kLock, key})].lock_holders.load(
				std::memory_order_acquire) != 0;
	}

	/* The holder with token on (database, key) in either space, or nullptr. */
	Holder	   *Find(std::uint32_t database, std::int64_t key, std::int64_t token) noexcept;

	/*
	 * Removes the dead holders of resource (exclusive lock), telling
	 * removed(holder, arg) about each before it goes; returns how many went.
	 */
	using RemovedFunction = void (*)(const Holder &holder, void *arg);
	std::uint32_t Reclaim(const Resource &resource, std::int64_t now, RemovedFunction removed, void *arg) noexcept;

	/*
	 * As Reclaim, for up to limit dead holders of any resource: the table
	 * may be full of holders whose time ran out on names nobody asked for
	 * since.
	 */
	std::uint32_t ReclaimAnyDead(std::int64_t now, std::uint32_t limit, RemovedFunction removed,
								 void *arg) noexcept;

	/*
	 * What stands in the way of a request of kind (and permits) for
	 * resource, by holders that are not dead at now; for permits also
	 * earlier waiters (the caller's own slot excepted), since they go first.
	 */
	Obstacle	Check(const Resource &resource, HolderKind kind, std::int32_t permits, std::int64_t now,
					  std::uint32_t own_slot, std::uint64_t own_session = 0) const noexcept;

	/* A new holder with token (exclusive lock); nullptr when the table is full. */
	Holder	   *Insert(const HolderSpec &spec, std::int64_t token) noexcept;

	/* A holder the ledger kept, back in a table built anew: as Insert, but not reported to the sink. */
	Holder	   *Readmit(const HolderSpec &spec, std::int64_t token, std::int64_t renewals) noexcept;

	/* Where this process reports changes to kept holders from now on; nullptr: nowhere. */
	static void SetLedgerSink(LedgerSink *sink) noexcept;

	/* Marks a holder released; it goes at once unless a fence holds it. Returns whether it went. */
	bool		Release(Holder *holder) noexcept;

	void		Renew(Holder *holder, std::int64_t expires) noexcept;
	void		AddFence(Holder *holder) noexcept { holder->fences_++; }
	/* Returns whether the holder went: released or expired, and that was its last fence. */
	bool		DropFence(Holder *holder, std::int64_t now) noexcept;

	/* Removes every holder bound to session pid; removed() hears of each. */
	std::uint32_t RemoveSessionHolders(std::int32_t pid, RemovedFunction removed, void *arg) noexcept;

	/* Holders owned by role that are not dead at now. */
	std::uint32_t CountForRole(std::uint32_t role, std::int64_t now) const noexcept;

	/* Waiter slots, one per backend. */
	Waiter	   &SlotAt(std::uint32_t slot) noexcept { return Waiters()[slot]; }
	const Waiter &SlotAt(std::uint32_t slot) const noexcept { return Waiters()[slot]; }
	void		Enqueue(std::uint32_t slot, const WaiterSpec &spec) noexcept;
	void		Dequeue(std::uint32_t slot) noexcept;
	std::uint32_t WaitingCount() const noexcept { return waiting_; }

	/*
	 * Grants waiters for permits of resource in arrival order while the
	 * next one fits (exclusive lock): a holder for each, with a token from
	 * tokens, its slot marked granted.  Stops early when tokens needs an
	 * epoch made durable.  Returns how many it granted; wake(waiter, arg)
	 * is called for each.
	 */
	using WakeFunction = void (*)(const Waiter &waiter, void *arg);
	std::uint32_t GrantWaiters(const Resource &resource, std::int64_t now, TokenCounter &tokens,
							   std::uint64_t timeline, WakeFunction wake, void *arg) noexcept;

	/* Calls wake for every waiter on resource (after a change that may let them go). */
	void		WakeWaiters(const Resource &resource, WakeFunction wake, void *arg) const noexcept;

	/* Iteration over holder places: nullptr for a free one. */
	std::uint32_t PlaceCount() const noexcept { return capacity_; }
	const Holder *At(std::uint32_t place) const noexcept;

	TokenCounter &Tokens() noexcept { return tokens_; }

private:
	struct Bucket
	{
		std::atomic<std::uint32_t> lock_holders;
		std::uint32_t head;		/* first holder's place plus one; 0: none */
	};

	LeaseTable() = default;

	std::uint32_t BucketOf(const Resource &resource) const noexcept;
	Bucket	   *Buckets() noexcept;
	const Bucket *Buckets() const noexcept;
	Holder	   *Holders() noexcept;
	const Holder *Holders() const noexcept;
	Waiter	   *Waiters() noexcept;
	const Waiter *Waiters() const noexcept;
	void		Unlink(Holder *holder) noexcept;
	/* Unlinks holder if it is dead at now, telling removed first; whether it went. */
	bool		ReclaimIfDead(Holder *holder, std::int64_t now, RemovedFunction removed, void *arg) noexcept;
	Holder	   *Place(const HolderSpec &spec, std::int64_t token) noexcept;
	void		Report(const Holder *holder, bool gone) noexcept;
	bool		EarlierWaiter(const Resource &resource, std::uint32_t own_slot) const noexcept;

	std::uint32_t capacity_;
	std::uint32_t waiter_slots_;
	std::uint32_t bucket_mask_;
	std::uint32_t count_;
	std::uint32_t free_list_;	/* first free place plus one; 0: none */
	std::uint32_t waiting_;
	std::uint64_t next_sequence_;
	/* the buckets' lock_holders summed */
	std::atomic<std::uint32_t> lock_space_holders_;
	TokenCounter tokens_;
};

} // namespace advlock_named
