/*-------------------------------------------------------------------------
 *
 * key_cache.hpp
 *	  Recently derived name keys, so that a name in use costs no SHA-256.
 *
 * A name the backend's name table has (a name it has locked and not yet
 * pruned) is found there first, with its key; this cache serves the rest:
 * names asked for without being locked, a name sharing its key with the
 * one the table has, and a backend cycling through more names than its
 * table keeps.
 *
 * Short names, the common case, go to a two-way set-associative table of
 * 4,096 sets, one cache line each.  A name is stored zero-padded in three
 * words with its length in the top byte, so a lookup is a multiply-shift
 * hash, one cache line and three word comparisons: a fraction of SHA-256
 * even with the CPU's SHA extensions, and without them (many Intel server
 * CPUs) SHA-256 costs ten times as much.  With 4,096 sets a thousand names
 * used in turn find about 97 % of them in the cache (with 2,048, the names
 * of sets that three share, 11 %, would miss every time).  The short name
 * asked for last is compared first, since an unlock nearly always names
 * the lock taken last, whose set is no longer in the CPU's cache by then.
 * Longer names keep only the last one.  The table is zero-initialized
 * static storage, so pages a backend never touches cost no memory.  Pure
 * C++, no allocation, nothing throws.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace advlock_named {

class KeyCache
{
public:
	/* Longest name the set-associative table holds. */
	static constexpr std::size_t kMaxTableBytes = 23;
	/* Longest name the last-name memo of longer names holds. */
	static constexpr std::size_t kMaxMemoBytes = 64;
	static constexpr unsigned kSetBits = 12;
	static constexpr std::size_t kSets = std::size_t{1} << kSetBits;

	/*
	 * NameKey(utf8_name), from the cache when it has the name.  When the key
	 * is derived instead, the digest's fingerprint comes with it, stored in
	 * *fingerprint if that is given; a hit leaves *fingerprint alone.
	 */
	std::int64_t Key(std::string_view utf8_name, std::uint64_t *fingerprint = nullptr) noexcept;

	/* A short name packed as zero-padded words, its length in the top byte. */
	struct PackedName
	{
		std::uint64_t words[3];

		bool		operator==(const PackedName &other) const noexcept
		{
			return words[0] == other.words[0] && words[1] == other.words[1] &&
				words[2] == other.words[2];
		}
	};

private:
	struct Slot
	{
		PackedName	name;		/* all zero: empty (names are never empty) */
		std::int64_t key;
	};

	/* ways[0] is the more recently used */
	struct alignas(64) Set
	{
		Slot		ways[2];
	};

	std::int64_t TableKey(const PackedName &name, std::string_view utf8_name,
						  std::uint64_t *fingerprint) noexcept;

	static_assert(sizeof(Set) == 64, "a set is one cache line");

	Set			sets_[kSets] = {};	/* 256 KiB */

	PackedName	last_short_name_ = {};	/* all zero: none */
	std::int64_t last_short_key_ = 0;

	std::int64_t memo_key_ = 0;
	std::size_t memo_length_ = 0;	/* 0: empty */
	char		memo_name_[kMaxMemoBytes] = {};
};

} // namespace advlock_named
