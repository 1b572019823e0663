/*
 * Unit tests of the shared name directory's table (src/directory_table.*), on
 * ordinary memory: lookups by role and by key, collisions, counting,
 * resets, eviction order, decay and each role's share, and deletion
 * checked against a reference model.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "directory_table.hpp"

namespace advlock_named {
namespace {

/* A table in heap memory, aligned for its entries. */
struct TestTable
{
	explicit TestTable(std::uint32_t capacity)
		: memory(static_cast<char *>(std::aligned_alloc(64, Round(DirectoryTable::BytesFor(capacity))))),
		  table(DirectoryTable::Create(memory, capacity))
	{
	}
	~TestTable() { std::free(memory); }

	static std::size_t Round(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

	char	   *memory;
	DirectoryTable  *table;
};

NameCounts
Acquired(std::uint64_t n)
{
	NameCounts	counts;

	counts.acquisitions = n;
	return counts;
}

bool
NothingInUse(std::uint32_t, std::int64_t, void *)
{
	return false;
}

TEST(DirectoryTable, PublishAndFind)
{
	TestTable	t(10);
	DirectoryTable  &table = *t.table;

	EXPECT_EQ(table.Find(NameId{1, 10, 42}), nullptr);
	DirectoryTable::Entry *a = table.Publish(NameId{1, 10, 42}, 7, "import", false);
	ASSERT_NE(a, nullptr);
	EXPECT_EQ(a->Name(), "import");
	EXPECT_FALSE(a->Truncated());
	EXPECT_EQ(table.Find(NameId{1, 10, 42}), a);

	/* published again: the same entry, not a second one */
	EXPECT_EQ(table.Publish(NameId{1, 10, 42}, 7, "import", false), a);
	EXPECT_EQ(table.GetInfo().entries, 1u);

	/* another role, another database: other entries */
	EXPECT_EQ(table.Find(NameId{1, 11, 42}), nullptr);
	EXPECT_EQ(table.Find(NameId{2, 10, 42}), nullptr);
	DirectoryTable::Entry *b = table.Publish(NameId{1, 11, 42}, 7, "import", false);
	ASSERT_NE(b, nullptr);
	EXPECT_NE(a, b);

	/* by key alone, every role's entry, a few at a time */
	const DirectoryTable::Entry *found[2] = {};
	ASSERT_EQ(table.FindAllRoles(1, 42, 0, found, 2), 2u);
	EXPECT_EQ(std::set<const DirectoryTable::Entry *>(found, found + 2),
			  (std::set<const DirectoryTable::Entry *>{a, b}));
	ASSERT_EQ(table.FindAllRoles(1, 42, 1, found, 2), 1u);
	EXPECT_EQ(found[0]->Name(), "import");
	EXPECT_EQ(table.FindAllRoles(1, 42, 0, found, 1), 1u);
	EXPECT_EQ(table.FindAllRoles(1, 42, 2, found, 2), 0u);
	EXPECT_EQ(table.FindAllRoles(2, 42, 0, found, 2), 0u);
	EXPECT_EQ(table.GetInfo().entries, 2u);
}

TEST(DirectoryTable, CollisionIsAnotherFingerprint)
{
	TestTable	t(10);
	DirectoryTable  &table = *t.table;
	const DirectoryTable::Entry *other = nullptr;

	DirectoryTable::Entry *first = table.Publish(NameId{1, 10, 42}, 7, "first", false, &other);
	ASSERT_NE(first, nullptr);
	EXPECT_EQ(other, nullptr);

	/* the same name again, from another role: no collision */
	ASSERT_NE(table.Publish(NameId{1, 11, 42}, 7, "first", false, &other), nullptr);
	EXPECT_EQ(other, nullptr);

	/* another name of the key: published, and the first one reported */
	DirectoryTable::Entry *second = table.Publish(NameId{1, 12, 42}, 8, "second", false, &other);
	ASSERT_NE(second, nullptr);
	ASSERT_NE(other, nullptr);
	EXPECT_EQ(other->Fingerprint(), 7u);
	EXPECT_EQ(other->Name(), "first");

	/* the same role's own entry with another fingerprint is a collision too */
	EXPECT_EQ(table.Publish(NameId{1, 10, 42}, 8, "second", false, &other), first);
	ASSERT_NE(other, nullptr);
	EXPECT_EQ(other->Fingerprint(), 7u);

	/* other databases do not collide */
	ASSERT_NE(table.Publish(NameId{2, 10, 42}, 8, "second", false, &other), nullptr);
	EXPECT_EQ(other, nullptr);
	table.NoteCollision();
	EXPECT_EQ(table.GetInfo().collisions, 1u);
}

TEST(DirectoryTable, LongNamesAreCut)
{
	TestTable	t(4);
	std::string long_name(300, 'x');
	DirectoryTable::Entry *e = t.table->Publish(NameId{1, 1, 1}, 1, long_name, false);

	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->Name().size(), kStoredNameBytes);
	EXPECT_TRUE(e->Truncated());
}

