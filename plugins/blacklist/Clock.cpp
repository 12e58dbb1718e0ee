//
// Clock.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/Clock.h"
#include "Poco/Clock.h"

namespace imgate {
namespace blacklist {

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

} } // namespace imgate::blacklist
