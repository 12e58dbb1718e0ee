//
// RateTableTest.cpp
//
// TokenBucket and RateTable on explicit time: no sleeping.
//

#include "plugins/ratelimit/RateTable.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate::ratelimit;
using Result = RateTable::Result;

class RateTableTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(RateTableTest);
	CPPUNIT_TEST(testBurstThenRate);
	CPPUNIT_TEST(testRefillIsCappedAtBurst);
	CPPUNIT_TEST(testFractionalRates);
	CPPUNIT_TEST(testKeysAreIndependent);
	CPPUNIT_TEST(testRefusalsCountInARow);
	CPPUNIT_TEST(testMemoryBoundedUnderFlood);
	CPPUNIT_TEST(testIdleBucketsAreForgottenFirst);
	CPPUNIT_TEST(testHammeringKeySurvivesFlood);
	CPPUNIT_TEST_SUITE_END();

public:
	static constexpr std::int64_t T0 = 1000000000000LL; // any start time, in µs
	static constexpr std::int64_t SECOND = 1000000;

	void testBurstThenRate()
	{
		Rate rate{2, 5};
		TokenBucket b;
		for (int i = 0; i < 5; ++i) CPPUNIT_ASSERT(b.take(rate, T0));
		CPPUNIT_ASSERT(!b.take(rate, T0));
		CPPUNIT_ASSERT(!b.take(rate, T0 + SECOND / 4)); // half a token
		CPPUNIT_ASSERT(b.take(rate, T0 + SECOND / 2));  // one token after 0.5 s at 2/s
		CPPUNIT_ASSERT(!b.take(rate, T0 + SECOND / 2));
	}

	void testRefillIsCappedAtBurst()
	{
		Rate rate{10, 3};
		TokenBucket b;
		CPPUNIT_ASSERT(b.take(rate, T0));
		int taken = 0;
		while (b.take(rate, T0 + 3600 * SECOND)) ++taken; // an hour idle: still only the burst
		CPPUNIT_ASSERT_EQUAL(3, taken);
	}

	void testFractionalRates()
	{
		Rate rate{0.5, 1};
		TokenBucket b;
		CPPUNIT_ASSERT(b.take(rate, T0));
		CPPUNIT_ASSERT(!b.take(rate, T0 + SECOND));
		CPPUNIT_ASSERT(b.take(rate, T0 + 2 * SECOND));
	}

	void testKeysAreIndependent()
	{
		RateTable t(Rate{1, 2}, 1000);
		CPPUNIT_ASSERT(t.take("10.0.0.1", T0).allowed);
		CPPUNIT_ASSERT(t.take("10.0.0.1", T0).allowed);
		CPPUNIT_ASSERT(!t.take("10.0.0.1", T0).allowed);
		CPPUNIT_ASSERT(t.take("10.0.0.2", T0).allowed);
	}

	void testRefusalsCountInARow()
	{
		RateTable t(Rate{1, 1}, 1000);
		CPPUNIT_ASSERT(t.take("a", T0).allowed);
		CPPUNIT_ASSERT_EQUAL(1u, t.take("a", T0).refusals);
		CPPUNIT_ASSERT_EQUAL(2u, t.take("a", T0).refusals);
		CPPUNIT_ASSERT(t.take("a", T0 + SECOND).allowed); // resets
		CPPUNIT_ASSERT_EQUAL(1u, t.take("a", T0 + SECOND).refusals);
	}

	void testMemoryBoundedUnderFlood()
	{
		RateTable t(Rate{1, 5}, 1600);
		for (int i = 0; i < 200000; ++i)
			t.take("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255), T0 + i);
		CPPUNIT_ASSERT(t.size() <= 1600);
		CPPUNIT_ASSERT(t.size() >= 1500); // still tracking the active ones
	}

	void testIdleBucketsAreForgottenFirst()
	{
		RateTable t(Rate{1, 2}, 16); // one entry per shard
		CPPUNIT_ASSERT(t.take("busy", T0).allowed);
		CPPUNIT_ASSERT(t.take("busy", T0).allowed);
		CPPUNIT_ASSERT(!t.take("busy", T0).allowed);
		// Much later every bucket has refilled and may be dropped: the table
		// stays bounded and a returning key starts full again.
		for (int i = 0; i < 100; ++i) t.take("k" + std::to_string(i), T0 + 10 * SECOND);
		CPPUNIT_ASSERT(t.size() <= 16);
		CPPUNIT_ASSERT(t.take("busy", T0 + 10 * SECOND).allowed);
	}

	void testHammeringKeySurvivesFlood()
	{
		// An attacker that keeps hammering stays the most recently used in
		// its shard: a flood of new addresses evicts others, never it.
		RateTable t(Rate{1, 2}, 160);
		std::int64_t now = T0;
		CPPUNIT_ASSERT(t.take("attacker", now).allowed);
		CPPUNIT_ASSERT(t.take("attacker", now).allowed);
		unsigned refusals = 0;
		for (int i = 0; i < 5000; ++i)
		{
			now += 10; // 10 µs apart: nothing refills
			t.take("flood-" + std::to_string(i), now);
			Result r = t.take("attacker", now);
			CPPUNIT_ASSERT(!r.allowed);
			CPPUNIT_ASSERT_EQUAL(++refusals, r.refusals);
		}
		CPPUNIT_ASSERT(t.size() <= 160);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(RateTableTest);
