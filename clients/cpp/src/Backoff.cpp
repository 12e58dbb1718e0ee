//
// Backoff.cpp
//

#include "clients/cpp/src/Backoff.h"

namespace imgate {
namespace client {

Backoff::Backoff(Poco::Timespan initial, Poco::Timespan max):
	_initial(initial > 0 ? initial : Poco::Timespan(0, 1000)),
	_max(max > _initial ? max : _initial),
	_random(std::random_device()())
{
}


Poco::Timespan Backoff::next()
{
	Poco::Timespan::TimeDiff delay = _initial.totalMicroseconds();
	for (unsigned i = 0; i < _attempts && delay < _max.totalMicroseconds(); ++i) delay *= 2;
	if (delay > _max.totalMicroseconds()) delay = _max.totalMicroseconds();
	++_attempts;
	std::uniform_real_distribution<double> jitter(0.0, 0.5);
	return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(static_cast<double>(delay) * (1.0 - jitter(_random))));
}


void Backoff::reset()
{
	_attempts = 0;
}

} } // namespace imgate::client
