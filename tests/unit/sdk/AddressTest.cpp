//
// AddressTest.cpp
//
// imgate::addressBlock (imgate/Address.h): what the ratelimit plugin counts
// and the blacklist bans per.
//

#include "imgate/Address.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::addressBlock;

class AddressTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AddressTest);
	CPPUNIT_TEST(testBlocks);
	CPPUNIT_TEST_SUITE_END();

public:
	void testBlocks()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.7"), addressBlock("203.0.113.7"));
		CPPUNIT_ASSERT_EQUAL(std::string("2001:db8:1:2::/64"), addressBlock("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
		CPPUNIT_ASSERT_EQUAL(addressBlock("2001:db8:1:2::1"), addressBlock("2001:db8:1:2:ffff::9"));
		CPPUNIT_ASSERT(addressBlock("2001:db8:1:2::1") != addressBlock("2001:db8:1:3::1"));
		CPPUNIT_ASSERT_EQUAL(std::string("::/64"), addressBlock("::1"));
		CPPUNIT_ASSERT_EQUAL(std::string("fe80::/64"), addressBlock("fe80::1%eth0"));
		CPPUNIT_ASSERT_EQUAL(std::string("198.51.100.9"), addressBlock("::ffff:198.51.100.9"));
		CPPUNIT_ASSERT_EQUAL(std::string("not an address"), addressBlock("not an address"));
		CPPUNIT_ASSERT_EQUAL(std::string(""), addressBlock(""));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(AddressTest);
