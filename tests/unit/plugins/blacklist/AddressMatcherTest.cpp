//
// AddressMatcherTest.cpp
//

#include "plugins/blacklist/AddressMatcher.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::blacklist::AddressMatcher;

class AddressMatcherTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AddressMatcherTest);
	CPPUNIT_TEST(testSingleAddresses);
	CPPUNIT_TEST(testIpv4Ranges);
	CPPUNIT_TEST(testHostBitsAreRefused);
	CPPUNIT_TEST(testIpv6Ranges);
	CPPUNIT_TEST(testMappedAddresses);
	CPPUNIT_TEST(testBadEntries);
	CPPUNIT_TEST(testLargeList);
	CPPUNIT_TEST_SUITE_END();

public:
	static AddressMatcher of(std::initializer_list<const char*> entries)
	{
		AddressMatcher m;
		for (const char* e: entries)
		{
			std::string error;
			CPPUNIT_ASSERT_MESSAGE(error, m.add(e, error));
		}
		return m;
	}

	void testSingleAddresses()
	{
		AddressMatcher m = of({"203.0.113.7", "2001:db8::1"});
		CPPUNIT_ASSERT(m.contains("203.0.113.7"));
		CPPUNIT_ASSERT(!m.contains("203.0.113.8"));
		CPPUNIT_ASSERT(m.contains("2001:db8::1"));
		CPPUNIT_ASSERT(m.contains("2001:0db8:0000::0001")); // another spelling
		CPPUNIT_ASSERT(!m.contains("2001:db8::2"));
		CPPUNIT_ASSERT(!m.contains("not an address"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), m.size());
	}

	void testIpv4Ranges()
	{
		AddressMatcher m = of({"10.0.0.0/8", "192.168.1.128/25", "198.51.100.5/32", "172.16.0.0/12"});
		CPPUNIT_ASSERT(m.contains("10.255.255.255"));
		CPPUNIT_ASSERT(!m.contains("11.0.0.0"));
		CPPUNIT_ASSERT(m.contains("192.168.1.128"));
		CPPUNIT_ASSERT(m.contains("192.168.1.255"));
		CPPUNIT_ASSERT(!m.contains("192.168.1.127")); // just below the /25
		CPPUNIT_ASSERT(m.contains("198.51.100.5"));
		CPPUNIT_ASSERT(!m.contains("198.51.100.4"));
		CPPUNIT_ASSERT(m.contains("172.31.255.255"));
		CPPUNIT_ASSERT(!m.contains("172.32.0.0"));
		CPPUNIT_ASSERT(of({"0.0.0.0/0"}).contains("8.8.8.8"));
		CPPUNIT_ASSERT(!of({"0.0.0.0/0"}).contains("::1")); // IPv4 ranges do not match IPv6
	}

	void testHostBitsAreRefused()
	{
		// The SDK's rule (imgate/Address.h), as the admin API's: 10.1.2.3/8
		// may mean 10.0.0.0/8 or 10.1.2.3, so it is neither.
		AddressMatcher m;
		std::string error;
		CPPUNIT_ASSERT(!m.add("10.1.2.3/8", error));
		CPPUNIT_ASSERT_EQUAL(std::string("10.1.2.3/8 has host bits set (did you mean 10.0.0.0/8?)"), error);
		CPPUNIT_ASSERT(!m.add("2001:db8::1/32", error));
		CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1/32 has host bits set (did you mean 2001:db8::/32?)"), error);
		CPPUNIT_ASSERT(m.empty());
		CPPUNIT_ASSERT(!m.contains("10.9.9.9"));
		CPPUNIT_ASSERT(!m.contains("10.1.2.3"));
	}

	void testIpv6Ranges()
	{
		AddressMatcher m = of({"2001:db8::/32", "fe80::/10", "2001:db8:ffff::/127"});
		CPPUNIT_ASSERT(m.contains("2001:db8:1234::1"));
		CPPUNIT_ASSERT(!m.contains("2001:db9::1"));
		CPPUNIT_ASSERT(m.contains("febf:ffff::1"));
		CPPUNIT_ASSERT(!m.contains("fec0::1"));
		CPPUNIT_ASSERT(of({"::/0"}).contains("2a00::1"));
		CPPUNIT_ASSERT(of({"2a00::1/128"}).contains("2a00::1"));
		CPPUNIT_ASSERT(!of({"2a00::1/128"}).contains("2a00::2"));
		// A client's zone is ignored; an entry takes none (it names an
		// interface of this host, which a ban does not look at).
		CPPUNIT_ASSERT(of({"fe80::1"}).contains("fe80::1%eth0"));
		CPPUNIT_ASSERT(!of({"fe80::1"}).contains("fe80::2%eth0"));
		AddressMatcher zoned;
		std::string error;
		CPPUNIT_ASSERT(!zoned.add("fe80::1%2", error));
		CPPUNIT_ASSERT_EQUAL(std::string("fe80::1%2: addresses here take no zone (%2); write fe80::1"), error);
	}

	void testMappedAddresses()
	{
		// A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
		AddressMatcher m = of({"203.0.113.0/24"});
		CPPUNIT_ASSERT(m.contains("::ffff:203.0.113.9"));
		AddressMatcher mapped = of({"::ffff:198.51.100.0/120"});
		CPPUNIT_ASSERT(mapped.contains("198.51.100.200"));
		CPPUNIT_ASSERT(!mapped.contains("198.51.101.1"));
		// IPv6 ranges cover IPv6 clients only.
		CPPUNIT_ASSERT(!of({"::/0"}).contains("::ffff:203.0.113.9"));
		CPPUNIT_ASSERT(!of({"::/0"}).contains("203.0.113.9"));
	}

	void testBadEntries()
	{
		AddressMatcher m;
		std::string error;
		CPPUNIT_ASSERT(!m.add("300.1.1.1", error));
		CPPUNIT_ASSERT_EQUAL(std::string("expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got \"300.1.1.1\""), error);
		CPPUNIT_ASSERT(!m.add("10.0.0.0/33", error));
		CPPUNIT_ASSERT_EQUAL(std::string("the prefix length of 10.0.0.0/33 must be 0 to 32"), error);
		CPPUNIT_ASSERT(!m.add("2001:db8::/129", error));
		CPPUNIT_ASSERT(!m.add("10.0.0.0/", error));
		CPPUNIT_ASSERT(!m.add("10.0.0.0/x", error));
		CPPUNIT_ASSERT(!m.add("::ffff:1.2.3.4/64", error));
		CPPUNIT_ASSERT(!m.add("127.1", error));
		CPPUNIT_ASSERT(!m.add("010.0.0.1", error));
		CPPUNIT_ASSERT(m.empty());
	}

	void testLargeList()
	{
		// 100,000 entries: lookups stay exact (their cost depends on the
		// prefix lengths in use, not on the count; see docs/benchmarks.md).
		AddressMatcher m;
		std::string error;
		for (int i = 0; i < 100000; ++i)
		{
			std::string a = "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
			CPPUNIT_ASSERT(m.add(a, error));
		}
		CPPUNIT_ASSERT(m.add("192.0.2.0/24", error));
		CPPUNIT_ASSERT_EQUAL(std::size_t(100001), m.size());
		CPPUNIT_ASSERT(m.contains("10.1.134.159")); // entry 99999
		CPPUNIT_ASSERT(!m.contains("10.1.134.160")); // entry 100000 was not added
		CPPUNIT_ASSERT(m.contains("192.0.2.77"));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(AddressMatcherTest);
