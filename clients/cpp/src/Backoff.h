//
// Backoff.h
//
// imgate C++ client: the delay before the next connection attempt,
// exponential with jitter, as the JavaScript client has it.
//

#ifndef imgate_client_Backoff_INCLUDED
#define imgate_client_Backoff_INCLUDED

#include "Poco/Timespan.h"
#include <random>

namespace imgate {
namespace client {

class Backoff
	/// The n-th attempt in a row waits min(max, initial * 2^n) * (1 - 0.5 * r)
	/// with r uniform in [0, 1): with initial 0.5 s and max 30 s, 0.25-0.5 s,
	/// 0.5-1 s, 1-2 s, ..., 15-30 s. Not thread-safe.
{
public:
	Backoff(Poco::Timespan initial, Poco::Timespan max);

	Poco::Timespan next();
		/// The delay before the next attempt; counts the attempt.

	void reset();
		/// After a success: the next delay is the first again.

	unsigned attempts() const;
		/// Delays handed out since the last reset().

private:
	Poco::Timespan _initial;
	Poco::Timespan _max;
	unsigned _attempts = 0;
	std::minstd_rand _random;
};


inline unsigned Backoff::attempts() const
{
	return _attempts;
}

} } // namespace imgate::client

#endif // imgate_client_Backoff_INCLUDED
