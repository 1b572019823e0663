/*
 * Unit tests of the lease table and of fencing tokens: conflicts between
 * lease kinds, expiry and fences, semaphore permits granted in arrival
 * order, tokens that only grow, across epochs, restarts and timelines, and
 * the ledger that carries a role's leases over a crash.
 */
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "fencing_token.hpp"
#include "lease_ledger.hpp"
#include "lease_table.hpp"

namespace advlock_named {
namespace {

constexpr std::uint32_t kDatabase = 5;
constexpr std::int64_t kSecond = 1000000;

struct Table
{
	explicit Table(std::uint32_t capacity, std::uint32_t slots = 8)
		: memory(std::malloc(LeaseTable::BytesFor(capacity, slots))),
		  table(LeaseTable::Create(memory.get(), capacity, slots))
	{
		table->Tokens().Reserved(1);
	}

	std::int64_t Token()
	{
		std::int64_t token;

		EXPECT_EQ(table->Tokens().Next(1, &token), TokenCounter::Draw::kDrawn);
		return token;
	}

	struct Free
	{
		void		operator()(void *p) const { std::free(p); }
	};
	std::unique_ptr<void, Free> memory;
	LeaseTable *table;
};

Resource
Lock(std::int64_t key)
{
	return Resource{kDatabase, LeaseSpace::kLock, key};
}

Resource
Semaphore(std::int64_t key)
{
	return Resource{kDatabase, LeaseSpace::kSemaphore, key};
}

HolderSpec
Lease(const Resource &resource, HolderKind kind, std::int64_t expires, std::uint32_t role = 10)
{
	return HolderSpec{resource, kind, role, 0, 0, 0, expires, 0, 0, 1, "name", false};
}

HolderSpec
Permits(const Resource &resource, std::int32_t permits, std::int32_t capacity, std::int64_t expires)
{
	return HolderSpec{resource, HolderKind::kPermits, 10, permits, capacity, 0, expires, 0, 0, 1, "sem", false};
}

WaiterSpec
PermitWaiter(const Resource &resource, std::int32_t permits, std::int32_t capacity)
{
	return WaiterSpec{resource, HolderKind::kPermits, 10, permits, capacity, 0, kSecond, 100, nullptr, 1, "sem",
					  false};
}

void
IgnoreWake(const LeaseTable::Waiter &, void *)
{
}

TEST(FencingToken, PacksMostSignificantFirst)
{
	TokenParts	parts{3, 12345, 678};
	TokenParts	back = UnpackToken(PackToken(parts));

	EXPECT_EQ(back.timeline, 3u);
	EXPECT_EQ(back.epoch, 12345u);
	EXPECT_EQ(back.counter, 678u);
	EXPECT_GT(PackToken({kMaxTokenTimeline, kMaxTokenEpoch, kTokenCounterMask}), 0) << "always positive";
	EXPECT_LT(PackToken({1, kMaxTokenEpoch, kTokenCounterMask}), PackToken({2, 0, 0}))
		<< "a higher timeline beats every epoch and counter";
	EXPECT_LT(PackToken({1, 7, kTokenCounterMask}), PackToken({1, 8, 0}));
}

TEST(FencingToken, NeedsADurableEpochFirst)
{
	TokenCounter counter;
	std::int64_t token;

	counter.Reset();
	EXPECT_TRUE(counter.WantsEpoch());
	EXPECT_EQ(counter.Next(1, &token), TokenCounter::Draw::kNeedsEpoch);
	EXPECT_EQ(counter.EpochToReserve(41), 42u) << "above what the file has";
	counter.Reserved(42);
	ASSERT_EQ(counter.Next(1, &token), TokenCounter::Draw::kDrawn);
	EXPECT_EQ(UnpackToken(token).epoch, 42u);
	EXPECT_EQ(UnpackToken(token).counter, 0u);
	EXPECT_FALSE(counter.WantsEpoch());
	EXPECT_EQ(counter.Next(kMaxTokenTimeline + 1, &token), TokenCounter::Draw::kTimelineTooHigh);
}

TEST(FencingToken, RunsIntoTheNextEpochOnlyWhenItIsDurable)
{
	TokenCounter counter;
	std::int64_t token;
	std::int64_t last = 0;

	counter.Reset();
	counter.Reserved(1);
	for (std::uint64_t i = 0; i <= kTokenCounterMask / 2; i++)
		ASSERT_EQ(counter.Next(1, &token), TokenCounter::Draw::kDrawn);
	EXPECT_TRUE(counter.WantsEpoch()) << "half the epoch used, the next one is asked for early";
	EXPECT_EQ(counter.EpochToReserve(1), 2u);
	for (std::uint64_t i = kTokenCounterMask / 2 + 1; i <= kTokenCounterMask; i++)
	{
		ASSERT_EQ(counter.Next(1, &token), TokenCounter::Draw::kDrawn);
		ASSERT_GT(token, last);
		last = token;
	}
	EXPECT_EQ(counter.Next(1, &token), TokenCounter::Draw::kNeedsEpoch) << "epoch 2 is not durable yet";
	counter.Reserved(2);
	ASSERT_EQ(counter.Next(1, &token), TokenCounter::Draw::kDrawn);
	EXPECT_GT(token, last);
	EXPECT_EQ(UnpackToken(token).epoch, 2u);
}

TEST(FencingToken, ARestartStartsAboveEveryEpochReserved)
{
	TokenCounter before;
	TokenCounter after;
	std::int64_t old_token;
	std::int64_t new_token;

	before.Reset();
	before.Reserved(before.EpochToReserve(0));
	ASSERT_EQ(before.Next(1, &old_token), TokenCounter::Draw::kDrawn);
	/* reserved ahead, but never used before the crash: the file says 2 */
	before.Reserved(2);

	after.Reset();
	after.Reserved(after.EpochToReserve(2));
	ASSERT_EQ(after.Next(1, &new_token), TokenCounter::Draw::kDrawn);
	EXPECT_GT(new_token, old_token);
	EXPECT_EQ(UnpackToken(new_token).epoch, 3u);
}

TEST(LeaseTable, ExclusiveAndSharedConflictAsLocksDo)
{
	Table		t(8);
	LeaseTable &table = *t.table;

	ASSERT_NE(table.Insert(Lease(Lock(1), HolderKind::kShared, 10 * kSecond), t.Token()), nullptr);
	EXPECT_FALSE(table.Check(Lock(1), HolderKind::kShared, 0, 0, UINT32_MAX).blocked);
	EXPECT_TRUE(table.Check(Lock(1), HolderKind::kExclusive, 0, 0, UINT32_MAX).blocked);
	EXPECT_EQ(table.Check(Lock(1), HolderKind::kExclusive, 0, 0, UINT32_MAX).next_expiry, 10 * kSecond);
	EXPECT_FALSE(table.Check(Lock(2), HolderKind::kExclusive, 0, 0, UINT32_MAX).blocked) << "another key";
	EXPECT_FALSE(table.Check(Resource{kDatabase + 1, LeaseSpace::kLock, 1}, HolderKind::kExclusive, 0, 0,
							 UINT32_MAX).blocked) << "another database";
	EXPECT_FALSE(table.Check(Semaphore(1), HolderKind::kPermits, 1, 0, UINT32_MAX).blocked)
		<< "the semaphore of the same name is another resource";

	ASSERT_NE(table.Insert(Lease(Lock(3), HolderKind::kExclusive, 10 * kSecond), t.Token()), nullptr);
	EXPECT_TRUE(table.Check(Lock(3), HolderKind::kShared, 0, 0, UINT32_MAX).blocked);
}

TEST(LeaseTable, TellsALeaseOfTheAskingSession)
{
	Table		t(8);
	LeaseTable &table = *t.table;
	HolderSpec	mine = Lease(Lock(1), HolderKind::kShared, 10 * kSecond);

	mine.acquirer = 77;
	ASSERT_NE(table.Insert(mine, t.Token()), nullptr);
	EXPECT_TRUE(table.Check(Lock(1), HolderKind::kExclusive, 0, 0, UINT32_MAX, 77).own);
	EXPECT_FALSE(table.Check(Lock(1), HolderKind::kExclusive, 0, 0, UINT32_MAX, 78).own) << "another session's";
	EXPECT_FALSE(table.Check(Lock(1), HolderKind::kShared, 0, 0, UINT32_MAX, 77).own) << "no conflict, no matter";
}

TEST(LeaseTable, TimeUpIsGoneUnlessFenced)
{
	Table		t(8);
	LeaseTable &table = *t.table;
	std::int64_t token = t.Token();
	LeaseTable::Holder *holder = table.Insert(Lease(Lock(1), HolderKind::kExclusive, 10 * kSecond), token);

	EXPECT_TRUE(holder->Live(10 * kSecond - 1));
	EXPECT_FALSE(holder->Live(10 * kSecond)) << "gone the moment its time is up";
	EXPECT_FALSE(table.Check(Lock(1), HolderKind::kExclusive, 0, 10 * kSecond, UINT32_MAX).blocked);

	table.AddFence(holder);
	EXPECT_TRUE(holder->Live(20 * kSecond)) << "a running transaction checked it";
	LeaseTable::Obstacle obstacle = table.Check(Lock(1), HolderKind::kExclusive, 0, 20 * kSecond, UINT32_MAX);
	EXPECT_TRUE(obstacle.blocked);
	EXPECT_TRUE(obstacle.fenced) << "only the fence holds it: wait for the checking transaction";
	EXPECT_EQ(table.Reclaim(Lock(1), 20 * kSecond, nullptr, nullptr), 0u);

	EXPECT_TRUE(table.DropFence(holder, 20 * kSecond)) << "its last fence went, and its time was up";
	EXPECT_EQ(table.Find(kDatabase, 1, token), nullptr);
	EXPECT_EQ(table.Count(), 0u);
}

TEST(LeaseTable, ReleaseWaitsForFences)
{
	Table		t(8);
	LeaseTable &table = *t.table;
	std::int64_t token = t.Token();
	LeaseTable::Holder *holder = table.Insert(Lease(Lock(1), HolderKind::kExclusive, 10 * kSecond), token);

	table.AddFence(holder);
	EXPECT_FALSE(table.Release(holder));
	EXPECT_FALSE(holder->Live(0)) << "released: no more renewals or checks";
	EXPECT_TRUE(table.Check(Lock(1), HolderKind::kShared, 0, 0, UINT32_MAX).blocked)
		<< "but nobody takes over before the checking transaction ends";
	EXPECT_TRUE(table.DropFence(holder, 0));
	EXPECT_FALSE(table.Check(Lock(1), HolderKind::kShared, 0, 0, UINT32_MAX).blocked);
}

TEST(LeaseTable, BucketsCountLockSpaceHoldersForTheLockPath)
{
	Table		t(64);
	LeaseTable &table = *t.table;

	EXPECT_FALSE(table.MayHoldLockSpace(kDatabase, 42));
	ASSERT_NE(table.Insert(Permits(Semaphore(42), 1, 2, kNeverExpires), t.Token()), nullptr);
	EXPECT_FALSE(table.MayHoldLockSpace(kDatabase, 42)) << "a semaphore never conflicts with a lock";
	LeaseTable::Holder *holder = table.Insert(Lease(Lock(42), HolderKind::kShared, kSecond), t.Token());
	EXPECT_TRUE(table.MayHoldLockSpace(kDatabase, 42));
	EXPECT_EQ(table.Reclaim(Lock(42), kSecond, nullptr, nullptr), 1u);
	EXPECT_FALSE(table.MayHoldLockSpace(kDatabase, 42));
	(void) holder;
}

TEST(LeaseTable, FullRefusesAndRolesAreCounted)
{
	Table		t(2);
	LeaseTable &table = *t.table;

	ASSERT_NE(table.Insert(Lease(Lock(1), HolderKind::kShared, kSecond, 10), t.Token()), nullptr);
	ASSERT_NE(table.Insert(Lease(Lock(1), HolderKind::kShared, kSecond, 11), t.Token()), nullptr);
	EXPECT_EQ(table.Insert(Lease(Lock(2), HolderKind::kShared, kSecond, 10), t.Token()), nullptr);
	EXPECT_EQ(table.CountForRole(10, 0), 1u);
	EXPECT_EQ(table.CountForRole(12, 0), 0u);
}

/* Expired holders of names nobody asks for again hold no room of their role, and a sweep frees their places. */
TEST(LeaseTable, DeadHoldersHoldNoRoom)
{
	Table		t(3);
	LeaseTable &table = *t.table;
	int			removed = 0;

	for (std::int64_t key = 1; key <= 3; key++)
		ASSERT_NE(table.Insert(Lease(Lock(key), HolderKind::kExclusive, key * kSecond), t.Token()), nullptr);
	EXPECT_EQ(table.CountForRole(10, 0), 3u);
	EXPECT_EQ(table.CountForRole(10, 2 * kSecond), 1u);
	EXPECT_EQ(table.Insert(Lease(Lock(4), HolderKind::kExclusive, 9 * kSecond), t.Token()), nullptr);
	EXPECT_EQ(table.ReclaimAnyDead(
				  5 * kSecond, 1, [](const LeaseTable::Holder &, void *arg) { ++*static_cast<int *>(arg); },
				  &removed),
			  1u);
	EXPECT_EQ(removed, 1);
	EXPECT_EQ(table.Count(), 2u);
	ASSERT_NE(table.Insert(Lease(Lock(4), HolderKind::kExclusive, 9 * kSecond), t.Token()), nullptr);
	EXPECT_EQ(table.ReclaimAnyDead(5 * kSecond, 16, nullptr, nullptr), 2u);
	EXPECT_EQ(table.Count(), 1u);
	EXPECT_FALSE(table.MayHoldLockSpace(kDatabase, 1));
	EXPECT_TRUE(table.MayHoldLockSpace(kDatabase, 4));
}

TEST(LeaseTable, SessionHoldersGoWithTheirSession)
{
	Table		t(8);
	LeaseTable &table = *t.table;
	HolderSpec	bound = Lease(Lock(1), HolderKind::kExclusive, 10 * kSecond);
	int			heard = 0;

	bound.session_pid = 4242;
	ASSERT_NE(table.Insert(bound, t.Token()), nullptr);
	ASSERT_NE(table.Insert(Lease(Lock(2), HolderKind::kExclusive, 10 * kSecond), t.Token()), nullptr);
	EXPECT_EQ(table.RemoveSessionHolders(4242, [](const LeaseTable::Holder &, void *arg) {
		++*static_cast<int *>(arg); }, &heard), 1u);
	EXPECT_EQ(heard, 1);
	EXPECT_EQ(table.Count(), 1u);
}

TEST(LeaseTable, PermitsGoInArrivalOrderWhileTheNextFits)
{
	Table		t(16);
	LeaseTable &table = *t.table;
	Resource	sem = Semaphore(7);
	LeaseTable::Holder *a = table.Insert(Permits(sem, 2, 4, kNeverExpires), t.Token());
	LeaseTable::Holder *b = table.Insert(Permits(sem, 1, 4, kNeverExpires), t.Token());
	std::vector<std::uint32_t> woken;

	/* 3 of 4 in use: a request for 3 waits; the requests for 1 after it may not pass it */
	table.Enqueue(0, PermitWaiter(sem, 3, 4));
	EXPECT_TRUE(table.Check(sem, HolderKind::kPermits, 1, 0, 1).blocked) << "behind an earlier waiter";
	table.Enqueue(1, PermitWaiter(sem, 1, 4));
	table.Enqueue(2, PermitWaiter(sem, 1, 4));
	EXPECT_EQ(table.GrantWaiters(sem, 0, table.Tokens(), 1, IgnoreWake, nullptr), 0u);

	ASSERT_TRUE(table.Release(a));
	auto		record = [](const LeaseTable::Waiter &w, void *arg) {
		static_cast<std::vector<std::uint32_t> *>(arg)->push_back(static_cast<std::uint32_t>(w.permits));
	};
	EXPECT_EQ(table.GrantWaiters(sem, 0, table.Tokens(), 1, record, &woken), 1u) << "3 fits, then 1 does not";
	EXPECT_EQ(table.SlotAt(0).state, LeaseTable::Waiter::State::kGranted);
	EXPECT_NE(table.Find(kDatabase, 7, table.SlotAt(0).granted_token), nullptr);
	EXPECT_EQ(table.SlotAt(1).state, LeaseTable::Waiter::State::kWaiting);

	ASSERT_TRUE(table.Release(b));
	EXPECT_EQ(table.GrantWaiters(sem, 0, table.Tokens(), 1, record, &woken), 1u);
	EXPECT_EQ(table.SlotAt(1).state, LeaseTable::Waiter::State::kGranted);
	EXPECT_GT(table.SlotAt(1).granted_token, table.SlotAt(0).granted_token);

	/* the one left gives up: it leaves, and nothing else waits */
	table.Dequeue(2);
	EXPECT_EQ(table.GrantWaiters(sem, 0, table.Tokens(), 1, record, &woken), 0u);
	EXPECT_EQ(woken, (std::vector<std::uint32_t>{3, 1}));
}

TEST(LeaseTable, AWaiterThatLeavesLetsTheNextGo)
{
	Table		t(16);
	LeaseTable &table = *t.table;
	Resource	sem = Semaphore(8);

	ASSERT_NE(table.Insert(Permits(sem, 3, 4, kNeverExpires), t.Token()), nullptr);
	table.Enqueue(0, PermitWaiter(sem, 2, 4));
	table.Enqueue(1, PermitWaiter(sem, 1, 4));
	EXPECT_EQ(table.GrantWaiters(sem, 0, table.Tokens(), 1, IgnoreWake, nullptr), 0u);
	table.Dequeue(0);			/* its wait timed out */
	EXPECT_EQ(table.GrantWaiters(sem, 0, table.Tokens(), 1, IgnoreWake, nullptr), 1u);
	EXPECT_EQ(table.SlotAt(1).state, LeaseTable::Waiter::State::kGranted);
}

TEST(LeaseTable, ExpiredPermitsAreReclaimedForWaiters)
{
	Table		t(16);
	LeaseTable &table = *t.table;
	Resource	sem = Semaphore(9);

	ASSERT_NE(table.Insert(Permits(sem, 2, 2, 5 * kSecond), t.Token()), nullptr);
	table.Enqueue(0, PermitWaiter(sem, 1, 2));
	LeaseTable::Obstacle obstacle = table.Check(sem, HolderKind::kPermits, 1, kSecond, 0);
	EXPECT_TRUE(obstacle.blocked);
	EXPECT_EQ(obstacle.next_expiry, 5 * kSecond) << "when to look again";
	EXPECT_EQ(table.Reclaim(sem, 5 * kSecond, nullptr, nullptr), 1u);
	EXPECT_EQ(table.GrantWaiters(sem, 5 * kSecond, table.Tokens(), 1, IgnoreWake, nullptr), 1u);
	const LeaseTable::Holder *granted = table.Find(kDatabase, 9, table.SlotAt(0).granted_token);
	ASSERT_NE(granted, nullptr);
	EXPECT_EQ(granted->Expires(), 6 * kSecond) << "now plus the waiter's ttl";
}

/* Random grants, releases, fences and expiry against a model of who holds what. */
TEST(LeaseTable, NeverGrantsConflictingLeases)
{
	Table		t(32);
	LeaseTable &table = *t.table;
	std::mt19937 random(7);
	std::vector<std::int64_t> tokens;
	std::int64_t now = 0;

	for (int step = 0; step < 50000; step++)
	{
		std::int64_t key = random() % 3;
		HolderKind	kind = random() % 2 ? HolderKind::kShared : HolderKind::kExclusive;

		now += random() % (kSecond / 10);
		table.Reclaim(Lock(key), now, nullptr, nullptr);
		if (!table.Check(Lock(key), kind, 0, now, UINT32_MAX).blocked)
		{
			LeaseTable::Holder *holder = table.Insert(Lease(Lock(key), kind, now + random() % kSecond), t.Token());

			if (holder != nullptr)
				tokens.push_back(holder->Token());
		}
		if (!tokens.empty() && random() % 4 == 0)
		{
			std::size_t i = random() % tokens.size();
			LeaseTable::Holder *holder = table.Find(kDatabase, (std::int64_t) 0, tokens[i]);

			for (std::int64_t k = 1; holder == nullptr && k < 3; k++)
				holder = table.Find(kDatabase, k, tokens[i]);
			if (holder != nullptr && random() % 2)
				table.AddFence(holder);
			else if (holder != nullptr && holder->Fences() > 0)
				table.DropFence(holder, now);
			else if (holder != nullptr)
				table.Release(holder);
		}
		/* the invariant: per key, one exclusive or any number of shared that are not dead */
		for (std::int64_t k = 0; k < 3; k++)
		{
			int			exclusive = 0;
			int			shared = 0;

			for (std::uint32_t place = 0; place < table.PlaceCount(); place++)
			{
				const LeaseTable::Holder *holder = table.At(place);

				if (holder == nullptr || !(holder->GetResource() == Lock(k)) || holder->Dead(now))
					continue;
				(holder->Kind() == HolderKind::kExclusive ? exclusive : shared)++;
			}
			ASSERT_TRUE(exclusive == 0 || (exclusive == 1 && shared == 0))
				<< "step " << step << ", key " << k << ": " << exclusive << " exclusive, " << shared << " shared";
		}
	}
}

} // namespace
} // namespace advlock_named

