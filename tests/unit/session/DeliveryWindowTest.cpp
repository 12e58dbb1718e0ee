//
// DeliveryWindowTest.cpp
//

#include "server/session/DeliveryWindow.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::session::DeliveryWindow;

class DeliveryWindowTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(DeliveryWindowTest);
	CPPUNIT_TEST(testSentAdvancesCursor);
	CPPUNIT_TEST(testAcknowledgeOutOfOrder);
	CPPUNIT_TEST(testUnknownAckIgnored);
	CPPUNIT_TEST(testOldestSentAt);
	CPPUNIT_TEST(testInFlightGauge);
	CPPUNIT_TEST_SUITE_END();

	imgate::metrics::Gauge _inFlight;

public:
	void testInFlightGauge()
	{
		// The loop's gauge follows every window's entries, also when a
		// window goes away with entries left (its session closed).
		{
			DeliveryWindow a(_inFlight);
			DeliveryWindow b(_inFlight);
			for (Poco::UInt64 id = 1; id <= 5; ++id) a.sent(id, 0);
			b.sent(7, 0);
			CPPUNIT_ASSERT_EQUAL(Poco::Int64(6), _inFlight.value());
			CPPUNIT_ASSERT(a.acknowledge(2));
			CPPUNIT_ASSERT(!a.acknowledge(2));
			a.forget(a.entries().begin());
			CPPUNIT_ASSERT_EQUAL(Poco::Int64(4), _inFlight.value());
			CPPUNIT_ASSERT_EQUAL(std::size_t(3), a.size());
		}
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), _inFlight.value());
	}

	void testSentAdvancesCursor()
	{
		DeliveryWindow w(_inFlight);
		CPPUNIT_ASSERT(w.empty());
		w.sent(3, 10);
		w.sent(8, 11);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), w.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(8), w.cursor());
		// A session's next window starts where this one left off.
		DeliveryWindow next(_inFlight, w.cursor());
		CPPUNIT_ASSERT(next.empty());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(8), next.cursor());
		next.sent(9, 12);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(9), next.cursor());
	}

	void testAcknowledgeOutOfOrder()
	{
		DeliveryWindow w(_inFlight);
		for (Poco::UInt64 id = 1; id <= 5; ++id) w.sent(id, 0);
		CPPUNIT_ASSERT(w.acknowledge(4));
		CPPUNIT_ASSERT(w.acknowledge(1));
		CPPUNIT_ASSERT(!w.acknowledge(4)); // twice
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), w.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(2), w.entries()[0].msgId);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(5), w.entries()[2].msgId);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(5), w.cursor()); // the cursor never goes back
	}

	void testUnknownAckIgnored()
	{
		DeliveryWindow w(_inFlight);
		w.sent(10, 0);
		CPPUNIT_ASSERT(!w.acknowledge(11));
		CPPUNIT_ASSERT(!w.acknowledge(0));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), w.size());
	}

	void testOldestSentAt()
	{
		DeliveryWindow w(_inFlight);
		w.sent(1, 50);
		w.sent(2, 40); // retransmitted entries can have any order of ticks
		w.sent(3, 60);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(40), w.oldestSentAt());
		w.entries()[1].sentAt = 70;
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(50), w.oldestSentAt());
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(DeliveryWindowTest);
