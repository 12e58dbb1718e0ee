//
// Clock.cpp
//
// Plugin: ratelimit
//

#include "plugins/ratelimit/Clock.h"
#include "Poco/Clock.h"

namespace imgate {
namespace ratelimit {

namespace {

class MonotonicClock: public Clock
{
public:
	Poco::Int64 microseconds() const override
	{
		return Poco::Clock().microseconds();
	}
};

} // namespace


Clock::~Clock()
{
}


const Clock& Clock::monotonic()
{
	static const MonotonicClock clock;
	return clock;
}

} } // namespace imgate::ratelimit