TEST(DirectoryTable, CountsAddAndReset)
{
	TestTable	t(4);
	DirectoryTable::Entry *e = t.table->Publish(NameId{1, 1, 1}, 1, "n", false);
	NameCounts	wait;

	wait.acquisitions = 1;
	wait.waited = 1;
	wait.total_wait_us = 500;
	wait.max_wait_us = 500;
	wait.last_acquired = 1000;
	t.table->Add(*e, Acquired(3));
	t.table->Add(*e, wait);
	wait.max_wait_us = 200;
	wait.total_wait_us = 200;
	wait.last_acquired = 900;
	t.table->Add(*e, wait);

	NameCounts	c = e->Counts();
	EXPECT_EQ(c.acquisitions, 5u);
	EXPECT_EQ(c.waited, 2u);
	EXPECT_EQ(c.total_wait_us, 700);
	EXPECT_EQ(c.max_wait_us, 500);
	EXPECT_EQ(c.last_acquired, 1000);

	t.table->ResetCounts(12345);
	EXPECT_TRUE(e->Counts().Empty());
	EXPECT_EQ(e->Counts().waited, 0u);
	EXPECT_EQ(e->Counts().max_wait_us, 0);
	EXPECT_EQ(e->Counts().last_acquired, 0);
	EXPECT_EQ(e->Name(), "n");	/* the name stays */
	EXPECT_EQ(t.table->GetInfo().resets, 1u);
	EXPECT_EQ(t.table->GetInfo().last_reset, 12345);
}

TEST(DirectoryTable, FullTableRefusesUntilEviction)
{
	TestTable	t(20);
	DirectoryTable  &table = *t.table;

	for (int i = 0; i < 20; i++)
		ASSERT_NE(table.Publish(NameId{1, 1, i}, 0, "n", false), nullptr);
	EXPECT_EQ(table.Publish(NameId{1, 1, 99}, 0, "n", false), nullptr);

	/* 5% of 20 is one entry */
	EXPECT_EQ(table.Evict(1, NothingInUse, nullptr), 1u);
	EXPECT_EQ(table.GetInfo().entries, 19u);
	EXPECT_EQ(table.GetInfo().evictions, 1u);
	EXPECT_NE(table.Publish(NameId{1, 1, 99}, 0, "n", false), nullptr);
}

TEST(DirectoryTable, EvictionsCountEveryEntryEvicted)
{
	TestTable	t(100);
	DirectoryTable  &table = *t.table;
	std::uint64_t evicted = 0;

	for (int i = 0; i < 100; i++)
		ASSERT_NE(table.Publish(NameId{1, 1, i}, 0, "n", false), nullptr);
	for (int round = 0; round < 3; round++)
		evicted += table.Evict(1, NothingInUse, nullptr);
	EXPECT_EQ(evicted, 15u);	/* 5% of 100, three times */
	EXPECT_EQ(table.GetInfo().evictions, evicted);
	EXPECT_EQ(table.GetInfo().entries, 85u);
}

