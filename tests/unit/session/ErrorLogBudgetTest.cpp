//
// ErrorLogBudgetTest.cpp
//
// At most five error lines per session and minute, and the count of the
// rest on the next window's first line; ticks given explicitly.
//

#include "server/session/ErrorLogBudget.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::session::ErrorLogBudget;

class ErrorLogBudgetTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ErrorLogBudgetTest);
	CPPUNIT_TEST(testFiveLinesThenSilence);
	CPPUNIT_TEST(testNextWindowSaysHowManyWereLeftOut);
	CPPUNIT_TEST(testQuietSessionStartsAFreshWindow);
	CPPUNIT_TEST(testTickWrapAround);
	CPPUNIT_TEST_SUITE_END();

public:
	void testFiveLinesThenSilence()
	{
		ErrorLogBudget budget;
		for (int i = 1; i <= 5; ++i)
		{
			ErrorLogBudget::Decision d = budget.admit(100);
			CPPUNIT_ASSERT(d.log);
			CPPUNIT_ASSERT_EQUAL(i == 5, d.last);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), d.omitted);
		}
		for (int i = 0; i < 10; ++i) CPPUNIT_ASSERT(!budget.admit(100 + 599).log);
	}

	void testNextWindowSaysHowManyWereLeftOut()
	{
		ErrorLogBudget budget;
		for (int i = 0; i < 12; ++i) budget.admit(1000);
		ErrorLogBudget::Decision d = budget.admit(1600);
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(7), d.omitted);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), budget.admit(1601).omitted);
	}

	void testQuietSessionStartsAFreshWindow()
	{
		ErrorLogBudget budget;
		for (int i = 0; i < 3; ++i) budget.admit(0);
		ErrorLogBudget::Decision d = budget.admit(5000);
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT(!d.last);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), d.omitted);
	}

	void testTickWrapAround()
	{
		// Loop ticks are 32-bit and wrap (after about 13 years of 100 ms).
		ErrorLogBudget budget;
		for (int i = 0; i < 6; ++i) budget.admit(0xFFFFFF00u);
		CPPUNIT_ASSERT(!budget.admit(0xFFFFFF00u + 599).log);
		ErrorLogBudget::Decision d = budget.admit(0xFFFFFF00u + 600); // wrapped past 0
		CPPUNIT_ASSERT(d.log);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(2), d.omitted);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(ErrorLogBudgetTest);
