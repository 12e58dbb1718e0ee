//
// AddressTest.cpp
//
// imgate/Address.h: the one address and CIDR parser of the SDK (used by
// the admin API and the blacklist plugin), and addressBlock(), what the
// ratelimit plugin counts and the blacklist bans per.
//

#include "imgate/Address.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::AddressRange;
using imgate::addressBlock;

namespace {

std::string canonical(const std::string& text)
	/// text parsed and written back, or "ERROR: what is wrong".
{
	AddressRange range;
	std::string error;
	if (!AddressRange::parse(text, range, error)) return "ERROR: " + error;
	return range.toString();
}


AddressRange peer(const std::string& address)
{
	AddressRange range;
	CPPUNIT_ASSERT_MESSAGE(address, AddressRange::parsePeer(address, range));
	return range;
}


AddressRange block(const std::string& text)
{
	AddressRange range;
	std::string error;
	CPPUNIT_ASSERT_MESSAGE(error, AddressRange::parse(text, range, error));
	return range;
}

} // namespace


class AddressTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AddressTest);
	CPPUNIT_TEST(testBlocks);
	CPPUNIT_TEST(testParsesAddressesAndBlocks);
	CPPUNIT_TEST(testOneSpelling);
	CPPUNIT_TEST(testHostBitsAreRefused);
	CPPUNIT_TEST(testStrictSpellings);
	CPPUNIT_TEST(testPrefixLengths);
	CPPUNIT_TEST(testMappedAddresses);
	CPPUNIT_TEST(testZones);
	CPPUNIT_TEST(testContains);
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

	void testParsesAddressesAndBlocks()
	{
		AddressRange r = block("10.0.0.0/8");
		CPPUNIT_ASSERT(r.isIPv4());
		CPPUNIT_ASSERT_EQUAL(32u, r.bits());
		CPPUNIT_ASSERT_EQUAL(8u, r.prefix());
		CPPUNIT_ASSERT(!r.isAddress());
		CPPUNIT_ASSERT_EQUAL(std::string("\x0a\x00\x00\x00", 4), r.key());
		r = block("203.0.113.7");
		CPPUNIT_ASSERT(r.isAddress());
		CPPUNIT_ASSERT_EQUAL(32u, r.prefix());
		r = block("2001:db8::/32");
		CPPUNIT_ASSERT(!r.isIPv4());
		CPPUNIT_ASSERT_EQUAL(128u, r.bits());
		CPPUNIT_ASSERT_EQUAL(32u, r.prefix());
		CPPUNIT_ASSERT_EQUAL(std::size_t(16), r.key().size());
		CPPUNIT_ASSERT_EQUAL(std::string("0.0.0.0/0"), canonical("0.0.0.0/0"));
		CPPUNIT_ASSERT_EQUAL(std::string("::/0"), canonical("::/0"));
		CPPUNIT_ASSERT(AddressRange() == block("0.0.0.0/0"));
	}

	void testOneSpelling()
	{
		// inet_ntop's, the prefix only when shorter than the address.
		CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::/32"), canonical("2001:DB8:0::/32"));
		CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::/32"), canonical("2001:0db8:0000:0000::/32"));
		CPPUNIT_ASSERT_EQUAL(std::string("2001:db8::1"), canonical("2001:db8::1/128"));
		CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.7"), canonical("203.0.113.7/32"));
		CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.0/8"), canonical("10.0.0.0/008"));
		CPPUNIT_ASSERT(block("2001:DB8::/32") == block("2001:db8:0::/32"));
		CPPUNIT_ASSERT(block("2001:db8::/32") != block("2001:db8::/33"));
	}

	void testHostBitsAreRefused()
	{
		// 10.0.0.1/8 may mean the block 10.0.0.0/8 or the address 10.0.0.1:
		// sixteen million addresses apart, so it is refused, with the block.
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)"), canonical("10.0.0.1/8"));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: 192.168.1.200/25 has host bits set (did you mean 192.168.1.128/25?)"), canonical("192.168.1.200/25"));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: 2001:db8::1/64 has host bits set (did you mean 2001:db8::/64?)"), canonical("2001:db8::1/64"));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: 1.2.3.4/0 has host bits set (did you mean 0.0.0.0/0?)"), canonical("1.2.3.4/0"));
		CPPUNIT_ASSERT_EQUAL(std::string("192.168.1.128/25"), canonical("192.168.1.128/25"));
	}

	void testStrictSpellings()
	{
		const std::string expected = "ERROR: expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got ";
		for (const char* bad: {"127.1", "010.0.0.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4 junk", "300.1.1.1", "example.com", "", "/8", "1.2.3.4%eth0", "1::2::3"})
			CPPUNIT_ASSERT_EQUAL(expected + "\"" + bad + "\"", canonical(bad));
		// inet_pton stops at a NUL; the parser reads the whole text.
		const std::string nul("1.2.3.4\0junk", 12);
		CPPUNIT_ASSERT_EQUAL(expected + "\"" + nul + "\"", canonical(nul));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: the prefix length of 10.0.0.0/8\0 must be 0 to 32", 55), canonical(std::string("10.0.0.0/8\0", 11)));
		AddressRange r;
		CPPUNIT_ASSERT(!AddressRange::parsePeer(std::string("::1\0", 4), r));
	}

	void testPrefixLengths()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: the prefix length of 10.0.0.0/33 must be 0 to 32"), canonical("10.0.0.0/33"));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: the prefix length of 2001:db8::/129 must be 0 to 128"), canonical("2001:db8::/129"));
		for (const char* bad: {"10.0.0.0/", "10.0.0.0/x", "10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/-8", "10.0.0.0/0008", "10.0.0.0/8/8"})
			CPPUNIT_ASSERT_EQUAL(std::string("ERROR: the prefix length of ") + bad + " must be 0 to 32", canonical(bad));
	}

	void testMappedAddresses()
	{
		// An IPv4-mapped address or block is its IPv4 one (a dual-stack
		// listener sees IPv4 peers so), its prefix counted over IPv6.
		CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.7"), canonical("::ffff:203.0.113.7"));
		CPPUNIT_ASSERT_EQUAL(std::string("198.51.100.0/24"), canonical("::ffff:198.51.100.0/120"));
		CPPUNIT_ASSERT_EQUAL(std::string("0.0.0.0/0"), canonical("::ffff:0.0.0.0/96"));
		CPPUNIT_ASSERT(block("::ffff:198.51.100.0/120").isIPv4());
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: ::ffff:198.51.100.9/120 has host bits set (did you mean ::ffff:198.51.100.0/120?)"),
			canonical("::ffff:198.51.100.9/120"));
		// Below /96 the block is no longer IPv4 addresses only.
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: ::ffff:1.2.3.4/64 has host bits set (did you mean ::/64?)"), canonical("::ffff:1.2.3.4/64"));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: the prefix length of ::ffff:1.2.3.4/129 must be 0 to 128"), canonical("::ffff:1.2.3.4/129"));
		CPPUNIT_ASSERT(peer("::ffff:203.0.113.7") == peer("203.0.113.7"));
	}

	void testZones()
	{
		// A zone names an interface of this host: a peer's is ignored, and a
		// written address must not carry one.
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: fe80::1%eth0: addresses here take no zone (%eth0); write fe80::1"), canonical("fe80::1%eth0"));
		CPPUNIT_ASSERT_EQUAL(std::string("ERROR: fe80::%2/64: addresses here take no zone (%2); write fe80::/64"), canonical("fe80::%2/64"));
		CPPUNIT_ASSERT(peer("fe80::1%eth0") == peer("fe80::1"));
		CPPUNIT_ASSERT_EQUAL(std::string("fe80::1"), peer("fe80::1%eth0").toString());
		AddressRange r;
		CPPUNIT_ASSERT(!AddressRange::parsePeer("not an address", r));
		CPPUNIT_ASSERT(!AddressRange::parsePeer("10.0.0.0/8", r)); // a peer is one address
		CPPUNIT_ASSERT(!AddressRange::parsePeer("", r));
	}

	void testContains()
	{
		const AddressRange lab = block("10.0.0.0/8");
		CPPUNIT_ASSERT(lab.contains(peer("10.255.255.255")));
		CPPUNIT_ASSERT(!lab.contains(peer("11.0.0.0")));
		CPPUNIT_ASSERT(lab.contains(peer("::ffff:10.1.2.3")));
		CPPUNIT_ASSERT(lab.contains(block("10.1.0.0/16")));
		CPPUNIT_ASSERT(!block("10.1.0.0/16").contains(lab));
		CPPUNIT_ASSERT(lab.contains(lab));
		// Never across families: ::/0 holds no IPv4 client, 0.0.0.0/0 no IPv6 one.
		CPPUNIT_ASSERT(!block("::/0").contains(peer("::ffff:203.0.113.9")));
		CPPUNIT_ASSERT(!block("0.0.0.0/0").contains(peer("::1")));
		CPPUNIT_ASSERT(block("::/0").contains(peer("2a00::1")));
		CPPUNIT_ASSERT_EQUAL(std::string("2001:db8:1:2::/64"), peer("2001:db8:1:2:3:4:5:6").masked(64).toString());
		CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.7"), peer("203.0.113.7").masked(64).toString()); // at most the address
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(AddressTest);
