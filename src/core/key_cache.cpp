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

#include "byte_words.hpp"
#include "name_key.hpp"

namespace advlock_named {
namespace {

KeyCache::PackedName
Pack(std::string_view utf8_name) noexcept
{
	const char *bytes = utf8_name.data();
	std::size_t length = utf8_name.size();
	KeyCache::PackedName packed = {};

	if (length >= 16)
	{
		packed.words[0] = LoadLittle<std::uint64_t>(bytes);
		packed.words[1] = LoadLittle<std::uint64_t>(bytes + 8);
		packed.words[2] = LoadWord(bytes + 16, length - 16);
	}
	else if (length >= 8)
	{
		packed.words[0] = LoadLittle<std::uint64_t>(bytes);
		packed.words[1] = LoadWord(bytes + 8, length - 8);
	}
	else
		packed.words[0] = LoadWord(bytes, length);
	packed.words[2] |= static_cast<std::uint64_t>(length) << 56;
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

/* The key of a name not in the cache, and its fingerprint for the caller that wants it. */
std::int64_t
Derive(std::string_view utf8_name, std::uint64_t *fingerprint) noexcept
{
	NameHash	hash = HashName(utf8_name);

	if (fingerprint != nullptr)
		*fingerprint = hash.fingerprint;
	return hash.key;
}

} // namespace

std::int64_t
KeyCache::TableKey(const PackedName &name, std::string_view utf8_name,
				   std::uint64_t *fingerprint) noexcept
{
	Set		   &set = sets_[SetOf(name)];

	if (set.ways[0].name == name)
		return set.ways[0].key;
	if (set.ways[1].name == name)
	{
		std::swap(set.ways[0], set.ways[1]);
		return set.ways[0].key;
	}
	set.ways[1] = set.ways[0];
	set.ways[0] = Slot{name, Derive(utf8_name, fingerprint)};
	return set.ways[0].key;
}

std::int64_t
KeyCache::Key(std::string_view utf8_name, std::uint64_t *fingerprint) noexcept
{
	std::int64_t key;

	if (!utf8_name.empty() && utf8_name.size() <= kMaxTableBytes)
	{
		PackedName	name = Pack(utf8_name);

		if (name == last_short_name_)
			return last_short_key_;
		key = TableKey(name, utf8_name, fingerprint);
		last_short_name_ = name;
		last_short_key_ = key;
		return key;
	}

	if (memo_length_ != 0 && utf8_name.size() == memo_length_ &&
		std::memcmp(memo_name_, utf8_name.data(), memo_length_) == 0)
		return memo_key_;
	key = Derive(utf8_name, fingerprint);
	if (utf8_name.size() <= kMaxMemoBytes)
	{
		memo_key_ = key;
		memo_length_ = utf8_name.size();
		std::memcpy(memo_name_, utf8_name.data(), memo_length_);
	}
	return key;
}

} // namespace advlock_named
