/*-------------------------------------------------------------------------
 *
 * name_key.cpp
 *	  Lock name validation and key derivation.
 *
 *-------------------------------------------------------------------------
 */
#include "name_key.hpp"

#include "sha256.hpp"

namespace advlock_named {

std::int64_t
NameKey(std::string_view utf8_name) noexcept
{
	/* Two's complement reinterpretation, as SQL's bit(64)::bigint does. */
	return static_cast<std::int64_t>(Sha256First64(utf8_name));
}

} // namespace advlock_named
