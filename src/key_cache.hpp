/*-------------------------------------------------------------------------
 *
 * key_cache.hpp
 *	  A memo of the last derived name key.
 *
 * An unlock nearly always names the lock taken last, so remembering the
 * last short name and its key saves the SHA-256 computation of most
 * unlocks.  (A larger table of recent names was measured and cost as much
 * in memory traffic as it saved: SHA-256 with the CPU's SHA extensions is
 * only a few dozen nanoseconds.)  Pure C++, no allocation, nothing throws.
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
	static constexpr std::size_t kMaxCachedBytes = 64;

	/* NameKey(utf8_name), from the memo when it is the last name asked for. */
	std::int64_t Key(std::string_view utf8_name) noexcept;

private:
	std::int64_t key_ = 0;
	std::size_t length_ = 0;	/* 0: empty (names are never empty) */
	char		name_[kMaxCachedBytes] = {};
};

} // namespace advlock_named
