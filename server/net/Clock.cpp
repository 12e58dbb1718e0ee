//
// Clock.cpp
//
// Layer: net
//

#include "server/net/Clock.h"
#include "Poco/Clock.h"

namespace imgate {
namespace net {

namespace {

class MonotonicClock: public Clock
{
public:
	Poco::Int64 milliseconds() const override
	{
		return Poco::Clock().raw() / 1000;
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

} } // namespace imgate::net
