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
	CPPUNIT_TEST(testWholeInternetIsWarnedAndInForce);
	CPPUNIT_TEST(testByteOrderMarkIsSkipped);
	CPPUNIT_TEST(testInvisibleBytesAreShown);
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

	void testWholeInternetIsWarnedAndInForce()
	{
		// Every address of a family is most likely a slip (a /0 for a /32):
		// used as written, but said aloud, with the file and line.
		std::vector<std::string> errors, warnings;
		BanList list = BanList::parse("ip 0.0.0.0/0\nip 0.0.0.0/1\nip ::/0\nip ::ffff:0:0/96\nip ::/1\nip 2001:db8::/32\n",
			"/etc/imgate/blacklist.txt", errors, warnings);
		CPPUNIT_ASSERT(errors.empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), warnings.size());
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:1: 0.0.0.0/0 bans every IPv4 address"), warnings[0]);
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:3: ::/0 bans every IPv6 address"), warnings[1]);
		// The IPv4-mapped block of every mapped address is every IPv4 address.
		CPPUNIT_ASSERT_EQUAL(std::string("/etc/imgate/blacklist.txt:4: ::ffff:0:0/96 bans every IPv4 address"), warnings[2]);
		CPPUNIT_ASSERT(list.bansAddress("203.0.113.7"));
		CPPUNIT_ASSERT(list.bansAddress("2001:db9::1"));
		// 0.0.0.0/0 and ::ffff:0:0/96 are one block.
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), list.addressCount());

		// An allow list says what it does.
		errors.clear();
		warnings.clear();
		BanList allow = BanList::parse("ip ::/0\nip 10.0.0.0/8\n", "allow.txt", errors, warnings, BanList::ALLOWS);
		CPPUNIT_ASSERT(errors.empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), warnings.size());
		CPPUNIT_ASSERT_EQUAL(std::string("allow.txt:1: ::/0 allows every IPv6 address"), warnings[0]);
		CPPUNIT_ASSERT(allow.bansAddress("2001:db8::1"));
	}

	void testByteOrderMarkIsSkipped()
	{
		// Editors on Windows start a UTF-8 file with EF BB BF.
		std::vector<std::string> errors, warnings;
		BanList list = BanList::parse("\xEF\xBB\xBFip 203.0.113.7\nuid mallory\n", "bans.txt", errors, warnings);
		CPPUNIT_ASSERT_MESSAGE(errors.empty() ? "" : errors[0], errors.empty());
		CPPUNIT_ASSERT(warnings.empty());
		CPPUNIT_ASSERT(list.bansAddress("203.0.113.7"));
		CPPUNIT_ASSERT(list.bansUid("mallory"));
		errors.clear();
		list = BanList::parse("\xEF\xBB\xBF# comment first\r\nuid mallory\r\n", "bans.txt", errors);
		CPPUNIT_ASSERT(errors.empty());
		CPPUNIT_ASSERT(list.bansUid("mallory"));
	}

	void testInvisibleBytesAreShown()
	{
		// A mark anywhere else is an error, and shown: a message must not
		// say "unknown entry type "ip"" over an invisible character.
		std::vector<std::string> errors;
		BanList list = BanList::parse("ip 1.2.3.4\n\xEF\xBB\xBFuid bob\nip 1.2.3.5\xE2\x80\x8B\nuid al\x07ice\n", "bans.txt", errors);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), errors.size());
		CPPUNIT_ASSERT_EQUAL(std::string("bans.txt:2: unknown entry type \"\\xEF\\xBB\\xBFuid\" (expected ip or uid)"), errors[0]);
		CPPUNIT_ASSERT_EQUAL(std::string("bans.txt:3: expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got \"1.2.3.5\\xE2\\x80\\x8B\""), errors[1]);
		CPPUNIT_ASSERT_EQUAL(std::string("bans.txt:4: not a valid uid: \"al\\x07ice\""), errors[2]);
		CPPUNIT_ASSERT(!list.bansUid("bob"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), list.addressCount());
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(BanListTest);
