//
// SeenIdsTest.cpp
//
// The ids of the last deliveries handed to the application: a repeat is
// found, the oldest are forgotten beyond the capacity.
//

#include "clients/cpp/src/SeenIds.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::client::SeenIds;

class SeenIdsTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(SeenIdsTest);
	CPPUNIT_TEST(testRemembersTheLastOnes);
	CPPUNIT_TEST_SUITE_END();

public:
	void testRemembersTheLastOnes()
	{
		SeenIds seen(3);
		CPPUNIT_ASSERT(!seen.contains(1));
		seen.add(1);
		seen.add(2);
		seen.add(2); // once
		seen.add(3);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), seen.size());
		CPPUNIT_ASSERT(seen.contains(1) && seen.contains(2) && seen.contains(3));
		seen.add(4);
		CPPUNIT_ASSERT(!seen.contains(1));
		CPPUNIT_ASSERT(seen.contains(2) && seen.contains(4));
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), seen.size());
	}
};


CPPUNIT_TEST_SUITE_REGISTRATION(SeenIdsTest);
