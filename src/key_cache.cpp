/*-------------------------------------------------------------------------
 *
 * key_cache.cpp
 *	  A memo of the last derived name key.
 *
 *-------------------------------------------------------------------------
 */
#include "key_cache.hpp"

#include <cstring>

#include "name_key.hpp"

namespace advlock_named {

std::int64_t
KeyCache::Key(std::string_view utf8_name) noexcept
{
	if (utf8_name.size() == length_ && std::memcmp(name_, utf8_name.data(), length_) == 0)
		return key_;

	std::int64_t key = NameKey(utf8_name);

	if (utf8_name.size() <= kMaxCachedBytes)
	{
		key_ = key;
		length_ = utf8_name.size();
		std::memcpy(name_, utf8_name.data(), length_);
	}
	return key;
}

} // namespace advlock_named