/* keys 0..9 are in use in the test below */
bool
LowKeysInUse(std::uint32_t, std::int64_t key, void *)
{
	return key < 10;
}

bool
EverythingInUse(std::uint32_t, std::int64_t, void *)
{
	return true;
}

TEST(DirectoryTable, EvictsIdleLeastUsedFirst)
{
	TestTable	t(100);
	DirectoryTable  &table = *t.table;

	/* the in-use ones are the least used, yet they stay */
	for (int i = 0; i < 100; i++)
		table.Add(*table.Publish(NameId{1, 1, i}, 0, "n", false), Acquired(i < 10 ? i : 10 * i));

	EXPECT_EQ(table.Evict(1, LowKeysInUse, nullptr), 5u);
	for (int i = 0; i < 10; i++)
		EXPECT_NE(table.Find(NameId{1, 1, i}), nullptr) << i;
	/* 10..14 were the least used idle entries */
	for (int i = 10; i < 15; i++)
		EXPECT_EQ(table.Find(NameId{1, 1, i}), nullptr) << i;
	for (int i = 15; i < 100; i++)
		EXPECT_NE(table.Find(NameId{1, 1, i}), nullptr) << i;

	/* when everything is in use, the least used go all the same */
	EXPECT_EQ(table.Evict(1, EverythingInUse, nullptr), 5u);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(table.Find(NameId{1, 1, i}), nullptr) << i;
}

TEST(DirectoryTable, UseNotYetCountedRanksWithUseCounted)
{
	TestTable	t(20);
	DirectoryTable  &table = *t.table;

	/* the oldest entry's one use is counted, the others' not yet: alike, so the oldest goes */
	table.Add(*table.Publish(NameId{1, 1, 1}, 0, "counted", false), Acquired(1));
	for (int i = 2; i <= 20; i++)
		(void) table.Publish(NameId{1, 1, i}, 0, "not yet", false);
	EXPECT_EQ(table.Evict(1, NothingInUse, nullptr), 1u);
	EXPECT_EQ(table.Find(NameId{1, 1, 1}), nullptr);
}

TEST(DirectoryTable, CountsAfterTheFirstAddUp)
{
	TestTable	t(20);
	DirectoryTable  &table = *t.table;
	DirectoryTable::Entry *twice = table.Publish(NameId{1, 1, 1}, 0, "twice", false);

	/* the oldest, but used twice where the others were used once */
	table.Add(*twice, Acquired(1));
	table.Add(*twice, Acquired(1));
	for (int i = 2; i <= 20; i++)
		table.Add(*table.Publish(NameId{1, 1, i}, 0, "once", false), Acquired(1));
	EXPECT_EQ(table.Evict(1, NothingInUse, nullptr), 1u);
	EXPECT_NE(table.Find(NameId{1, 1, 1}), nullptr);
	EXPECT_EQ(table.Find(NameId{1, 1, 2}), nullptr);
}

/* only key 3 is idle */
bool
AllButKey3InUse(std::uint32_t, std::int64_t key, void *)
{
	return key != 3;
}

TEST(DirectoryTable, NeverEvictsInUseWhileAnIdleEntryIsLeft)
{
	TestTable	t(100);
	DirectoryTable  &table = *t.table;

	for (int i = 0; i < 100; i++)
		table.Add(*table.Publish(NameId{1, 1, i}, 0, "n", false), Acquired(1000));
	EXPECT_EQ(table.Evict(1, AllButKey3InUse, nullptr), 1u);
	EXPECT_EQ(table.Find(NameId{1, 1, 3}), nullptr);
	EXPECT_EQ(table.GetInfo().entries, 99u);
}

/* Keys that land in no particular order of slots. */
std::int64_t
SpreadKey(int i)
{
	return static_cast<std::int64_t>(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL);
}

