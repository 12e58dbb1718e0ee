//
// BackoffTest.cpp
//
// The client's reconnect delays: doubling from the first, jittered down by
// at most a half, capped, and back to the first after reset().
//

#include "clients/cpp/src/Backoff.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::client::Backoff;

class BackoffTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BackoffTest);
	CPPUNIT_TEST(testDoublesWithJitterUpToTheCap);
	CPPUNIT_TEST(testResetStartsAgain);
	CPPUNIT_TEST_SUITE_END();

public:
	void testDoublesWithJitterUpToTheCap()
	{
		Backoff backoff(Poco::Timespan(0, 500000), Poco::Timespan(30, 0));
		Poco::Timespan::TimeDiff base = 500000;
		for (int i = 0; i < 12; ++i)
		{
			const Poco::Timespan::TimeDiff d = backoff.next().totalMicroseconds();
			const Poco::Timespan::TimeDiff full = base < 30000000 ? base : 30000000;
			CPPUNIT_ASSERT_MESSAGE("attempt " + std::to_string(i) + ": " + std::to_string(d), d <= full && d >= full / 2);
			base *= 2;
		}
		CPPUNIT_ASSERT_EQUAL(12u, backoff.attempts());
	}

	void testResetStartsAgain()
	{
		Backoff backoff(Poco::Timespan(0, 100000), Poco::Timespan(10, 0));
		for (int i = 0; i < 5; ++i) backoff.next();
		CPPUNIT_ASSERT(backoff.next().totalMicroseconds() >= 1600000);
		backoff.reset();
		CPPUNIT_ASSERT(backoff.next().totalMicroseconds() <= 100000);
		CPPUNIT_ASSERT_EQUAL(1u, backoff.attempts());
	}
};


CPPUNIT_TEST_SUITE_REGISTRATION(BackoffTest);
