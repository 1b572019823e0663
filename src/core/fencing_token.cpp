/*-------------------------------------------------------------------------
 *
 * fencing_token.cpp
 *	  Drawing fencing tokens; see fencing_token.hpp.
 *
 *-------------------------------------------------------------------------
 */
#include "fencing_token.hpp"

#include <algorithm>

namespace advlock_named {

TokenCounter::Draw
TokenCounter::Next(std::uint64_t timeline, std::int64_t *token) noexcept
{
	std::uint64_t epoch = next_ >> kTokenCounterBits;
	bool		durable = next_ != 0 && epoch <= reserved_epoch_;

	if (timeline > kMaxTokenTimeline)
		return Draw::kTimelineTooHigh;
	if (!durable)
		return epoch > kMaxTokenEpoch ? Draw::kExhausted : Draw::kNeedsEpoch;
	*token = PackToken(TokenParts{timeline, epoch, next_ & kTokenCounterMask});
	/* a counter that runs out carries into the next epoch, durable by then */
	next_++;
	return Draw::kDrawn;
}

bool
TokenCounter::WantsEpoch() const noexcept
{
	std::uint64_t epoch = next_ >> kTokenCounterBits;

	if (next_ == 0 || epoch > reserved_epoch_)
		return true;
	return epoch == reserved_epoch_ && (next_ & kTokenCounterMask) > kTokenCounterMask / 2;
}

std::uint64_t
TokenCounter::EpochToReserve(std::uint64_t file_epoch) const noexcept
{
	return std::max(file_epoch, reserved_epoch_) + 1;
}

void
TokenCounter::Reserved(std::uint64_t epoch) noexcept
{
	if (epoch <= reserved_epoch_)
		return;
	reserved_epoch_ = epoch;
	/* the first epoch of this start: every token of it is above the file's */
	if (next_ == 0)
		next_ = epoch << kTokenCounterBits;
}

} // namespace advlock_named
