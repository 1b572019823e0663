/*-------------------------------------------------------------------------
 *
 * hold_tally.hpp
 *	  A tally of holds by (key, mode): how many a statement in progress has
 *	  taken and not given back.
 *
 * The statement's own holds are few (a lock call, a set, a loop over a
 * cursor), and an unlock nearly always names a lock taken last, so the
 * tally is a short array searched from its end, and a hold given back
 * leaves no empty entry behind: the array holds only what is still held.
 *
 * Room is reserved before a lock is requested, so that recording a grant
 * never needs memory: after the grant, nothing may fail.
 *
 * Pure C++: no PostgreSQL header may be included here, nothing throws, and
 * all memory comes from the allocator the tally is given.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "name_table.hpp"

namespace advlock_named {

class HoldTally
{
public:
	struct Hold
	{
		std::int64_t key;
		std::int64_t count;
		LockMode	mode;
	};

	explicit HoldTally(Allocator allocator) noexcept : allocator_(allocator) {}
	HoldTally(const HoldTally &) = delete;
	HoldTally &operator=(const HoldTally &) = delete;
	~HoldTally();

	/* Room for more distinct holds than are tallied now; false when memory runs out. */
	bool		Reserve(std::size_t more) noexcept;

	/* One more hold of (key, mode); needs room reserved for a new pair. */
	void		Add(std::int64_t key, LockMode mode) noexcept;

	/* One hold fewer of (key, mode); false when none is tallied. */
	bool		Remove(std::int64_t key, LockMode mode) noexcept;

	void		Clear() noexcept { size_ = 0; }

	bool		Empty() const noexcept { return size_ == 0; }
	const Hold *begin() const noexcept { return holds_; }
	const Hold *end() const noexcept { return holds_ + size_; }

private:
	Hold	   *FindPair(std::int64_t key, LockMode mode) noexcept;

	Allocator	allocator_;
	Hold	   *holds_ = nullptr;
	std::size_t size_ = 0;
	std::size_t capacity_ = 0;
};

} // namespace advlock_named
