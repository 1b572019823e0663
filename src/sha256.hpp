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

/* The digest of bytes; the whole message is hashed in one pass. */
Sha256Digest Sha256(std::string_view bytes) noexcept;

} // namespace advlock_named
