//
// Wait.h
//
// Polling with a deadline: tests wait for a condition, never for a fixed time.
//

#ifndef imgate_test_Wait_INCLUDED
#define imgate_test_Wait_INCLUDED

#include "Poco/Thread.h"
#include "Poco/Timestamp.h"

namespace imgate {
namespace test {

template <class Condition>
bool waitUntil(Condition&& condition, long timeoutMs = 5000, long stepMs = 10)
	/// Polls condition until it holds (true) or timeoutMs passes (false).
{
	Poco::Timestamp start;
	while (!condition())
	{
		if (start.isElapsed(timeoutMs * 1000)) return false;
		Poco::Thread::sleep(stepMs);
	}
	return true;
}

} } // namespace imgate::test

#endif // imgate_test_Wait_INCLUDED