TEST(DirectoryTable, EqualUsageGoesOldestFirst)
{
	TestTable	t(100);
	DirectoryTable  &table = *t.table;

	/* inserted 99 down to 0, all used alike */
	for (int i = 99; i >= 0; i--)
		table.Publish(NameId{1, 1, SpreadKey(i)}, 0, "n", false);
	EXPECT_EQ(table.Evict(1, NothingInUse, nullptr), 5u);
	for (int i = 0; i < 100; i++)
		EXPECT_EQ(table.Find(NameId{1, 1, SpreadKey(i)}) == nullptr, i >= 95) << i;
}

/* Counts the questions, and says keys below 3 are in use. */
bool
CountingInUse(std::uint32_t, std::int64_t key, void *arg)
{
	++*static_cast<int *>(arg);
	return key < 3;
}

TEST(DirectoryTable, AsksOnlyAsFarAsItEvicts)
{
	TestTable	t(100);
	DirectoryTable  &table = *t.table;
	int			asked = 0;

	/* the least used are keys 0, 1, 2, ...; 0..2 are in use */
	for (int i = 0; i < 100; i++)
		table.Add(*table.Publish(NameId{1, 1, i}, 0, "n", false), Acquired(i));
	EXPECT_EQ(table.Evict(1, CountingInUse, &asked), 5u);
	EXPECT_EQ(asked, 8);
	for (int i = 0; i < 100; i++)
		EXPECT_EQ(table.Find(NameId{1, 1, i}) == nullptr, i >= 3 && i < 8) << i;
}

/* Says the keys in the std::set<std::int64_t> that arg points to are in use. */
bool
KeysInSetInUse(std::uint32_t, std::int64_t key, void *arg)
{
	return static_cast<const std::set<std::int64_t> *>(arg)->count(key) > 0;
}

/*
 * Eviction against a reference: every entry in the order (usage, age),
 * which the decay of every usage by 1% keeps, the idle ones taken until
 * there are 5 % of the capacity; the least used all the same when none is
 * idle.  Usages tie often, and anything from none to all of the entries is
 * in use.
 */
TEST(DirectoryTable, EvictsWhatAFullSortWould)
{
	constexpr int kCapacity = 200;
	constexpr std::uint64_t kInUsePercents[] = {0, 50, 95, 100};
	std::mt19937_64 random(17);

	for (int round = 0; round < 200; round++)
	{
		TestTable	t(kCapacity);
		DirectoryTable  &table = *t.table;
		std::vector<int> order(kCapacity);
		std::vector<std::tuple<std::uint64_t, int, std::int64_t>> reference;	/* usage, age, key */
		std::set<std::int64_t> in_use;
		std::set<std::int64_t> expected;
		std::uint64_t in_use_percent = kInUsePercents[round % 4];

		for (int i = 0; i < kCapacity; i++)
			order[i] = i;
		std::shuffle(order.begin(), order.end(), random);
		for (int age = 0; age < kCapacity; age++)
		{
			std::int64_t key = SpreadKey(order[age]);
			std::uint64_t usage = random() % 2 ? 1 + random() % 3 : 100 + random() % 20;

			table.Add(*table.Publish(NameId{1, 1, key}, 0, "n", false), Acquired(usage));
			reference.emplace_back(usage, age, key);
			if (random() % 100 < in_use_percent)
				in_use.insert(key);
		}
		std::sort(reference.begin(), reference.end());
		for (const auto &[usage, age, key] : reference)
			if (expected.size() < kCapacity / 20 && in_use.count(key) == 0)
				expected.insert(key);
		if (expected.empty())
			for (int i = 0; i < kCapacity / 20; i++)
				expected.insert(std::get<2>(reference[i]));

		ASSERT_EQ(table.Evict(1, KeysInSetInUse, &in_use), expected.size()) << "round " << round;
		for (const auto &[usage, age, key] : reference)
			ASSERT_EQ(table.Find(NameId{1, 1, key}) == nullptr, expected.count(key) > 0)
				<< "round " << round << ", age " << age;
	}
}

