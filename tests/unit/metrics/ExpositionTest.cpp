//
// ExpositionTest.cpp
//

#include "server/metrics/Exposition.h"
#include "server/metrics/Histogram.h"
#include "server/metrics/Counter.h"
#include <cppunit/extensions/HelperMacros.h>
#include <limits>

using namespace imgate::metrics;

class ExpositionTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ExpositionTest);
	CPPUNIT_TEST(testCounterAndGauge);
	CPPUNIT_TEST(testLabelEscaping);
	CPPUNIT_TEST(testValues);
	CPPUNIT_TEST(testHistogram);
	CPPUNIT_TEST(testNames);
	CPPUNIT_TEST(testGaugeMaximum);
	CPPUNIT_TEST_SUITE_END();

public:
	void testCounterAndGauge()
	{
		Exposition e;
		e.counter("x_requests_total", "Requests.");
		e.sample(Poco::UInt64(3), {{"code", "200"}});
		e.sample(Poco::UInt64(0), {{"code", "500"}});
		e.gauge("x_open", "Open things.");
		e.sample(Poco::Int64(-2));
		CPPUNIT_ASSERT_EQUAL(std::string(
			"# HELP x_requests_total Requests.\n"
			"# TYPE x_requests_total counter\n"
			"x_requests_total{code=\"200\"} 3\n"
			"x_requests_total{code=\"500\"} 0\n"
			"# HELP x_open Open things.\n"
			"# TYPE x_open gauge\n"
			"x_open -2\n"), e.text());
	}

	void testLabelEscaping()
	{
		Exposition e;
		e.gauge("x", "Help with a \\ backslash\nand a newline.");
		e.sample(Poco::Int64(1), {{"a", "q\"uote"}, {"b", "back\\slash"}, {"c", "new\nline"}});
		CPPUNIT_ASSERT_EQUAL(std::string(
			"# HELP x Help with a \\\\ backslash\\nand a newline.\n"
			"# TYPE x gauge\n"
			"x{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\"} 1\n"), e.text());
	}

	void testValues()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("0.1"), Exposition::formatValue(0.1));
		CPPUNIT_ASSERT_EQUAL(std::string("1e-06"), Exposition::formatValue(1e-6));
		CPPUNIT_ASSERT_EQUAL(std::string("1795604077.297421"), Exposition::formatValue(1795604077.297421));
		CPPUNIT_ASSERT_EQUAL(std::string("+Inf"), Exposition::formatValue(std::numeric_limits<double>::infinity()));
		CPPUNIT_ASSERT_EQUAL(std::string("-Inf"), Exposition::formatValue(-std::numeric_limits<double>::infinity()));
		CPPUNIT_ASSERT_EQUAL(std::string("NaN"), Exposition::formatValue(std::numeric_limits<double>::quiet_NaN()));
		const double third = 1.0 / 3;
		CPPUNIT_ASSERT_EQUAL(third, std::strtod(Exposition::formatValue(third).c_str(), nullptr));
	}

	void testHistogram()
	{
		Histogram h({0.5, 1, 2});
		for (double v: {0.1, 0.5, 0.7, 1.5, 3.0}) h.observe(v);
		Exposition e;
		e.histogram("x_seconds", "Durations.");
		e.sample(h.snapshot(), {{"op", "w"}});
		CPPUNIT_ASSERT_EQUAL(std::string(
			"# HELP x_seconds Durations.\n"
			"# TYPE x_seconds histogram\n"
			"x_seconds_bucket{op=\"w\",le=\"0.5\"} 2\n"   // 0.1 and 0.5: a bucket includes its bound
			"x_seconds_bucket{op=\"w\",le=\"1\"} 3\n"
			"x_seconds_bucket{op=\"w\",le=\"2\"} 4\n"
			"x_seconds_bucket{op=\"w\",le=\"+Inf\"} 5\n"
			"x_seconds_sum{op=\"w\"} 5.8\n"
			"x_seconds_count{op=\"w\"} 5\n"), e.text());
		std::vector<double> b = Histogram::exponential(0.001, 10, 3);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), b.size());
		CPPUNIT_ASSERT_DOUBLES_EQUAL(0.1, b[2], 1e-12);
	}

	void testNames()
	{
		CPPUNIT_ASSERT(Exposition::validName("imgate_sessions_online"));
		CPPUNIT_ASSERT(Exposition::validName("a:b_c9"));
		CPPUNIT_ASSERT(!Exposition::validName("9lives"));
		CPPUNIT_ASSERT(!Exposition::validName("has-dash"));
		CPPUNIT_ASSERT(!Exposition::validName(""));
	}

	void testGaugeMaximum()
	{
		Gauge g;
		g.raiseTo(5);
		g.raiseTo(3);
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(5), g.value());
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(5), g.take());
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), g.value());
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExpositionTest);
