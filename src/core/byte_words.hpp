/*-------------------------------------------------------------------------
 *
 * byte_words.hpp
 *	  Short byte strings read as machine words, never past their end.
 *
 * Fixed-size loads, overlapping where a length is not a power of two,
 * instead of a variable-length copy or memcmp: a copy to the stack read
 * back as words stalls the load for the store, and memcmp's vector loads
 * reach into the next cache line.  Pure C++.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace advlock_named {

/* Bytes in little-endian order, whatever the machine's, so padding is zero bits on top. */
template<typename Word>
inline Word
LoadLittle(const char *bytes) noexcept
{
	Word		word;

	std::memcpy(&word, bytes, sizeof(word));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	word = sizeof(word) == 8 ? __builtin_bswap64(word) : __builtin_bswap32(word);
#endif
	return word;
}

/* The first length (at most 8) bytes as a zero-padded word. */
inline std::uint64_t
LoadWord(const char *bytes, std::size_t length) noexcept
{
	if (length >= 8)
		return LoadLittle<std::uint64_t>(bytes);
	if (length >= 4)
		return LoadLittle<std::uint32_t>(bytes) |
			static_cast<std::uint64_t>(LoadLittle<std::uint32_t>(bytes + length - 4)) << (8 * (length - 4));
	if (length == 0)
		return 0;
	return static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[0])) |
		static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[length / 2])) << (8 * (length / 2)) |
		static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[length - 1])) << (8 * (length - 1));
}

/*
 * A 64-bit hash of a byte string for a backend's own tables, a multiply per
 * word.  Only its top bits have seen every byte, so a table indexes by those.
 * Not stable across versions, and no defence against chosen collisions:
 * never stored, never shown.
 */
inline std::uint64_t
HashBytes(const char *bytes, std::size_t length) noexcept
{
	std::uint64_t h = length * 0x9E3779B97F4A7C15ULL;

	for (; length > 8; bytes += 8, length -= 8)
	{
		h = (h ^ LoadLittle<std::uint64_t>(bytes)) * 0xC2B2AE3D27D4EB4FULL;
		h ^= h >> 29;
	}
	return (h ^ LoadWord(bytes, length)) * 0x165667B19E3779F9ULL;
}

/* Whether the first length bytes of a and b are equal. */
inline bool
EqualBytes(const char *a, const char *b, std::size_t length) noexcept
{
	if (length > 16)
		return std::memcmp(a, b, length) == 0;
	if (length > 8)
		return LoadWord(a, 8) == LoadWord(b, 8) &&
			LoadWord(a + length - 8, 8) == LoadWord(b + length - 8, 8);
	return LoadWord(a, length) == LoadWord(b, length);
}

} // namespace advlock_named
