//
// ConfigTest.cpp
//
// The SDK's setting readers (imgate/Config.h): values, defaults, and the
// exact error texts a plugin's user sees.
//

#include "imgate/Config.h"
#include "Poco/AutoPtr.h"
#include "Poco/Util/MapConfiguration.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;

class ConfigTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ConfigTest);
	CPPUNIT_TEST(testInteger);
	CPPUNIT_TEST(testNumber);
	CPPUNIT_TEST(testBoolean);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pConfig = new Poco::Util::MapConfiguration;
	}

	template <class F>
	std::string errorOf(F f)
	{
		try
		{
			f();
		}
		catch (Poco::InvalidArgumentException& exc)
		{
			return exc.message();
		}
		CPPUNIT_FAIL("no InvalidArgumentException");
		return "";
	}

	void testInteger()
	{
		CPPUNIT_ASSERT_EQUAL(7L, config::integer(*_pConfig, "n", 7, 0, 10));
		_pConfig->setString("n", "10");
		CPPUNIT_ASSERT_EQUAL(10L, config::integer(*_pConfig, "n", 7, 0, 10));
		_pConfig->setString("n", "11");
		CPPUNIT_ASSERT_EQUAL(std::string("n: expected a whole number from 0 to 10, got 11"), errorOf([&]() { config::integer(*_pConfig, "n", 7, 0, 10); }));
		_pConfig->setString("n", "-1");
		CPPUNIT_ASSERT_EQUAL(std::string("n: expected a whole number from 0 to 10, got -1"), errorOf([&]() { config::integer(*_pConfig, "n", 7, 0, 10); }));
		_pConfig->setString("n", "1.5");
		CPPUNIT_ASSERT_EQUAL(std::string("n: expected a whole number from 0 to 10, got \"1.5\""), errorOf([&]() { config::integer(*_pConfig, "n", 7, 0, 10); }));
		_pConfig->setString("n", "99999999999999999999999");
		CPPUNIT_ASSERT_EQUAL(std::string("n: expected a whole number from 0 to 10, got \"99999999999999999999999\""), errorOf([&]() { config::integer(*_pConfig, "n", 7, 0, 10); }));
	}

	void testNumber()
	{
		CPPUNIT_ASSERT_EQUAL(2.5, config::number(*_pConfig, "r", 2.5, 0.001, 1e9));
		_pConfig->setString("r", "0.25");
		CPPUNIT_ASSERT_EQUAL(0.25, config::number(*_pConfig, "r", 2.5, 0.001, 1e9));
		_pConfig->setString("r", "0");
		CPPUNIT_ASSERT_EQUAL(std::string("r: expected a number from 0.001 to 1000000000, got 0"), errorOf([&]() { config::number(*_pConfig, "r", 1, 0.001, 1e9); }));
		_pConfig->setString("r", "fast");
		CPPUNIT_ASSERT_EQUAL(std::string("r: expected a number from 0.001 to 1000000000, got \"fast\""), errorOf([&]() { config::number(*_pConfig, "r", 1, 0.001, 1e9); }));
		_pConfig->setString("r", "nan");
		CPPUNIT_ASSERT(errorOf([&]() { config::number(*_pConfig, "r", 1, 0.001, 1e9); }).find("r: expected a number from 0.001 to 1000000000, got ") == 0);
	}

	void testBoolean()
	{
		CPPUNIT_ASSERT(config::boolean(*_pConfig, "b", true));
		_pConfig->setString("b", "no");
		CPPUNIT_ASSERT(!config::boolean(*_pConfig, "b", true));
		_pConfig->setString("b", "perhaps");
		CPPUNIT_ASSERT_EQUAL(std::string("b: expected true or false, got \"perhaps\""), errorOf([&]() { config::boolean(*_pConfig, "b", true); }));
	}

private:
	Poco::AutoPtr<Poco::Util::MapConfiguration> _pConfig;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);
