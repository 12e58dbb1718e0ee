//
// UidTest.cpp
//

#include "server/protocol/Uid.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::protocol::isValidUid;

class UidTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(UidTest);
	CPPUNIT_TEST(testValid);
	CPPUNIT_TEST(testInvalid);
	CPPUNIT_TEST_SUITE_END();

public:
	void testValid()
	{
		CPPUNIT_ASSERT(isValidUid("a"));
		CPPUNIT_ASSERT(isValidUid("alice@example.com"));
		CPPUNIT_ASSERT(isValidUid("A-Z_a.z-09"));
		CPPUNIT_ASSERT(isValidUid(std::string(64, 'x')));
	}

	void testInvalid()
	{
		CPPUNIT_ASSERT(!isValidUid(""));
		CPPUNIT_ASSERT(!isValidUid(std::string(65, 'x')));
		CPPUNIT_ASSERT(!isValidUid("has space"));
		CPPUNIT_ASSERT(!isValidUid("slash/"));
		CPPUNIT_ASSERT(!isValidUid(std::string("nul\0", 4)));
		CPPUNIT_ASSERT(!isValidUid("\xc3\xa9t\xc3\xa9")); // UTF-8 is outside the set
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(UidTest);
