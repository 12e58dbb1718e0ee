//
// ManualClock.h
//
// A net::Clock that only the test moves: timers become due when the test
// says so, not after a real wait.
//

#ifndef imgate_test_ManualClock_INCLUDED
#define imgate_test_ManualClock_INCLUDED

#include "server/net/Clock.h"
#include <atomic>

namespace imgate {
namespace test {

class ManualClock: public net::Clock
	/// Starts at 0; advance() from any thread.
{
public:
	Poco::Int64 milliseconds() const override
	{
		return _ms.load();
	}

	void advance(Poco::Int64 ms)
	{
		_ms.fetch_add(ms);
	}

private:
	std::atomic<Poco::Int64> _ms{0};
};

} } // namespace imgate::test

#endif // imgate_test_ManualClock_INCLUDED
