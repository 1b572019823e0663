/*-------------------------------------------------------------------------
 *
 * hold_tally.cpp
 *	  A tally of holds by (key, mode); see hold_tally.hpp.
 *
 *-------------------------------------------------------------------------
 */
#include "hold_tally.hpp"

#include <cstring>

namespace advlock_named {

HoldTally::~HoldTally()
{
	if (holds_ != nullptr)
		allocator_.release(holds_);
}

bool
HoldTally::Reserve(std::size_t more) noexcept
{
	std::size_t capacity = capacity_ == 0 ? 8 : capacity_;
	Hold	   *holds;

	if (size_ + more <= capacity_)
		return true;
	while (capacity < size_ + more)
		capacity *= 2;
	holds = static_cast<Hold *>(allocator_.allocate(capacity * sizeof(Hold)));
	if (holds == nullptr)
		return false;
	if (size_ > 0)
		std::memcpy(holds, holds_, size_ * sizeof(Hold));
	if (holds_ != nullptr)
		allocator_.release(holds_);
	holds_ = holds;
	capacity_ = capacity;
	return true;
}

HoldTally::Hold *
HoldTally::FindPair(std::int64_t key, LockMode mode) noexcept
{
	for (std::size_t i = size_; i > 0; i--)
		if (holds_[i - 1].key == key && holds_[i - 1].mode == mode)
			return &holds_[i - 1];
	return nullptr;
}

void
HoldTally::Add(std::int64_t key, LockMode mode) noexcept
{
	Hold	   *hold = FindPair(key, mode);

	if (hold != nullptr)
		hold->count++;
	else
		holds_[size_++] = Hold{key, 1, mode};
}

bool
HoldTally::Remove(std::int64_t key, LockMode mode) noexcept
{
	Hold	   *hold = FindPair(key, mode);

	if (hold == nullptr)
		return false;
	if (--hold->count == 0)
		*hold = holds_[--size_];
	return true;
}

} // namespace advlock_named
