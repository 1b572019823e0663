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

NameHash
HashName(std::string_view utf8_name) noexcept
{
	Sha256Head	head = Sha256First128(utf8_name);

	/* Two's complement reinterpretation, as SQL's bit(64)::bigint does. */
	return NameHash{static_cast<std::int64_t>(head.first), head.second};
}

} // namespace advlock_named
