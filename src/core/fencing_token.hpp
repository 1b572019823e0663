/*-------------------------------------------------------------------------
 *
 * fencing_token.hpp
 *	  Fencing tokens: every grant of a lease or of semaphore permits gets a
 *	  number larger than any the server gave before, also before a restart
 *	  (a crash included) and before the promotion of a standby.
 *
 * A token packs three numbers into a positive int8, most significant first:
 *
 *	  timeline (14 bits)  the WAL timeline: a promoted standby's is higher
 *	  epoch    (22 bits)  bumped, and made durable in a file, before the
 *	                      first token after every start of the shared state
 *	  counter  (27 bits)  within the epoch; an epoch that runs out moves on
 *	                      to the next one, which is made durable beforehand
 *
 * The counter and the epochs made durable live with the lease table, under
 * its lock; the glue reads and writes the file, outside that lock, and
 * supplies the timeline.
 *
 * Pure C++: no PostgreSQL header may be included here, nothing throws.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstdint>

namespace advlock_named {

constexpr int kTokenCounterBits = 27;
constexpr int kTokenEpochBits = 22;
constexpr int kTokenTimelineBits = 14;

static_assert(kTokenCounterBits + kTokenEpochBits + kTokenTimelineBits == 63, "a positive int8");

constexpr std::uint64_t kMaxTokenTimeline = (std::uint64_t{1} << kTokenTimelineBits) - 1;
constexpr std::uint64_t kMaxTokenEpoch = (std::uint64_t{1} << kTokenEpochBits) - 1;
constexpr std::uint64_t kTokenCounterMask = (std::uint64_t{1} << kTokenCounterBits) - 1;

struct TokenParts
{
	std::uint64_t timeline;
	std::uint64_t epoch;
	std::uint64_t counter;
};

constexpr std::int64_t
PackToken(TokenParts parts) noexcept
{
	return static_cast<std::int64_t>(parts.timeline << (kTokenCounterBits + kTokenEpochBits) |
									 parts.epoch << kTokenCounterBits | parts.counter);
}

constexpr TokenParts
UnpackToken(std::int64_t token) noexcept
{
	std::uint64_t bits = static_cast<std::uint64_t>(token);

	return TokenParts{bits >> (kTokenCounterBits + kTokenEpochBits),
					  bits >> kTokenCounterBits & kMaxTokenEpoch, bits & kTokenCounterMask};
}

/*
 * The next token of an epoch, and the epochs made durable.  Plain data in
 * shared memory: the caller holds the lock that guards it.
 */
class TokenCounter
{
public:
	enum class Draw
	{
		kDrawn,
		kNeedsEpoch,			/* make one durable first (EpochToReserve, Reserved) */
		kTimelineTooHigh,
		kExhausted,				/* every epoch used: tokens cannot grow any more */
	};

	void		Reset() noexcept { next_ = 0; reserved_epoch_ = 0; }

	/* The next token on timeline, unless an epoch must be made durable first. */
	Draw		Next(std::uint64_t timeline, std::int64_t *token) noexcept;

	/*
	 * Whether an epoch should be made durable now: none is yet, or the
	 * current one is half used and the next is not, so that it is ready
	 * long before the counter runs out.
	 */
	bool		WantsEpoch() const noexcept;

	/* The epoch to make durable, given the one the file has. */
	std::uint64_t EpochToReserve(std::uint64_t file_epoch) const noexcept;

	/* epoch is durable now. */
	void		Reserved(std::uint64_t epoch) noexcept;

private:
	std::uint64_t next_ = 0;	/* epoch << counter bits | counter; 0: none drawn yet */
	std::uint64_t reserved_epoch_ = 0;	/* the highest durable epoch; 0: none */
};

} // namespace advlock_named
