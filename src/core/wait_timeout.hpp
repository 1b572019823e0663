/*-------------------------------------------------------------------------
 *
 * wait_timeout.hpp
 *	  How a lock timeout argument becomes the milliseconds a wait is given.
 *
 * Pure C++: no PostgreSQL header may be included here.
 *
 *-------------------------------------------------------------------------
 */
#pragma once

#include <cmath>

namespace advlock_named {

/*
 * A timeout of microseconds in whole milliseconds, the lock manager's unit,
 * rounded up: a positive timeout, however short, must still wait rather than
 * become "try once".
 */
inline double
WholeMilliseconds(double microseconds) noexcept
{
	return std::ceil(microseconds / 1000.0);
}

} // namespace advlock_named
