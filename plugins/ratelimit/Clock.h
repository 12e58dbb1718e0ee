//
// Clock.h
//
// Plugin: ratelimit
// The time the buckets refill by: the monotonic clock in the plugin, a
// clock the test moves in unit tests.
//

#ifndef imgate_ratelimit_Clock_INCLUDED
#define imgate_ratelimit_Clock_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace ratelimit {

class Clock
	/// Monotonic microseconds since an arbitrary start (the time TokenBucket
	/// and RateTable take). Read from any thread, concurrently.
{
public:
	virtual ~Clock();

	virtual Poco::Int64 microseconds() const = 0;
		/// Never decreases.

	static const Clock& monotonic();
		/// The process's monotonic clock (Poco::Clock): a step of the
		/// system clock neither refills nor drains a bucket.
};

} } // namespace imgate::ratelimit

#endif // imgate_ratelimit_Clock_INCLUDED
