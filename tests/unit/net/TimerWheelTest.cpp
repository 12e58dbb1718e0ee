//
// TimerWheelTest.cpp
//

#include "server/net/TimerWheel.h"
#include <cppunit/extensions/HelperMacros.h>
#include <vector>

using imgate::net::TimerWheel;

namespace {

struct Item: TimerWheel::Entry
{
	int name = 0;
};

} // namespace


class TimerWheelTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(TimerWheelTest);
	CPPUNIT_TEST(testFiresAtDueTick);
	CPPUNIT_TEST(testCancel);
	CPPUNIT_TEST(testReschedule);
	CPPUNIT_TEST(testBeyondOneRevolution);
	CPPUNIT_TEST(testRescheduleIntoSameSlotWhileFiring);
	CPPUNIT_TEST(testPastDueFiresNextTick);
	CPPUNIT_TEST(testDestroyedEntryUnlinks);
	CPPUNIT_TEST_SUITE_END();

public:
	void testFiresAtDueTick()
	{
		TimerWheel wheel(8);
		Item a, b;
		a.name = 1; b.name = 2;
		wheel.schedule(a, 3);
		wheel.schedule(b, 5);
		std::vector<int> fired;
		auto fire = [&](TimerWheel::Entry& e) { fired.push_back(static_cast<Item&>(e).name); };
		wheel.advance(2, fire);
		CPPUNIT_ASSERT(fired.empty());
		wheel.advance(3, fire);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), fired.size());
		CPPUNIT_ASSERT_EQUAL(1, fired[0]);
		CPPUNIT_ASSERT(!a.scheduled());
		CPPUNIT_ASSERT(b.scheduled());
		wheel.advance(10, fire);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), fired.size());
		CPPUNIT_ASSERT_EQUAL(2, fired[1]);
	}

	void testCancel()
	{
		TimerWheel wheel(8);
		Item a;
		wheel.schedule(a, 2);
		TimerWheel::cancel(a);
		CPPUNIT_ASSERT(!a.scheduled());
		int n = 0;
		wheel.advance(20, [&](TimerWheel::Entry&) { ++n; });
		CPPUNIT_ASSERT_EQUAL(0, n);
	}

	void testReschedule()
	{
		TimerWheel wheel(8);
		Item a;
		wheel.schedule(a, 2);
		wheel.schedule(a, 6);
		int n = 0;
		wheel.advance(5, [&](TimerWheel::Entry&) { ++n; });
		CPPUNIT_ASSERT_EQUAL(0, n);
		wheel.advance(6, [&](TimerWheel::Entry&) { ++n; });
		CPPUNIT_ASSERT_EQUAL(1, n);
	}

	void testBeyondOneRevolution()
	{
		TimerWheel wheel(4);
		Item a;
		wheel.schedule(a, 11); // slot 3, but only on the third round
		std::vector<unsigned> firedAt;
		for (unsigned t = 1; t <= 12; ++t)
			wheel.advance(t, [&](TimerWheel::Entry&) { firedAt.push_back(wheel.now()); });
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), firedAt.size());
		CPPUNIT_ASSERT_EQUAL(11u, firedAt[0]);
	}

	void testRescheduleIntoSameSlotWhileFiring()
	{
		// An entry that re-arms itself one revolution later must not fire again in the same advance.
		TimerWheel wheel(4);
		Item a;
		wheel.schedule(a, 1);
		int n = 0;
		wheel.advance(1, [&](TimerWheel::Entry& e) { ++n; wheel.schedule(e, wheel.now() + 4); });
		CPPUNIT_ASSERT_EQUAL(1, n);
		CPPUNIT_ASSERT(a.scheduled());
		CPPUNIT_ASSERT_EQUAL(5u, a.due());
		wheel.advance(5, [&](TimerWheel::Entry&) { ++n; });
		CPPUNIT_ASSERT_EQUAL(2, n);
	}

	void testPastDueFiresNextTick()
	{
		TimerWheel wheel(8);
		int n = 0;
		wheel.advance(10, [&](TimerWheel::Entry&) {});
		Item a;
		wheel.schedule(a, 3);
		CPPUNIT_ASSERT_EQUAL(11u, a.due());
		wheel.advance(11, [&](TimerWheel::Entry&) { ++n; });
		CPPUNIT_ASSERT_EQUAL(1, n);
	}

	void testDestroyedEntryUnlinks()
	{
		TimerWheel wheel(8);
		Item keep;
		{
			Item gone;
			wheel.schedule(gone, 2);
			wheel.schedule(keep, 2);
		}
		int n = 0;
		wheel.advance(2, [&](TimerWheel::Entry& e) { CPPUNIT_ASSERT(&e == &keep); ++n; });
		CPPUNIT_ASSERT_EQUAL(1, n);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(TimerWheelTest);
