/*-------------------------------------------------------------------------
 *
 * sha256.hpp
 *	  SHA-256 (FIPS 180-4) over a byte string, without allocation.
 *
 * Pure C++: no PostgreSQL header may be included here, and nothing here
 * throws, so the glue layer can call it while backend state is live.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace advlock_named {

using Sha256Digest = std::array<std::uint8_t, 32>;

/* The digest's first 16 bytes as two words read big-endian, without forming the rest. */
struct Sha256Head
{
	std::uint64_t first;
	std::uint64_t second;
};
Sha256Head	Sha256First128(std::string_view bytes) noexcept;

/* The implementations of the compression function, for tests and benchmarks. */
enum class Sha256Engine
{
	kPortable,
	kShaNi,						/* x86-64 SHA extensions */
};

/* The fastest engine this CPU runs; Sha256First128 uses it. */
Sha256Engine BestSha256Engine() noexcept;

/* The digest computed with a given engine, which this CPU must support. */
Sha256Digest Sha256With(Sha256Engine engine, std::string_view bytes) noexcept;

} // namespace advlock_named