/*
 * Usage decays by 1% at every round, however small: a name used twice
 * long ago goes once a name used once recently outranks it.  The churn
 * below evicts one entry a round and adds one, so the least used of the
 * young names is about 19 rounds old (0.99^19 = 0.83 of a use) and the
 * old name's two uses fall below that after about 88 rounds.
 */
TEST(DirectoryTable, SmallUsagesDecayToo)
{
	TestTable	t(20);
	DirectoryTable  &table = *t.table;
	NameId		old_name{1, 1, -1};

	table.Add(*table.Publish(old_name, 0, "used twice", false), Acquired(2));
	for (int i = 0; i < 19; i++)
		table.Add(*table.Publish(NameId{1, 1, i}, 0, "once", false), Acquired(1));
	for (int round = 0; round < 100; round++)
	{
		ASSERT_EQ(table.Evict(1, NothingInUse, nullptr), 1u);
		table.Add(*table.Publish(NameId{1, 1, 100 + round}, 0, "once", false), Acquired(1));
		if (round == 80)
		{
			EXPECT_NE(table.Find(old_name), nullptr) << "it decayed faster than 1% a round";
		}
	}
	EXPECT_EQ(table.Find(old_name), nullptr) << "it decayed slower than 1% a round";
}

/* Fills a table of role 2's names used once, older than role 1's, then role 1 churns. */
void
ChurnAsRole1(DirectoryTable &table, int role2_names, int churned)
{
	std::uint32_t capacity = table.GetInfo().capacity;

	for (int i = 0; i < role2_names; i++)
		table.Add(*table.Publish(NameId{1, 2, -1 - i}, 0, "role 2", false), Acquired(1));
	for (int i = 0; i < churned; i++)
	{
		NameId		id{1, 1, i};

		if (table.GetInfo().entries == capacity)
		{
			ASSERT_GT(table.Evict(1, NothingInUse, nullptr), 0u);
		}
		table.Add(*table.Publish(id, 0, "role 1", false), Acquired(1));
	}
}

int
EntriesOfRole(const DirectoryTable &table, std::uint32_t role)
{
	int			n = 0;

	for (std::uint32_t place = 0; place < table.PlaceCount(); place++)
		if (const DirectoryTable::Entry *entry = table.At(place))
			n += entry->Id().role == role;
	return n;
}

/*
 * Role 1 churns names through a full table where role 2 has older, as
 * little used names.  With its fair share (half of the table, with two
 * roles), role 1 evicts only its own; below it, it takes room from role 2,
 * oldest first, down to that share.
 */
TEST(DirectoryTable, ARoleWithItsShareEvictsItsOwn)
{
	struct Case
	{
		int			role2_names;
		int			role2_left;
	};

	for (const Case &c : {Case{30, 30}, Case{70, 50}})
	{
		TestTable	t(100);

		ChurnAsRole1(*t.table, c.role2_names, 5000);
		EXPECT_EQ(EntriesOfRole(*t.table, 2), c.role2_left);
		for (int i = 0; i < c.role2_names; i++)
			EXPECT_EQ(t.table->Find(NameId{1, 2, -1 - i}) == nullptr, i < c.role2_names - c.role2_left)
				<< c.role2_names << ", " << i;
	}
}

/* Says role 1's keys (0 and up) are in use. */
bool
NonNegativeKeysInUse(std::uint32_t, std::int64_t key, void *)
{
	return key >= 0;
}

