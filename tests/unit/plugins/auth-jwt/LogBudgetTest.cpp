//
// LogBudgetTest.cpp
//
// The auth-jwt plugin's budget of refused-login lines: at most the limit a
// minute, across threads, and the count of the rest on the next window's
// first line; times given explicitly.
//

#include "plugins/auth-jwt/LogBudget.h"
#include <cppunit/extensions/HelperMacros.h>
#include <atomic>
#include <thread>
#include <vector>

using imgate::authjwt::LogBudget;

namespace {

const Poco::Int64 SECOND = 1000000;

} // namespace


class JwtLogBudgetTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(JwtLogBudgetTest);
	CPPUNIT_TEST(testLimitThenSilence);
	CPPUNIT_TEST(testNextWindowSaysHowManyWereLeftOut);
	CPPUNIT_TEST(testQuietTimeStartsAFreshWindow);
	CPPUNIT_TEST(testCountsAcrossThreads);
	CPPUNIT_TEST_SUITE_END();

public:
	void testLimitThenSilence()
	{
		LogBudget budget(3);
		const Poco::Int64 start = 5000 * SECOND;
		for (int i = 1; i <= 3; ++i)
		{
			LogBudget::Decision d = budget.admit(start + i);
			CPPUNIT_ASSERT(d.log);
			CPPUNIT_ASSERT_EQUAL(i == 3, d.last);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0), d.omitted);
		}
		for (int i = 0; i < 10; ++i) CPPUNIT_ASSERT(!budget.admit(start + 60 * SECOND - 1).log);
	}

	void testNextWindowSaysHowManyWereLeftOut()
	{
		LogBudget budget(3);
		for (int i = 0; i < 12; ++i) budget.admit(10 * SECOND);
		LogBudget::Decision d = budget.admit(70 * SECOND);
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(9), d.omitted);
		// Said once.
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0), budget.admit(70 * SECOND).omitted);
	}

	void testQuietTimeStartsAFreshWindow()
	{
		// Nothing left out: nothing to say, and a fresh window of the limit.
		LogBudget budget(2);
		budget.admit(SECOND);
		LogBudget::Decision d = budget.admit(3600 * SECOND);
		CPPUNIT_ASSERT(d.log && !d.last);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0), d.omitted);
		CPPUNIT_ASSERT(budget.admit(3600 * SECOND).last);
		CPPUNIT_ASSERT(!budget.admit(3600 * SECOND).log);
	}

	void testCountsAcrossThreads()
	{
		// Four threads asking at once get exactly the limit between them.
		LogBudget budget(60);
		std::atomic<int> logged(0), last(0);
		std::vector<std::thread> threads;
		auto ask = [&]()
		{
			for (int i = 0; i < 1000; ++i)
			{
				LogBudget::Decision d = budget.admit(SECOND);
				if (d.log) ++logged;
				if (d.last) ++last;
			}
		};
		for (int i = 0; i < 4; ++i) threads.emplace_back(ask);
		for (std::thread& thread: threads) thread.join();
		CPPUNIT_ASSERT_EQUAL(60, logged.load());
		CPPUNIT_ASSERT_EQUAL(1, last.load());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(3940), budget.admit(61 * SECOND).omitted);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(JwtLogBudgetTest);
