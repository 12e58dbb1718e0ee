//
// LogBudgetTest.cpp
//
// At most five lines per window (or the limit given), and the count of the
// rest on the next window's first line; ticks given explicitly.
//

#include "server/session/LogBudget.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::session::LogBudget;

class LogBudgetTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(LogBudgetTest);
	CPPUNIT_TEST(testFiveLinesThenSilence);
	CPPUNIT_TEST(testNextWindowSaysHowManyWereLeftOut);
	CPPUNIT_TEST(testQuietSessionStartsAFreshWindow);
	CPPUNIT_TEST(testTickWrapAround);
	CPPUNIT_TEST(testOtherLimit);
	CPPUNIT_TEST_SUITE_END();

public:
	void testFiveLinesThenSilence()
	{
		LogBudget budget;
		for (int i = 1; i <= 5; ++i)
		{
			LogBudget::Decision d = budget.admit(100);
			CPPUNIT_ASSERT(d.log);
			CPPUNIT_ASSERT_EQUAL(i == 5, d.last);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), d.omitted);
		}
		for (int i = 0; i < 10; ++i) CPPUNIT_ASSERT(!budget.admit(100 + 599).log);
	}

	void testNextWindowSaysHowManyWereLeftOut()
	{
		LogBudget budget;
		for (int i = 0; i < 12; ++i) budget.admit(1000);
		LogBudget::Decision d = budget.admit(1600);
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(7), d.omitted);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), budget.admit(1601).omitted);
	}

	void testQuietSessionStartsAFreshWindow()
	{
		LogBudget budget;
		for (int i = 0; i < 3; ++i) budget.admit(0);
		LogBudget::Decision d = budget.admit(5000);
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT(!d.last);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), d.omitted);
	}

	void testTickWrapAround()
	{
		// Loop ticks are 32-bit and wrap (after about 13 years of 100 ms).
		LogBudget budget;
		for (int i = 0; i < 6; ++i) budget.admit(0xFFFFFF00u);
		CPPUNIT_ASSERT(!budget.admit(0xFFFFFF00u + 599).log);
		LogBudget::Decision d = budget.admit(0xFFFFFF00u + 600); // wrapped past 0
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(2), d.omitted);
	}

	void testOtherLimit()
	{
		LogBudget budget;
		for (int i = 1; i <= 60; ++i)
		{
			LogBudget::Decision d = budget.admit(7, 60);
			CPPUNIT_ASSERT(d.log);
			CPPUNIT_ASSERT_EQUAL(i == 60, d.last);
		}
		CPPUNIT_ASSERT(!budget.admit(7, 60).log);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1), budget.admit(607, 60).omitted);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(LogBudgetTest);
