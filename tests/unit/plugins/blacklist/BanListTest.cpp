//
// BanListTest.cpp
//

#include "plugins/blacklist/BanList.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::blacklist::BanList;

class BanListTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BanListTest);
	CPPUNIT_TEST(testEntriesAndComments);
	CPPUNIT_TEST(testBadLinesAreReportedAndSkipped);
	CPPUNIT_TEST_SUITE_END();

public:
	void testEntriesAndComments()
	{
		std::vector<std::string> errors;
		BanList list = BanList::parse("# bans\n\nip 203.0.113.7\n  ip 10.0.0.0/8   # the lab\nuid mallory\n", "bans.txt", errors);
		CPPUNIT_ASSERT(errors.empty());
		CPPUNIT_ASSERT(list.bansAddress("203.0.113.7"));
		CPPUNIT_ASSERT(list.bansAddress("10.20.30.40"));
		CPPUNIT_ASSERT(!list.bansAddress("192.0.2.1"));
		CPPUNIT_ASSERT(list.bansUid("mallory"));
		CPPUNIT_ASSERT(!list.bansUid("alice"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), list.addressCount());
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), list.uidCount());
	}

	void testBadLinesAreReportedAndSkipped()
	{
		std::vector<std::string> errors;
		BanList list = BanList::parse("ip 1.2.3.4\nhost evil.example\nip 999.0.0.1\nuid bad uid\nuid\nuid ok_uid\nip 10.0.0.0/40\nip 10.0.0.1/8\n",
			"/etc/imgate/blacklist.txt", errors);
		CPPUNIT_ASSERT_EQUAL(std::size_t(6), errors.size());
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:2: unknown entry type \"host\" (expected ip or uid)"), errors[0]);
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:3: expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got \"999.0.0.1\""), errors[1]);
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:4: expected \"ip ADDRESS[/PREFIX]\" or \"uid UID\""), errors[2]);
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:5: expected \"ip ADDRESS[/PREFIX]\" or \"uid UID\""), errors[3]);
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:7: the prefix length of 10.0.0.0/40 must be 0 to 32"), errors[4]);
		// Host bits: the same rule and words as the admin API's.
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:8: 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"), errors[5]);
		// The good lines are in force, the bad ones ban nothing.
		CPPUNIT_ASSERT(list.bansAddress("1.2.3.4"));
		CPPUNIT_ASSERT(list.bansUid("ok_uid"));
		CPPUNIT_ASSERT(!list.bansAddress("10.0.0.1"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), list.addressCount());
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(BanListTest);