namespace advlock_named {
namespace {

/* A ledger in memory: the records the table reported, by place. */
struct MemoryLedger final : LedgerSink
{
	MemoryLedger() { LeaseTable::SetLedgerSink(this); }
	~MemoryLedger() { LeaseTable::SetLedgerSink(nullptr); }

	void		Put(std::uint32_t place, const LedgerRecord *record) noexcept override
	{
		puts++;
		if (record == nullptr)
			records.erase(place);
		else
			records[place] = *record;
	}

	std::map<std::uint32_t, LedgerRecord> records;
	int			puts = 0;
};

HolderSpec
Bound(const Resource &resource, std::int64_t expires)
{
	HolderSpec	spec = Lease(resource, HolderKind::kExclusive, expires);

	spec.session_pid = 77;
	return spec;
}

TEST(LeaseLedger, KeepsOnlyWhatARoleOwnsWithATimeToLive)
{
	Table		t(8);
	MemoryLedger ledger;

	ASSERT_NE(t.table->Insert(Lease(Lock(1), HolderKind::kExclusive, kSecond), t.Token()), nullptr);
	ASSERT_NE(t.table->Insert(Permits(Semaphore(2), 1, 3, kSecond), t.Token()), nullptr);
	EXPECT_EQ(ledger.records.size(), 2u);
	ASSERT_NE(t.table->Insert(Bound(Lock(3), kSecond), t.Token()), nullptr);
	ASSERT_NE(t.table->Insert(Permits(Semaphore(4), 1, 3, kNeverExpires), t.Token()), nullptr);
	EXPECT_EQ(ledger.records.size(), 2u) << "a session's holders end with it, and a crash ends every session";
	EXPECT_EQ(ledger.puts, 2);
}

TEST(LeaseLedger, FollowsRenewalReleaseAndExpiry)
{
	Table		t(8);
	MemoryLedger ledger;
	std::int64_t token = t.Token();
	LeaseTable::Holder *holder = t.table->Insert(Lease(Lock(1), HolderKind::kExclusive, kSecond), token);
	HolderSpec	spec;
	std::int64_t read_token;
	std::int64_t renewals;

	t.table->Renew(holder, 5 * kSecond);
	ASSERT_EQ(ledger.records.size(), 1u);
	ASSERT_TRUE(ReadRecord(ledger.records.begin()->second, &spec, &read_token, &renewals));
	EXPECT_EQ(spec.expires, 5 * kSecond);
	EXPECT_EQ(renewals, 1);

	t.table->AddFence(holder);
	EXPECT_FALSE(t.table->Release(holder));
	EXPECT_TRUE(ledger.records.empty()) << "released, though a fence keeps it a while: it must not come back";
	int			puts = ledger.puts;
	EXPECT_TRUE(t.table->DropFence(holder, 0));
	EXPECT_EQ(ledger.puts, puts) << "nothing more to say of a released holder";

	ASSERT_NE(t.table->Insert(Lease(Lock(2), HolderKind::kShared, kSecond), t.Token()), nullptr);
	EXPECT_EQ(t.table->Reclaim(Lock(2), kSecond, nullptr, nullptr), 1u);
	EXPECT_TRUE(ledger.records.empty()) << "an expired holder reclaimed goes from the ledger too";
}

TEST(LeaseLedger, ARecordReadsBackAsItsHolder)
{
	Table		t(8);
	MemoryLedger ledger;
	HolderSpec	written = Permits(Semaphore(9), 2, 5, 7 * kSecond);
	std::string long_name(kLeaseNameBytes + 20, 'x');
	std::int64_t token = t.Token();
	HolderSpec	read;
	std::int64_t read_token;
	std::int64_t renewals;

	written.acquired = 3 * kSecond;
	written.fingerprint = 0x1234;
	written.name = long_name;
	LeaseTable::Holder *holder = t.table->Insert(written, token);
	t.table->Renew(holder, 8 * kSecond);
	LedgerRecord record = ledger.records.begin()->second;

	ASSERT_TRUE(ReadRecord(record, &read, &read_token, &renewals));
	EXPECT_EQ(read.resource, written.resource);
	EXPECT_EQ(read.kind, HolderKind::kPermits);
	EXPECT_EQ(read.role, written.role);
	EXPECT_EQ(read.permits, 2);
	EXPECT_EQ(read.capacity, 5);
	EXPECT_EQ(read.acquired, 3 * kSecond);
	EXPECT_EQ(read.expires, 8 * kSecond);
	EXPECT_EQ(read.session_pid, 0);
	EXPECT_EQ(read.fingerprint, 0x1234u);
	EXPECT_EQ(read.name, std::string(kLeaseNameBytes, 'x'));
	EXPECT_TRUE(read.truncated) << "the name was cut to what a holder keeps";
	EXPECT_EQ(read_token, token);
	EXPECT_EQ(renewals, 1);
}

TEST(LeaseLedger, ATornOrForeignRecordIsLeftOut)
{
	Table		t(8);
	MemoryLedger ledger;
	HolderSpec	spec;
	std::int64_t token;
	std::int64_t renewals;
	LedgerRecord empty;

	ASSERT_NE(t.table->Insert(Lease(Lock(1), HolderKind::kExclusive, kSecond), t.Token()), nullptr);
	LedgerRecord record = ledger.records.begin()->second;

	for (std::size_t byte : {std::size_t{0}, offsetof(LedgerRecord, expires), offsetof(LedgerRecord, name) + 3,
							 offsetof(LedgerRecord, checksum)})
	{
		LedgerRecord torn = record;

		reinterpret_cast<unsigned char *>(&torn)[byte] ^= 0x40;
		EXPECT_FALSE(ReadRecord(torn, &spec, &token, &renewals)) << "byte " << byte << " changed";
	}
	std::memset(&empty, 0, sizeof(empty));
	EXPECT_FALSE(ReadRecord(empty, &spec, &token, &renewals)) << "an empty place";

	LedgerHeader header = HeaderFor(8, 12345);
	EXPECT_TRUE(HeaderIsSound(header));
	header.record_bytes++;
	EXPECT_FALSE(HeaderIsSound(header)) << "another format";
}

TEST(LeaseLedger, ATableBuiltAgainHoldsWhatTheLedgerKept)
{
	Table		before(16);
	MemoryLedger ledger;
	std::vector<std::int64_t> tokens;

	for (std::int64_t key = 1; key <= 6; key++)
	{
		tokens.push_back(before.Token());
		ASSERT_NE(before.table->Insert(Lease(Lock(key), HolderKind::kExclusive, 10 * kSecond), tokens.back()),
				  nullptr);
	}
	ASSERT_TRUE(before.table->Release(before.table->Find(kDatabase, 2, tokens[1])));
	before.table->Renew(before.table->Find(kDatabase, 3, tokens[2]), 20 * kSecond);
	ASSERT_NE(before.table->Insert(Bound(Lock(7), 10 * kSecond), before.Token()), nullptr);

	LeaseTable::SetLedgerSink(nullptr);
	Table		after(16);
	int			puts = ledger.puts;

	LeaseTable::SetLedgerSink(&ledger);
	for (const auto &[place, record] : ledger.records)
	{
		HolderSpec	spec;
		std::int64_t token;
		std::int64_t renewals;

		ASSERT_TRUE(ReadRecord(record, &spec, &token, &renewals));
		ASSERT_NE(after.table->Readmit(spec, token, renewals), nullptr);
	}
	EXPECT_EQ(ledger.puts, puts) << "readmitting reports nothing: the glue writes the new ledger whole";
	EXPECT_EQ(after.table->Count(), 5u);
	EXPECT_EQ(after.table->Find(kDatabase, 2, tokens[1]), nullptr) << "released before the crash";
	EXPECT_EQ(after.table->Find(kDatabase, 3, tokens[2])->Renewals(), 1);
	EXPECT_EQ(after.table->Find(kDatabase, 3, tokens[2])->Expires(), 20 * kSecond);
	EXPECT_TRUE(after.table->MayHoldLockSpace(kDatabase, 1)) << "the lock path sees a readmitted lease";
	EXPECT_TRUE(after.table->Check(Lock(1), HolderKind::kShared, 0, 0, UINT32_MAX).blocked);
	EXPECT_FALSE(after.table->Check(Lock(7), HolderKind::kExclusive, 0, 0, UINT32_MAX).blocked)
		<< "the session-bound lease ended with its session";
}

} // namespace
} // namespace advlock_named
