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

NameProblem
CheckName(std::string_view utf8_name) noexcept
{
	if (utf8_name.empty())
		return NameProblem::kEmpty;
	if (utf8_name.size() > kMaxNameBytes)
		return NameProblem::kTooLong;
	return NameProblem::kNone;
}

std::int64_t
NameKey(std::string_view utf8_name) noexcept
{
	/* Two's complement reinterpretation, as SQL's bit(64)::bigint does. */
	return static_cast<std::int64_t>(Sha256First64(utf8_name));
}

} // namespace advlock_named
