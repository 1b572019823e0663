/*
 * Unit tests of HoldTally: the holds a statement in progress has taken, net
 * of those it gave back, checked against a plain map of counts.
 */
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <utility>

#include "hold_tally.hpp"

namespace advlock_named {
namespace {

void *
Allocate(std::size_t size)
{
	return std::malloc(size);
}

void
Release(void *pointer)
{
	std::free(pointer);
}

void *
FailingAllocate(std::size_t)
{
	return nullptr;
}

using Pair = std::pair<std::int64_t, LockMode>;

std::map<Pair, std::int64_t>
Contents(const HoldTally &tally)
{
	std::map<Pair, std::int64_t> contents;

	for (const HoldTally::Hold &hold : tally)
	{
		EXPECT_GT(hold.count, 0) << "a pair given back in full leaves no entry";
		EXPECT_EQ(contents.count({hold.key, hold.mode}), 0u) << "one entry per pair";
		contents[{hold.key, hold.mode}] = hold.count;
	}
	return contents;
}

TEST(HoldTally, CountsPairsAndModesApart)
{
	HoldTally	tally(Allocator{Allocate, Release});

	ASSERT_TRUE(tally.Reserve(3));
	tally.Add(7, LockMode::kShared);
	tally.Add(7, LockMode::kShared);
	tally.Add(7, LockMode::kExclusive);
	tally.Add(9, LockMode::kShared);
	EXPECT_EQ(Contents(tally), (std::map<Pair, std::int64_t>{
								   {{7, LockMode::kShared}, 2}, {{7, LockMode::kExclusive}, 1}, {{9, LockMode::kShared}, 1}}));

	EXPECT_TRUE(tally.Remove(7, LockMode::kExclusive));
	EXPECT_FALSE(tally.Remove(7, LockMode::kExclusive)) << "nothing left of that pair";
	EXPECT_FALSE(tally.Remove(8, LockMode::kShared)) << "never tallied";
	EXPECT_TRUE(tally.Remove(7, LockMode::kShared));
	EXPECT_EQ(Contents(tally), (std::map<Pair, std::int64_t>{{{7, LockMode::kShared}, 1}, {{9, LockMode::kShared}, 1}}));

	tally.Clear();
	EXPECT_TRUE(tally.Empty());
	EXPECT_FALSE(tally.Remove(9, LockMode::kShared));
}

TEST(HoldTally, ReserveFailsWithoutMemoryAndKeepsWhatItHas)
{
	HoldTally	tally(Allocator{FailingAllocate, Release});

	EXPECT_FALSE(tally.Reserve(1));
	EXPECT_TRUE(tally.Empty());
}

/* Random adds and removes across many pairs, growing past several reservations. */
TEST(HoldTally, MatchesAMapOfCounts)
{
	HoldTally	tally(Allocator{Allocate, Release});
	std::map<Pair, std::int64_t> model;
	std::mt19937 random(20261207);

	for (int step = 0; step < 200000; step++)
	{
		Pair		pair{static_cast<std::int64_t>(random() % 300), random() % 2 ? LockMode::kShared : LockMode::kExclusive};

		if (random() % 3 != 0)
		{
			ASSERT_TRUE(tally.Reserve(1));
			tally.Add(pair.first, pair.second);
			model[pair]++;
		}
		else
		{
			bool		tallied = model.count(pair) > 0;

			ASSERT_EQ(tally.Remove(pair.first, pair.second), tallied);
			if (tallied && --model[pair] == 0)
				model.erase(pair);
		}
		if (step % 10000 == 0)
		{
			ASSERT_EQ(Contents(tally), model);
		}
	}
	ASSERT_EQ(Contents(tally), model);
}

} // namespace
} // namespace advlock_named
