/*
 * Unit tests of the pure C++ core: the key contract and the hold registry's
 * transaction rules.  They need no server; `make unit-test` runs them.
 */
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "hold_registry.hpp"
#include "key_cache.hpp"
#include "name_key.hpp"
#include "sha256.hpp"

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

/* FIPS 180-4 examples, plus lengths around the one- and two-block padding edge. */
TEST(Sha256, KnownAnswers)
{
	/* Sha256 itself runs on the best engine, so these pin that one */
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

/* The cache never changes a key: hits, evictions, every length, zero bytes. */
TEST(KeyCache, AlwaysAgreesWithNameKey)
{
	auto		cache = std::make_unique<KeyCache>();	/* 128 KiB: not on the stack */
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
 * Names used in alternation: 200 names over 2,048 sets put several pairs in
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

std::vector<HoldRow>
Rows(const HoldRegistry &registry)
{
	std::vector<HoldRow> rows(registry.EntryCount());

	rows.resize(registry.Snapshot(rows.data()));
	HoldRegistry::SortByName(rows.data(), rows.size());
	return rows;
}

constexpr SubXactId kTop = 1;

TEST(HoldRegistry, SessionHoldsSurviveTransactionEnd)
{
	HoldRegistry registry;
	auto	   *entry = registry.Prepare(7, LockMode::kExclusive, "job", kNoSubXact);

	ASSERT_NE(entry, nullptr);
	EXPECT_TRUE(entry->xact_holds.empty());	/* a session hold needs no slot */
	registry.AddSessionHold(*entry);
	registry.AddSessionHold(*entry);
	registry.EndTransaction();

	auto		rows = Rows(registry);

	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(std::string(rows[0].name, rows[0].name_length), "job");
	EXPECT_EQ(rows[0].session_holds, 2);
	EXPECT_EQ(rows[0].xact_holds, 0);
}

TEST(HoldRegistry, TransactionHoldsEndWithTheTransaction)
{
	HoldRegistry registry;
	auto	   *entry = registry.Prepare(7, LockMode::kShared, "job", kTop);

	registry.AddXactHold(*entry, kTop);
	EXPECT_EQ(Rows(registry).at(0).xact_holds, 1);
	registry.EndTransaction();
	EXPECT_TRUE(Rows(registry).empty());
	EXPECT_EQ(registry.HeldCount(), 0u);
}

TEST(HoldRegistry, DroppingTransactionHoldsCountsThem)
{
	HoldRegistry registry;
	auto	   *entry = registry.Prepare(7, LockMode::kShared, "job", kTop);

	registry.AddXactHold(*entry, kTop);
	registry.AddXactHold(*registry.Prepare(7, LockMode::kShared, "job", kTop), kTop);
	registry.DropXactHold(*entry, kTop);
	EXPECT_EQ(Rows(registry).at(0).xact_holds, 1);
	EXPECT_EQ(registry.HeldCount(), 1u);
	registry.DropXactHold(*entry, kTop);
	registry.DropXactHold(*entry, kTop);	/* one too many: no effect */
	EXPECT_TRUE(Rows(registry).empty());
	EXPECT_EQ(registry.HeldCount(), 0u);
}

TEST(HoldRegistry, SubtransactionCommitMovesHoldsToParent)
{
	HoldRegistry registry;

	registry.AddXactHold(*registry.Prepare(7, LockMode::kShared, "job", 2), 2);
	registry.AddXactHold(*registry.Prepare(7, LockMode::kShared, "job", 3), 3);
	registry.CommitSubTransaction(3, 2);
	EXPECT_EQ(Rows(registry).at(0).xact_holds, 2);
	/* the parent aborting now takes both holds with it */
	registry.AbortSubTransaction(2);
	EXPECT_TRUE(Rows(registry).empty());
}

TEST(HoldRegistry, SubtransactionAbortKeepsOuterAndSessionHolds)
{
	HoldRegistry registry;
	auto	   *entry = registry.Prepare(7, LockMode::kExclusive, "job", kTop);

	registry.AddXactHold(*entry, kTop);
	entry = registry.Prepare(7, LockMode::kExclusive, "job", 2);
	registry.AddXactHold(*entry, 2);
	registry.AddSessionHold(*entry);
	registry.AbortSubTransaction(2);

	auto		rows = Rows(registry);

	ASSERT_EQ(rows.size(), 1u);
	EXPECT_EQ(rows[0].xact_holds, 1);
	EXPECT_EQ(rows[0].session_holds, 1);
}

TEST(HoldRegistry, LimitAndDropSessionHolds)
{
	HoldRegistry registry;
	auto	   *entry = registry.Prepare(7, LockMode::kExclusive, "job", kNoSubXact);

	for (int i = 0; i < 3; i++)
		registry.AddSessionHold(*entry);
	registry.LimitSessionHolds(*entry, 5);
	EXPECT_EQ(entry->session_holds, 3);
	registry.LimitSessionHolds(*entry, 1);
	EXPECT_EQ(entry->session_holds, 1);
	registry.DropSessionHolds(*entry, 10);
	EXPECT_EQ(entry->session_holds, 0);
	registry.EndTransaction();
	EXPECT_TRUE(Rows(registry).empty());
	EXPECT_EQ(registry.HeldCount(), 0u);
}

TEST(HoldRegistry, ModesAreSeparateAndRowsAreOrderedByName)
{
	HoldRegistry registry;

	registry.AddSessionHold(*registry.Prepare(2, LockMode::kShared, "b", kNoSubXact));
	registry.AddSessionHold(*registry.Prepare(1, LockMode::kExclusive, "a", kNoSubXact));
	registry.AddSessionHold(*registry.Prepare(1, LockMode::kShared, "a", kNoSubXact));
	registry.AddSessionHold(*registry.Prepare(3, LockMode::kShared, "ab", kNoSubXact));

	auto		rows = Rows(registry);

	ASSERT_EQ(rows.size(), 4u);
	EXPECT_EQ(std::string(rows[0].name, rows[0].name_length), "a");
	EXPECT_EQ(rows[0].mode, LockMode::kShared);
	EXPECT_EQ(rows[1].mode, LockMode::kExclusive);
	EXPECT_EQ(std::string(rows[2].name, rows[2].name_length), "ab");
	EXPECT_EQ(std::string(rows[3].name, rows[3].name_length), "b");
}

/* Entries that hold nothing are kept for reuse, but only so many. */
TEST(HoldRegistry, IdleEntriesAreKeptUpToALimit)
{
	HoldRegistry registry;
	const std::size_t limit = HoldRegistry::kIdleEntriesKept;

	ASSERT_NE(registry.Prepare(9, LockMode::kExclusive, "never granted", kTop), nullptr);
	EXPECT_TRUE(Rows(registry).empty());
	registry.EndTransaction();
	EXPECT_EQ(registry.EntryCount(), 1u);
	EXPECT_EQ(registry.HeldCount(), 0u);

	for (std::size_t i = 0; i < 3 * limit; i++)
		registry.AddXactHold(*registry.Prepare(static_cast<std::int64_t>(i) << 16, LockMode::kShared, "n", kTop), kTop);
	registry.AddSessionHold(*registry.Prepare(-1, LockMode::kShared, "kept", kNoSubXact));
	registry.EndTransaction();
	EXPECT_EQ(registry.EntryCount(), limit + 1);
	EXPECT_EQ(registry.HeldCount(), 1u);
	EXPECT_TRUE(Rows(registry).size() == 1);
}

/* The open-addressing table keeps every entry findable through growth and erasure. */
TEST(HoldRegistry, ManyEntriesSurviveGrowthAndErasure)
{
	HoldRegistry registry;
	std::vector<std::int64_t> keys;

	/* real keys, and keys that all share their low bits to force long probe runs */
	for (int i = 0; i < 3000; i++)
		keys.push_back(NameKey("job-" + std::to_string(i)));
	for (std::int64_t i = 1; i <= 300; i++)
		keys.push_back(i << 20);

	for (std::size_t i = 0; i < keys.size(); i++)
	{
		HoldRegistry::Entry *entry = registry.Prepare(keys[i], LockMode::kExclusive, "n", kTop);

		ASSERT_NE(entry, nullptr);
		/* every third one is held only for the transaction and goes at its end */
		if (i % 3 == 0)
			registry.AddXactHold(*entry, kTop);
		else
			registry.AddSessionHold(*entry);
	}
	EXPECT_EQ(registry.EntryCount(), keys.size());
	registry.EndTransaction();

	for (std::size_t i = 0; i < keys.size(); i++)
	{
		HoldRegistry::Entry *entry = registry.Find(keys[i], LockMode::kExclusive);

		/* transaction-only entries may stay for reuse, but hold nothing */
		if (i % 3 == 0)
			EXPECT_TRUE(entry == nullptr || !HoldRegistry::IsHeld(*entry)) << i;
		else
			ASSERT_TRUE(entry != nullptr && HoldRegistry::IsHeld(*entry)) << i;
		EXPECT_EQ(registry.Find(keys[i], LockMode::kShared), nullptr) << i;
	}
	EXPECT_EQ(registry.HeldCount(), keys.size() - (keys.size() + 2) / 3);

	/* drop the rest in an order unrelated to insertion */
	for (std::size_t i = keys.size(); i-- > 0;)
		if (HoldRegistry::Entry *entry = registry.Find(keys[i], LockMode::kExclusive))
			registry.DropSessionHolds(*entry, 1);
	registry.EndTransaction();
	EXPECT_LE(registry.EntryCount(), HoldRegistry::kIdleEntriesKept);
	EXPECT_EQ(registry.HeldCount(), 0u);
	EXPECT_TRUE(Rows(registry).empty());
}

/* Slots compare a tag that mixes key and mode; pairs sharing a tag stay apart. */
TEST(HoldRegistry, KeysWhoseTagsCollideStayDistinct)
{
	HoldRegistry registry;
	const std::int64_t key = NameKey("import");
	/* Tag is key XOR a per-mode constant, so this partner's exclusive tag is key's shared one */
	const std::int64_t partner = static_cast<std::int64_t>(static_cast<std::uint64_t>(key) ^
														   HoldRegistry::Tag(0, LockMode::kShared) ^
														   HoldRegistry::Tag(0, LockMode::kExclusive));

	ASSERT_EQ(HoldRegistry::Tag(partner, LockMode::kExclusive), HoldRegistry::Tag(key, LockMode::kShared));
	registry.AddSessionHold(*registry.Prepare(key, LockMode::kShared, "a", kNoSubXact));
	registry.AddSessionHold(*registry.Prepare(partner, LockMode::kExclusive, "b", kNoSubXact));
	ASSERT_EQ(registry.EntryCount(), 2u);
	EXPECT_EQ(registry.Find(key, LockMode::kShared)->name, "a");
	EXPECT_EQ(registry.Find(partner, LockMode::kExclusive)->name, "b");
	EXPECT_EQ(registry.Find(key, LockMode::kExclusive), nullptr);
	EXPECT_EQ(registry.Find(partner, LockMode::kShared), nullptr);
}

/* The count a per-session limit checks: distinct locks, not holds. */
TEST(HoldRegistry, HeldCountFollowsEveryScope)
{
	HoldRegistry registry;
	HoldRegistry::Entry *a = registry.Prepare(1, LockMode::kExclusive, "a", kTop);
	HoldRegistry::Entry *b = registry.Prepare(2, LockMode::kShared, "b", kTop);

	registry.AddSessionHold(*a);
	registry.AddSessionHold(*a);
	EXPECT_EQ(registry.HeldCount(), 1u);

	registry.AddXactHold(*a, kTop);
	registry.AddXactHold(*b, kTop);
	EXPECT_EQ(registry.HeldCount(), 2u);

	/* a savepoint's lock goes with it */
	HoldRegistry::Entry *c = registry.Prepare(3, LockMode::kShared, "c", 2);
	registry.AddXactHold(*c, 2);
	EXPECT_EQ(registry.HeldCount(), 3u);
	registry.AbortSubTransaction(2);
	EXPECT_EQ(registry.HeldCount(), 2u);

	/* a released savepoint's lock moves up and still counts */
	c = registry.Prepare(3, LockMode::kShared, "c", 3);
	registry.AddXactHold(*c, 3);
	registry.CommitSubTransaction(3, kTop);
	EXPECT_EQ(registry.HeldCount(), 3u);

	registry.EndTransaction();
	EXPECT_EQ(registry.HeldCount(), 1u);	/* a's session holds */

	registry.DropSessionHolds(*registry.Find(1, LockMode::kExclusive), 1);
	EXPECT_EQ(registry.HeldCount(), 1u);
	registry.LimitSessionHolds(*registry.Find(1, LockMode::kExclusive), 0);
	EXPECT_EQ(registry.HeldCount(), 0u);
}

} // namespace
} // namespace advlock_named
