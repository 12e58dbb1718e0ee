//
// UidDirectoryTest.cpp
//

#include "server/session/UidDirectory.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate::session;

class UidDirectoryTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(UidDirectoryTest);
	CPPUNIT_TEST(testClaimFindRelease);
	CPPUNIT_TEST(testTakeoverReturnsPrevious);
	CPPUNIT_TEST(testStaleReleaseIsIgnored);
	CPPUNIT_TEST(testGuardRefusesDisplacedDevice);
	CPPUNIT_TEST(testGuardExpires);
	CPPUNIT_TEST(testSameDeviceReconnectTakesOver);
	CPPUNIT_TEST(testThirdDeviceTakesOver);
	CPPUNIT_TEST(testGuardDisabled);
	CPPUNIT_TEST_SUITE_END();

public:
	static SessionRef ref(std::size_t loop, Poco::UInt64 id) { return SessionRef{loop, id}; }

	void testClaimFindRelease()
	{
		UidDirectory d(10000);
		CPPUNIT_ASSERT(!d.find("alice").valid());
		UidDirectory::Claim c = d.claim("alice", ref(1, 5), "phone", 0);
		CPPUNIT_ASSERT(!c.refused);
		CPPUNIT_ASSERT(!c.previous.valid());
		CPPUNIT_ASSERT(d.find("alice") == ref(1, 5));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), d.size());
		CPPUNIT_ASSERT(d.release("alice", ref(1, 5)));
		CPPUNIT_ASSERT(!d.find("alice").valid());
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), d.size());
	}

	void testTakeoverReturnsPrevious()
	{
		UidDirectory d(10000);
		d.claim("alice", ref(0, 1), "phone", 0);
		UidDirectory::Claim c = d.claim("alice", ref(1, 2), "laptop", 100);
		CPPUNIT_ASSERT(!c.refused);
		CPPUNIT_ASSERT(c.previous == ref(0, 1));
		CPPUNIT_ASSERT(d.find("alice") == ref(1, 2));
	}

	void testStaleReleaseIsIgnored()
	{
		UidDirectory d(10000);
		d.claim("alice", ref(0, 1), "phone", 0);
		d.claim("alice", ref(1, 2), "laptop", 0);
		CPPUNIT_ASSERT(!d.release("alice", ref(0, 1))); // the kicked session closes late
		CPPUNIT_ASSERT(d.find("alice") == ref(1, 2));
	}

	void testGuardRefusesDisplacedDevice()
	{
		UidDirectory d(10000);
		d.claim("alice", ref(0, 1), "phone", 0);
		d.claim("alice", ref(0, 2), "laptop", 1000);        // laptop displaces phone
		UidDirectory::Claim c = d.claim("alice", ref(0, 3), "phone", 4000); // phone retries at once
		CPPUNIT_ASSERT(c.refused);
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(7000), c.retryInMs);
		CPPUNIT_ASSERT(d.find("alice") == ref(0, 2));
	}

	void testGuardExpires()
	{
		UidDirectory d(10000);
		d.claim("alice", ref(0, 1), "phone", 0);
		d.claim("alice", ref(0, 2), "laptop", 1000);
		UidDirectory::Claim c = d.claim("alice", ref(0, 3), "phone", 11000);
		CPPUNIT_ASSERT(!c.refused);
		CPPUNIT_ASSERT(c.previous == ref(0, 2));
		// Now the laptop is the displaced one and is guarded in turn.
		CPPUNIT_ASSERT(d.claim("alice", ref(0, 4), "laptop", 12000).refused);
	}

	void testSameDeviceReconnectTakesOver()
	{
		UidDirectory d(10000);
		d.claim("alice", ref(0, 1), "phone", 0);
		UidDirectory::Claim c = d.claim("alice", ref(0, 2), "phone", 10);
		CPPUNIT_ASSERT(!c.refused);
		CPPUNIT_ASSERT(c.previous == ref(0, 1));
		CPPUNIT_ASSERT(!d.claim("alice", ref(0, 3), "phone", 20).refused);
		// Empty device names are one device: reconnects are never guarded.
		d.claim("bob", ref(0, 5), "", 0);
		d.claim("bob", ref(0, 6), "", 1);
		CPPUNIT_ASSERT(!d.claim("bob", ref(0, 7), "", 2).refused);
	}

	void testThirdDeviceTakesOver()
	{
		UidDirectory d(10000);
		d.claim("alice", ref(0, 1), "phone", 0);
		d.claim("alice", ref(0, 2), "laptop", 1);
		UidDirectory::Claim c = d.claim("alice", ref(0, 3), "tablet", 2);
		CPPUNIT_ASSERT(!c.refused);
		CPPUNIT_ASSERT(c.previous == ref(0, 2));
	}

	void testGuardDisabled()
	{
		UidDirectory d(0);
		d.claim("alice", ref(0, 1), "phone", 0);
		d.claim("alice", ref(0, 2), "laptop", 0);
		CPPUNIT_ASSERT(!d.claim("alice", ref(0, 3), "phone", 0).refused);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(UidDirectoryTest);
