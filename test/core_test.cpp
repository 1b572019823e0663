/*
 * Unit tests of the pure C++ core: the key contract, the key cache, the
 * name table and timeout rounding.  They need no server; `make unit-test`
 * runs them.
 */
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "byte_words.hpp"
#include "key_cache.hpp"
#include "local_index.hpp"
#include "name_key.hpp"
#include "name_table.hpp"
#include "sha256.hpp"
#include "wait_timeout.hpp"

namespace advlock_named {
namespace {

std::string
Hex(const Sha256Digest &digest)
{
	static const char kDigits[] = "0123456789abcdef";
	std::string out;

	for (std::uint8_t byte : digest)
	{
		out += kDigits[byte >> 4];
		out += kDigits[byte & 0xf];
	}
	return out;
}

/* The digest on the engine the extension hashes names with. */
Sha256Digest
Sha256(std::string_view bytes)
{
	return Sha256With(BestSha256Engine(), bytes);
}

/* FIPS 180-4 examples, plus lengths around the one- and two-block padding edge. */
TEST(Sha256, KnownAnswers)
{
	/* on the best engine, so these pin the one names are hashed with */
	EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
			  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	EXPECT_EQ(Hex(Sha256(std::string(1000000, 'a'))),
			  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* 55 and 56 bytes straddle the one/two padding block edge; 64 fills a block */
	EXPECT_EQ(Hex(Sha256(std::string(55, 'x'))),
			  "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
	EXPECT_EQ(Hex(Sha256(std::string(56, 'x'))),
			  "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
	EXPECT_EQ(Hex(Sha256(std::string(64, 'x'))),
			  "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
	EXPECT_EQ(Hex(Sha256(std::string(119, 'x'))),
			  "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
}

/* The hardware engine, where the CPU has it, agrees with the portable one. */
TEST(Sha256, EnginesAgree)
{
	if (BestSha256Engine() == Sha256Engine::kPortable)
		GTEST_SKIP() << "this CPU has no faster SHA-256 engine";

	std::string message;

	for (int length = 0; length <= 300; length++)
	{
		EXPECT_EQ(Sha256With(Sha256Engine::kPortable, message), Sha256With(BestSha256Engine(), message))
			<< "length " << length;
		message += static_cast<char>('a' + length % 26);
	}
	EXPECT_EQ(Hex(Sha256With(Sha256Engine::kPortable, "abc")),
			  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(NameKey, DocumentedVectors)
{
	EXPECT_EQ(NameKey("import"), -2791398027664323193LL);
	EXPECT_EQ(NameKey("analysis"), -842589000309265699LL);
	EXPECT_EQ(NameKey("a"), -3848465438864589366LL);
	EXPECT_EQ(NameKey("\xc3\xbc" "ber-stra\xc3\x9f" "e"), 3975763997058145447LL);
	EXPECT_EQ(NameKey("\xe9\x94\x81"), 5720408396146822570LL);
	EXPECT_EQ(NameKey(std::string(64, 'x')), 8998474179529729792LL);
	EXPECT_EQ(NameKey(std::string(65, 'x')), -7694463743876380625LL);
	EXPECT_EQ(NameKey(std::string(kMaxNameBytes, 'a')), -7223295916177724681LL);
}

/* The directory's fingerprint: the digest's next 8 bytes, read as the key's are. */
TEST(NameKey, FingerprintIsTheNextEightBytes)
{
	EXPECT_EQ(HashName("import").key, NameKey("import"));
	EXPECT_EQ(HashName("import").fingerprint, 5129932262411414943ULL);
	EXPECT_EQ(HashName(std::string(65, 'x')).fingerprint, 9032200356525081589ULL);
}

/* A derived key brings its fingerprint; a hit leaves the caller's value alone. */
TEST(KeyCache, FingerprintComesWithADerivedKey)
{
	auto		cache = std::make_unique<KeyCache>();

	for (const std::string &name : {std::string("import"), std::string(40, 'x')})
	{
		std::uint64_t fingerprint = 1;

		EXPECT_EQ(cache->Key(name, &fingerprint), NameKey(name));
		EXPECT_EQ(fingerprint, HashName(name).fingerprint) << name;
		fingerprint = 1;
		EXPECT_EQ(cache->Key(name, &fingerprint), NameKey(name));
		EXPECT_EQ(fingerprint, 1u) << name;
	}
}

/* The cache never changes a key: hits, evictions, every length, zero bytes. */
TEST(KeyCache, AlwaysAgreesWithNameKey)
{
	auto		cache = std::make_unique<KeyCache>();	/* 256 KiB: not on the stack */
	std::vector<std::string> names;

	/* more short names than the table holds, so sets overflow and evict */
	for (int i = 0; i < 3 * static_cast<int>(KeyCache::kSets); i++)
		names.push_back("job-" + std::to_string(i));
	/* every length up to past the memo, and names that differ only in length */
	for (std::size_t length = 1; length <= KeyCache::kMaxMemoBytes + 1; length++)
	{
		names.push_back(std::string(length, 'm'));
		names.push_back(std::string(length - 1, 'm') + std::string(1, '\0'));
	}
	names.push_back(std::string(KeyCache::kMaxTableBytes, 'm') + "x");
	names.push_back(std::string("a\0b", 3));
	names.push_back(std::string("a\0c", 3));
	names.push_back(std::string("a", 1));
	names.push_back(std::string("a\0", 2));

	/* each name twice in a row (a hit), then the next; then all again */
	for (int round = 0; round < 2; round++)
		for (const std::string &name : names)
		{
			ASSERT_EQ(cache->Key(name), NameKey(name)) << name;
			ASSERT_EQ(cache->Key(name), NameKey(name)) << name;
		}
}

/*
 * Names used in alternation: 200 names over 4,096 sets put several pairs in
 * one set, so hits in the second way (and the swap that follows) happen.
 */
TEST(KeyCache, AlternatingNamesKeepTheirKeys)
{
	auto		cache = std::make_unique<KeyCache>();
	std::vector<std::string> names;

	for (int i = 0; i < 200; i++)
		names.push_back("account:" + std::to_string(i));
	for (int round = 0; round < 50; round++)
		for (std::size_t i = 0; i + 1 < names.size(); i++)
		{
			ASSERT_EQ(cache->Key(names[i]), NameKey(names[i])) << names[i];
			ASSERT_EQ(cache->Key(names[i + 1]), NameKey(names[i + 1])) << names[i + 1];
		}
}

/*
 * Short names are packed into words by overlapping loads: two names of one
 * length that differ in any one byte must never share a packed form (the
 * second would be served the first one's key).
 */
TEST(KeyCache, EveryByteOfAShortNameCounts)
{
	auto		cache = std::make_unique<KeyCache>();

	for (std::size_t length = 1; length <= KeyCache::kMaxTableBytes; length++)
		for (std::size_t position = 0; position < length; position++)
			for (char byte : {'\0', 'y', '\xff'})
			{
				std::string base(length, 'x');
				std::string variant = base;

				variant[position] = byte;
				for (const std::string &name : {base, variant, base, variant})
					ASSERT_EQ(cache->Key(name), NameKey(name)) << length << " " << position;
			}
}

/* Byte strings that differ in any one byte differ, at every length; equal ones are equal. */
TEST(ByteWords, EqualBytesSeesEveryByte)
{
	for (std::size_t length = 0; length <= 40; length++)
	{
		/* a byte either side of the compared range that must not matter */
		std::string a(length + 2, 'x');
		std::string b = a;

		b.front() = 'y';
		b.back() = 'y';
		ASSERT_TRUE(EqualBytes(a.data() + 1, b.data() + 1, length)) << length;
		for (std::size_t position = 0; position < length; position++)
			for (char byte : {'\0', 'y', '\xff'})
			{
				std::string c = a;

				c[1 + position] = byte;
				ASSERT_FALSE(EqualBytes(a.data() + 1, c.data() + 1, length)) << length << " " << position;
				ASSERT_FALSE(EqualBytes(c.data() + 1, a.data() + 1, length)) << length << " " << position;
			}
	}
}

/* The empty name is never a lock name, but the cache still gets it right. */
TEST(KeyCache, EmptyNameIsNotAnEmptySlot)
{
	auto		cache = std::make_unique<KeyCache>();

	EXPECT_EQ(cache->Key(""), NameKey(""));
	EXPECT_NE(NameKey(""), 0);
}

TEST(NameKey, Validation)
{
	EXPECT_EQ(CheckName(""), NameProblem::kEmpty);
	EXPECT_EQ(CheckName("x"), NameProblem::kNone);
	EXPECT_EQ(CheckName(std::string(kMaxNameBytes, 'a')), NameProblem::kNone);
	EXPECT_EQ(CheckName(std::string(kMaxNameBytes + 1, 'a')), NameProblem::kTooLong);
}

TEST(WaitTimeout, PositiveTimeoutsRoundUpToAWholeMillisecond)
{
	EXPECT_EQ(WholeMilliseconds(0), 0);
	EXPECT_EQ(WholeMilliseconds(1), 1);
	EXPECT_EQ(WholeMilliseconds(100), 1);
	EXPECT_EQ(WholeMilliseconds(1000), 1);
	EXPECT_EQ(WholeMilliseconds(1001), 2);
	EXPECT_EQ(WholeMilliseconds(2500000), 2500);
}

/* malloc with a count of live blocks, so that tests see leaks and frees */
std::size_t live_blocks = 0;

void *
CountingAllocate(std::size_t size)
{
	live_blocks++;
	return std::malloc(size);
}

void
CountingRelease(void *pointer)
{
	live_blocks--;
	std::free(pointer);
}

const Allocator kCounting{CountingAllocate, CountingRelease};

void *
FailingAllocate(std::size_t)
{
	return nullptr;
}

/* A Prune predicate over a set of keys still held. */
bool
InHeldSet(const NameEntry &entry, void *context)
{
	auto	   *held = static_cast<std::set<std::int64_t> *>(context);

	return held->count(entry.key) > 0;
}

TEST(NameTable, InsertFindAndNames)
{
	NameTable	table(kCounting);

	EXPECT_EQ(table.Find(7), nullptr);
	NameEntry  *entry = table.Insert(7, "job");

	ASSERT_NE(entry, nullptr);
	EXPECT_EQ(table.Find(7), entry);
	EXPECT_EQ(entry->Name(), "job");
	EXPECT_EQ(entry->named_session_holds[0], 0);
	EXPECT_EQ(table.Count(), 1u);
	EXPECT_EQ(table.Find(8), nullptr);
	EXPECT_EQ(table.FindName("job"), entry);
	EXPECT_EQ(table.FindName("jo"), nullptr);
	EXPECT_EQ(table.FindName("jobs"), nullptr);
}

/* Every name found by its bytes, of every length the hash reads apart, and no other. */
TEST(NameTable, FindNameFindsEveryWholeNameAndNothingElse)
{
	NameTable	table(kCounting);
	std::map<std::string, std::int64_t> keys;

	for (int i = 0; i < 3000; i++)
	{
		/* one prefix, so that only the last bytes differ */
		std::string name = std::string(i % 40, 'p') + "item-" + std::to_string(i);

		keys[name] = i;
		ASSERT_NE(table.Insert(i, name), nullptr);
	}
	for (const auto &[name, key] : keys)
	{
		NameEntry  *entry = table.FindName(name);

		ASSERT_NE(entry, nullptr) << name;
		EXPECT_EQ(entry->key, key);
		for (const std::string &other : {name + "0", name.substr(1), name.substr(0, name.size() - 1)})
		{
			auto		known = keys.find(other);

			EXPECT_EQ(table.FindName(other), known == keys.end() ? nullptr : table.Find(known->second))
				<< other;
		}
	}
}

/*
 * A name kept cut is not the name of its kept bytes, which are another
 * name with another key: it is found by key only, even as the entry found
 * last.
 */
TEST(NameTable, CutNameIsFoundByKeyOnly)
{
	NameTable	table(kCounting);
	NameEntry  *cut = table.Insert(1, "abc", false);

	ASSERT_NE(cut, nullptr);
	EXPECT_EQ(table.FindName("abc"), nullptr);
	ASSERT_NE(table.Insert(2, "abcd"), nullptr);
	EXPECT_EQ(table.FindName("abc"), nullptr);
	EXPECT_EQ(table.Find(1), cut);
	EXPECT_EQ(table.FindName("abc"), nullptr);
	EXPECT_EQ(table.FindName("abcd"), table.Find(2));
}

TEST(NameTable, NamedSessionCountFollowsEveryMode)
{
	NameTable	table(kCounting);
	NameEntry  *a = table.Insert(1, "a");
	NameEntry  *b = table.Insert(2, "b");

	table.SetNamedSessionHolds(*a, LockMode::kShared, 2);
	table.SetNamedSessionHolds(*a, LockMode::kExclusive, 1);
	table.SetNamedSessionHolds(*b, LockMode::kExclusive, 1);
	EXPECT_EQ(table.NamedSessionCount(), 2u);	/* entries, not modes */
	table.SetNamedSessionHolds(*a, LockMode::kShared, 0);
	EXPECT_EQ(table.NamedSessionCount(), 2u);
	table.SetNamedSessionHolds(*a, LockMode::kExclusive, -1);	/* clamps */
	EXPECT_EQ(a->named_session_holds[1], 0);
	EXPECT_EQ(table.NamedSessionCount(), 1u);

	std::set<std::int64_t> held = {1};

	table.Prune(InHeldSet, &held);	/* b goes, with its session holds */
	EXPECT_EQ(table.NamedSessionCount(), 0u);
	EXPECT_EQ(table.Count(), 1u);
}

using StatementHolds = std::map<std::pair<std::int64_t, LockMode>, std::int64_t>;

StatementHolds
StatementHoldsOf(const NameTable &table)
{
	StatementHolds holds;

	table.ForEachStatementHold(
		[](NameEntry &entry, LockMode mode, std::int64_t count, void *context) {
			EXPECT_GT(count, 0) << "only modes with holds are visited";
			(*static_cast<StatementHolds *>(context))[{entry.key, mode}] += count;
		},
		&holds);
	return holds;
}

/* A statement's holds are counted apart by entry and mode, and all end with it. */
TEST(NameTable, StatementHoldsEndWithTheStatement)
{
	NameTable	table(kCounting);
	NameEntry  *a = table.Insert(1, "a");
	NameEntry  *b = table.Insert(2, "b");

	EXPECT_FALSE(table.StatementTookHolds());
	table.NoteStatementHold(*a, LockMode::kShared);
	table.NoteStatementHold(*a, LockMode::kShared);
	table.NoteStatementHold(*a, LockMode::kExclusive);
	table.NoteStatementHold(*b, LockMode::kShared);
	EXPECT_TRUE(table.StatementTookHolds());
	EXPECT_EQ(StatementHoldsOf(table), (StatementHolds{{{1, LockMode::kShared}, 2},
														{{1, LockMode::kExclusive}, 1},
														{{2, LockMode::kShared}, 1}}));

	EXPECT_TRUE(table.ForgetStatementHold(*a, LockMode::kExclusive));
	EXPECT_FALSE(table.ForgetStatementHold(*a, LockMode::kExclusive)) << "nothing left in that mode";
	EXPECT_FALSE(table.ForgetStatementHold(*b, LockMode::kExclusive)) << "never taken in that mode";
	EXPECT_EQ(StatementHoldsOf(table), (StatementHolds{{{1, LockMode::kShared}, 2}, {{2, LockMode::kShared}, 1}}));

	table.EndStatement();
	EXPECT_FALSE(table.StatementTookHolds());
	EXPECT_EQ(StatementHoldsOf(table), StatementHolds{});
	EXPECT_FALSE(table.ForgetStatementHold(*a, LockMode::kShared)) << "the last statement's holds are the session's now";

	/* the next statement counts from nothing, on the same entries */
	table.NoteStatementHold(*b, LockMode::kExclusive);
	EXPECT_EQ(StatementHoldsOf(table), (StatementHolds{{{2, LockMode::kExclusive}, 1}}));
	EXPECT_EQ(table.StatementHolds(*b, LockMode::kShared), 0);
	EXPECT_EQ(table.StatementHolds(*a, LockMode::kShared), 0);

	/* an entry inserted during a statement has taken nothing in it */
	NameEntry  *c = table.Insert(3, "c");

	EXPECT_EQ(table.StatementHolds(*c, LockMode::kShared), 0);
	EXPECT_EQ(table.StatementHolds(*c, LockMode::kExclusive), 0);
}

/* Random takes, releases and statement ends over many entries, against a map. */
TEST(NameTable, StatementHoldsMatchAMapOfCounts)
{
	NameTable	table(kCounting);
	std::vector<NameEntry *> entries;
	StatementHolds model;
	std::mt19937 random(20261207);

	for (int key = 0; key < 300; key++)
		entries.push_back(table.Insert(key, "n" + std::to_string(key)));
	for (int step = 0; step < 200000; step++)
	{
		NameEntry  *entry = entries[random() % entries.size()];
		LockMode	mode = random() % 2 ? LockMode::kShared : LockMode::kExclusive;
		unsigned	choice = random() % 100;

		if (choice == 0)
		{
			table.EndStatement();
			model.clear();
		}
		else if (choice < 65)
		{
			table.NoteStatementHold(*entry, mode);
			model[{entry->key, mode}]++;
		}
		else
		{
			auto		found = model.find({entry->key, mode});
			bool		taken = found != model.end();

			ASSERT_EQ(table.ForgetStatementHold(*entry, mode), taken);
			if (taken && --found->second == 0)
				model.erase(found);
		}
		if (step % 10000 == 0)
		{
			ASSERT_EQ(StatementHoldsOf(table), model);
		}
	}
	ASSERT_EQ(StatementHoldsOf(table), model);
}

/* The entry found last is remembered, but never past the Prune that frees it. */
TEST(NameTable, LastFoundEntryDoesNotOutliveItsPrune)
{
	NameTable	table(kCounting);
	NameEntry  *a = table.Insert(1, "a");

	ASSERT_NE(table.Insert(2, "b"), nullptr);
	EXPECT_EQ(table.Find(1), a);
	EXPECT_EQ(table.Find(1), a);

	std::set<std::int64_t> held = {2};

	table.Prune(InHeldSet, &held);
	EXPECT_EQ(table.Find(1), nullptr);
	ASSERT_NE(table.Find(2), nullptr);
	EXPECT_EQ(table.Find(2)->Name(), "b");
}

/* Many keys in, most pruned, every survivor still found, every pruned one gone. */
TEST(NameTable, PruneKeepsExactlyTheHeldEntriesFindable)
{
	NameTable	table(kCounting);
	std::mt19937_64 random(42);
	std::vector<std::int64_t> keys;
	std::set<std::int64_t> held;

	for (int i = 0; i < 5000; i++)
	{
		/* low bits collide often, so probe chains are long */
		std::int64_t key = static_cast<std::int64_t>(random() << 8) | (i % 4);

		keys.push_back(key);
		ASSERT_NE(table.Insert(key, std::to_string(i)), nullptr);
		if (i % 7 == 0)
			held.insert(key);
	}
	EXPECT_TRUE(table.WantsPrune());
	EXPECT_EQ(table.PruneCount(), 0u);
	table.Prune(InHeldSet, &held);
	EXPECT_EQ(table.PruneCount(), 1u);

	EXPECT_EQ(table.Count(), held.size());
	for (std::size_t i = 0; i < keys.size(); i++)
	{
		NameEntry  *entry = table.Find(keys[i]);

		if (held.count(keys[i]) > 0)
		{
			ASSERT_NE(entry, nullptr) << i;
			EXPECT_EQ(entry->Name(), std::to_string(i));
		}
		else
			EXPECT_EQ(entry, nullptr) << i;
		EXPECT_EQ(table.FindName(std::to_string(i)), entry) << i;
	}
	EXPECT_FALSE(table.WantsPrune());
}

TEST(NameTable, PruneFreesMemoryAndShrinks)
{
	std::size_t before = live_blocks;

	{
		NameTable	table(kCounting);
		std::set<std::int64_t> held = {3};

		for (int i = 0; i < 10000; i++)
			table.Insert(i, std::string(1000, 'x'));
		std::size_t full = table.AllocatedBytes();

		EXPECT_GT(full, 10000u * 1000u);
		table.Prune(InHeldSet, &held);
		EXPECT_EQ(table.Count(), 1u);
		EXPECT_EQ(live_blocks - before, 2u);	/* one entry, one slot array */
		EXPECT_LT(table.AllocatedBytes(), 2000u);
		ASSERT_NE(table.Find(3), nullptr);
	}
	EXPECT_EQ(live_blocks, before);	/* the destructor frees the rest */
}

TEST(NameTable, PruneRuleIsRelativeToWhatSurvived)
{
	NameTable	table(kCounting);
	std::set<std::int64_t> held;
	const int	survivors = static_cast<int>(NameTable::kMinPruneSize);

	for (int i = 0; i < survivors; i++)
	{
		table.Insert(i, "n");
		held.insert(i);
	}
	table.Prune(InHeldSet, &held);
	EXPECT_FALSE(table.WantsPrune());	/* all survived: next at twice as many */
	for (int i = survivors; i < 2 * survivors - 1; i++)
		table.Insert(i, "n");
	EXPECT_FALSE(table.WantsPrune());
	table.Insert(2 * survivors - 1, "n");
	EXPECT_TRUE(table.WantsPrune());

	table.Prune(InHeldSet, &held);
	for (int i = 0; i < 2 * survivors; i++)
		held.erase(i);
	table.Prune(InHeldSet, &held);
	EXPECT_EQ(table.Count(), 0u);
	for (int i = 0; i < survivors - 1; i++)
		table.Insert(i, "n");
	EXPECT_FALSE(table.WantsPrune());	/* never below kMinPruneSize */
	table.Insert(survivors - 1, "n");
	EXPECT_TRUE(table.WantsPrune());
}

TEST(NameTable, OutOfMemoryChangesNothing)
{
	NameTable	table(Allocator{FailingAllocate, CountingRelease});

	EXPECT_EQ(table.Insert(1, "a"), nullptr);
	EXPECT_EQ(table.Count(), 0u);
	EXPECT_EQ(table.Find(1), nullptr);

	std::set<std::int64_t> held;

	table.Prune(InHeldSet, &held);	/* nothing to prune, no memory: fine */
	EXPECT_EQ(table.Count(), 0u);
}

struct Counted
{
	int			value;
};

/* The backend's record of names used: found by key and role, full at capacity, emptied at once. */
TEST(LocalIndex, FindsEntersFillsAndClears)
{
	constexpr std::uint32_t capacity = 64;
	using Index = LocalIndex<Counted>;
	std::vector<Counted> entries(capacity);
	std::vector<Index::Slot> slots(Index::SlotCount(capacity));
	Index		index(entries.data(), slots.data(), capacity);
	std::mt19937_64 random(5);
	std::vector<std::int64_t> keys;
	bool		found;

	/* keys that share their low bits, and one key under two roles */
	for (std::uint32_t i = 0; i < capacity - 1; i++)
		keys.push_back(i % 2 == 0 ? static_cast<std::int64_t>(random()) : static_cast<std::int64_t>(i) << 40);
	for (std::size_t i = 0; i < keys.size(); i++)
	{
		Counted    *entry = index.Enter(keys[i], 10, &found);

		ASSERT_NE(entry, nullptr);
		ASSERT_FALSE(found);
		entry->value = static_cast<int>(i);
	}
	Counted    *other_role = index.Enter(keys[0], 11, &found);
	ASSERT_NE(other_role, nullptr);
	EXPECT_FALSE(found);
	other_role->value = -1;
	EXPECT_EQ(index.Count(), capacity);

	for (std::size_t i = 0; i < keys.size(); i++)
	{
		ASSERT_NE(index.Find(keys[i], 10), nullptr);
		EXPECT_EQ(index.Find(keys[i], 10)->value, static_cast<int>(i));
		EXPECT_EQ(index.Enter(keys[i], 10, &found), index.Find(keys[i], 10));
		EXPECT_TRUE(found);
	}
	EXPECT_EQ(index.Find(keys[0], 11)->value, -1);
	EXPECT_EQ(index.Find(keys[1], 11), nullptr);
	EXPECT_EQ(index.Find(12345, 10), nullptr);

	/* full: an absent key is refused, a present one still found */
	EXPECT_EQ(index.Enter(12345, 10, &found), nullptr);
	EXPECT_FALSE(found);
	EXPECT_EQ(index.Count(), capacity);

	index.Clear();
	EXPECT_EQ(index.Count(), 0u);
	EXPECT_EQ(index.Find(keys[0], 10), nullptr);
	ASSERT_NE(index.Enter(12345, 10, &found), nullptr);
	EXPECT_FALSE(found);
	EXPECT_EQ(index.Find(12345, 10), &entries[0]);
}

} // namespace
} // namespace advlock_named