/* A role with its share whose every name is in use evicts the others' idle ones, not its own. */
TEST(DirectoryTable, ARoleWhoseNamesAreAllInUseEvictsOthers)
{
	TestTable	t(100);
	DirectoryTable  &table = *t.table;

	ChurnAsRole1(table, 40, 60);
	ASSERT_EQ(table.GetInfo().entries, 100u);
	EXPECT_EQ(table.Evict(1, NonNegativeKeysInUse, nullptr), 5u);
	EXPECT_EQ(EntriesOfRole(table, 1), 60);
	EXPECT_EQ(EntriesOfRole(table, 2), 35);
}

/*
 * Names used once each churn through a full table many times over: every
 * entry left is found through the index, and the free list has exactly
 * the room the count says.
 */
TEST(DirectoryTable, ChurnKeepsIndexAndFreeListWhole)
{
	TestTable	t(5000);
	DirectoryTable  &table = *t.table;
	std::mt19937_64 random(5);
	std::uint32_t present = 0;

	for (int i = 0; i < 100000; i++)
	{
		NameId		id{1, 1, static_cast<std::int64_t>(random())};

		if (table.Publish(id, 0, "n", false) == nullptr)
		{
			table.Evict(1, NothingInUse, nullptr);
			ASSERT_NE(table.Publish(id, 0, "n", false), nullptr);
		}
	}
	for (std::uint32_t place = 0; place < table.PlaceCount(); place++)
	{
		const DirectoryTable::Entry *entry = table.At(place);

		if (entry == nullptr)
			continue;
		present++;
		ASSERT_EQ(table.Find(entry->Id()), entry);
	}
	ASSERT_EQ(present, table.GetInfo().entries);
	for (std::uint32_t i = present; i < 5000; i++)
		ASSERT_NE(table.Publish(NameId{2, 1, static_cast<std::int64_t>(i)}, 0, "n", false), nullptr);
	EXPECT_EQ(table.Publish(NameId{2, 1, -1}, 0, "n", false), nullptr);
}

/* Random inserts, evictions and lookups against a reference set. */
TEST(DirectoryTable, MatchesAReferenceModel)
{
	TestTable	t(64);
	DirectoryTable  &table = *t.table;
	std::mt19937_64 random(11);
	std::set<std::tuple<std::uint32_t, std::uint32_t, std::int64_t>> model;

	for (int step = 0; step < 20000; step++)
	{
		/* few databases, roles and keys, so that runs of one key form */
		NameId		id{static_cast<std::uint32_t>(random() % 2), static_cast<std::uint32_t>(random() % 3),
					   static_cast<std::int64_t>(random() % 40)};
		auto		model_id = std::make_tuple(id.database, id.role, id.key);
		bool		present = model.count(model_id) > 0;

		ASSERT_EQ(table.Find(id) != nullptr, present) << "step " << step;
		if (!present)
		{
			DirectoryTable::Entry *e = table.Publish(id, 0, "n", false);

			if (e == nullptr)
			{
				ASSERT_EQ(model.size(), 64u);
				table.Evict(1, NothingInUse, nullptr);
				model.clear();
				for (std::uint32_t s = 0; s < table.PlaceCount(); s++)
					if (const DirectoryTable::Entry *left = table.At(s))
						model.insert(std::make_tuple(left->Id().database, left->Id().role, left->Id().key));
				ASSERT_EQ(model.size(), 61u);	/* 5% of 64 is 3 */
			}
			else
			{
				ASSERT_EQ(e->Id().key, id.key);
				model.insert(model_id);
				table.Add(*e, Acquired(random() % 5));
			}
		}
		ASSERT_EQ(table.GetInfo().entries, model.size());
	}
	/* every entry is still reachable by its key */
	for (const auto &[database, role, key] : model)
	{
		const DirectoryTable::Entry *found[3];
		std::uint32_t count = table.FindAllRoles(database, key, 0, found, 3);

		ASSERT_NE(table.Find(NameId{database, role, key}), nullptr);
		ASSERT_EQ(std::count_if(found, found + count,
								[&](const DirectoryTable::Entry *e) { return e->Id().role == role; }), 1);
	}
}

} // namespace
} // namespace advlock_named
