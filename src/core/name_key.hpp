/*-------------------------------------------------------------------------
 *
 * name_key.hpp
 *	  The documented mapping from a lock name to its 64-bit advisory key.
 *
 * key = the first 8 bytes of SHA-256 over the name's UTF-8 bytes, read
 * big-endian as a signed 64-bit integer.  This is part of the extension's
 * public contract: changing it would silently split every lock in two.
 *
 * Pure C++: no PostgreSQL header may be included here.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace advlock_named {

/* Longest accepted name, in UTF-8 bytes. */
constexpr std::size_t kMaxNameBytes = 1024 * 1024;

enum class NameProblem
{
	kNone,
	kEmpty,
	kTooLong,
};

/* Why utf8_name cannot name a lock, or kNone; inline, since every lock call asks. */
inline NameProblem
CheckName(std::string_view utf8_name) noexcept
{
	if (utf8_name.empty())
		return NameProblem::kEmpty;
	if (utf8_name.size() > kMaxNameBytes)
		return NameProblem::kTooLong;
	return NameProblem::kNone;
}

/*
 * What the digest of a name's UTF-8 bytes gives: its advisory key, and the
 * next 8 bytes read the same way, the fingerprint by which the shared name
 * directory tells two names of one key apart.
 */
struct NameHash
{
	std::int64_t key;
	std::uint64_t fingerprint;
};

NameHash	HashName(std::string_view utf8_name) noexcept;

/* The advisory key of a name given as UTF-8 bytes. */
inline std::int64_t
NameKey(std::string_view utf8_name) noexcept
{
	return HashName(utf8_name).key;
}

} // namespace advlock_named
