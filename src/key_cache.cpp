/*-------------------------------------------------------------------------
 *
 * key_cache.cpp
 *	  Recently derived name keys.
 *
 *-------------------------------------------------------------------------
 */
#include "key_cache.hpp"

#include <cstring>
#include <utility>

#include "name_key.hpp"

namespace advlock_named {
namespace {

KeyCache::PackedName
Pack(std::string_view utf8_name) noexcept
{
	KeyCache::PackedName packed = {};

	std::memcpy(packed.words, utf8_name.data(), utf8_name.size());
	packed.words[2] |= static_cast<std::uint64_t>(utf8_name.size()) << 56;
	return packed;
}

std::size_t
SetOf(const KeyCache::PackedName &name) noexcept
{
	std::uint64_t h = name.words[0] * 0x9E3779B97F4A7C15ULL ^
		name.words[1] * 0xC2B2AE3D27D4EB4FULL ^
		name.words[2] * 0x165667B19E3779F9ULL;

	/* the top bits of a product have seen every bit of its input */
	return static_cast<std::size_t>(((h ^ (h >> 32)) * 0x9E3779B97F4A7C15ULL) >> (64 - KeyCache::kSetBits));
}

} // namespace

std::int64_t
KeyCache::TableKey(std::string_view utf8_name) noexcept
{
	PackedName	name = Pack(utf8_name);
	Set		   &set = sets_[SetOf(name)];

	if (set.ways[0].name == name)
		return set.ways[0].key;
	if (set.ways[1].name == name)
	{
		std::swap(set.ways[0], set.ways[1]);
		return set.ways[0].key;
	}
	set.ways[1] = set.ways[0];
	set.ways[0] = Slot{name, NameKey(utf8_name)};
	return set.ways[0].key;
}

std::int64_t
KeyCache::MemoKey(std::string_view utf8_name) noexcept
{
	if (memo_length_ != 0 && utf8_name.size() == memo_length_ &&
		std::memcmp(memo_name_, utf8_name.data(), memo_length_) == 0)
		return memo_key_;

	std::int64_t key = NameKey(utf8_name);

	if (utf8_name.size() <= kMaxMemoBytes)
	{
		memo_key_ = key;
		memo_length_ = utf8_name.size();
		std::memcpy(memo_name_, utf8_name.data(), memo_length_);
	}
	return key;
}

std::int64_t
KeyCache::Key(std::string_view utf8_name) noexcept
{
	if (!utf8_name.empty() && utf8_name.size() <= kMaxTableBytes)
		return TableKey(utf8_name);
	return MemoKey(utf8_name);
}

} // namespace advlock_named
