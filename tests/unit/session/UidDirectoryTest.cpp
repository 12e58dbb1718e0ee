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
	CPPUNIT_TEST(testDevicesEachHaveASession);
	CPPUNIT_TEST(testDeviceLimit);
	CPPUNIT_TEST(testUidsCountedByDevices);
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

	void testDevicesEachHaveASession()
	{
		UidDirectory d(10000);
		CPPUNIT_ASSERT(!d.claimDevice("bob", ref(0, 1), "phone", true, 8).previous.valid());
		CPPUNIT_ASSERT(!d.claimDevice("bob", ref(1, 2), "laptop", false, 8).previous.valid());
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), d.devices("bob"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), d.size()); // uids
		std::vector<UidDirectory::Member> members;
		d.sessions("bob", members);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), members.size());
		CPPUNIT_ASSERT(members[0].session == ref(0, 1) && members[0].carbons);
		CPPUNIT_ASSERT(members[1].session == ref(1, 2) && !members[1].carbons);
		// The same device again takes over its own session only.
		UidDirectory::Claim c = d.claimDevice("bob", ref(0, 3), "laptop", true, 8);
		CPPUNIT_ASSERT(c.previous == ref(1, 2));
		CPPUNIT_ASSERT(!d.release("bob", ref(1, 2))); // stale
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), d.devices("bob"));
		// Releasing the first keeps the others, found by find() too.
		CPPUNIT_ASSERT(d.release("bob", ref(0, 1)));
		CPPUNIT_ASSERT(d.find("bob") == ref(0, 3));
		CPPUNIT_ASSERT(d.release("bob", ref(0, 3)));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), d.size());
	}

	void testDeviceLimit()
	{
		UidDirectory d(10000);
		CPPUNIT_ASSERT(!d.claimDevice("bob", ref(0, 1), "a", false, 2).deviceLimit);
		CPPUNIT_ASSERT(!d.claimDevice("bob", ref(0, 2), "b", false, 2).deviceLimit);
		UidDirectory::Claim refused = d.claimDevice("bob", ref(0, 3), "c", false, 2);
		CPPUNIT_ASSERT(refused.deviceLimit);
		CPPUNIT_ASSERT(!refused.previous.valid());
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), d.devices("bob"));
		// A reconnect of a known device is no extra device.
		CPPUNIT_ASSERT(!d.claimDevice("bob", ref(0, 4), "b", false, 2).deviceLimit);
		CPPUNIT_ASSERT(d.release("bob", ref(0, 1)));
		CPPUNIT_ASSERT(!d.claimDevice("bob", ref(0, 5), "c", false, 2).deviceLimit);
	}

	void testUidsCountedByDevices()
	{
		// The gauge behind imgate_uids_online_by_devices follows every
		// claim, takeover and release; 8 devices or more share a slot.
		UidDirectory d(10000);
		auto counts = [&d]()
		{
			std::vector<Poco::Int64> v;
			for (std::size_t n = 1; n <= UidDirectory::DEVICE_COUNT_SLOTS; ++n) v.push_back(d.uidsWithDevices(n));
			return v;
		};
		d.claim("alice", ref(0, 1), "phone", 0);
		d.claim("alice", ref(0, 2), "laptop", 0); // single: a takeover, still one
		d.claimDevice("bob", ref(0, 3), "phone", false, 64);
		d.claimDevice("bob", ref(0, 4), "laptop", false, 64);
		d.claimDevice("bob", ref(0, 5), "laptop", false, 64); // reconnect
		CPPUNIT_ASSERT((counts() == std::vector<Poco::Int64>{1, 1, 0, 0, 0, 0, 0, 0}));
		for (Poco::UInt64 i = 0; i < 9; ++i) d.claimDevice("carol", ref(1, 10 + i), "d" + std::to_string(i), false, 64);
		CPPUNIT_ASSERT((counts() == std::vector<Poco::Int64>{1, 1, 0, 0, 0, 0, 0, 1}));
		CPPUNIT_ASSERT(d.release("carol", ref(1, 10))); // 9 -> 8: still the last slot
		CPPUNIT_ASSERT(d.release("carol", ref(1, 12))); // 8 -> 7
		CPPUNIT_ASSERT((counts() == std::vector<Poco::Int64>{1, 1, 0, 0, 0, 0, 1, 0}));
		CPPUNIT_ASSERT(!d.release("alice", ref(0, 1))); // the displaced session: nothing changes
		CPPUNIT_ASSERT(d.release("alice", ref(0, 2)));
		CPPUNIT_ASSERT(d.release("bob", ref(0, 3)));
		CPPUNIT_ASSERT((counts() == std::vector<Poco::Int64>{1, 0, 0, 0, 0, 0, 1, 0}));
		CPPUNIT_ASSERT(d.release("bob", ref(0, 5)));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), d.uidsWithDevices(1));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), d.uidsWithDevices(0));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), d.uidsWithDevices(UidDirectory::DEVICE_COUNT_SLOTS + 1));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(UidDirectoryTest);
