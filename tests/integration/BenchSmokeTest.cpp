//
// BenchSmokeTest.cpp
//
// imgate-bench against a real imgated: a small run of each scenario must
// log every session in and lose, duplicate and reorder nothing. No timing
// asserts: the figures themselves belong in docs/benchmarks.md.
//

#include "tests/support/ServerProcess.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::test::ServerProcess;

class BenchSmokeTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BenchSmokeTest);
	CPPUNIT_TEST(testMessages);
	CPPUNIT_TEST(testConnections);
	CPPUNIT_TEST_SUITE_END();

public:
	static Poco::JSON::Object::Ptr bench(const ServerProcess& server, std::vector<std::string> args)
	{
		args.insert(args.end(), {"--port", std::to_string(server.port()), "--json", "--quiet", "--sources", "127.0.0.1,127.0.0.2"});
		std::string out;
		int rc = ServerProcess::runProgram(IMGATE_BENCH_PATH, args, out, 120000);
		CPPUNIT_ASSERT_EQUAL_MESSAGE(out, 0, rc);
		const std::string::size_type json = out.rfind("\n{");
		CPPUNIT_ASSERT_MESSAGE(out, json != std::string::npos);
		Poco::JSON::Parser parser;
		return parser.parse(out.substr(json + 1)).extract<Poco::JSON::Object::Ptr>();
	}

	void testMessages()
	{
		ServerProcess server; // durable store (sqlite), anonymous logins
		Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "msg", "--pairs", "250", "--window", "4", "--duration", "5", "--warmup", "1"});
		CPPUNIT_ASSERT_EQUAL(500, r->getValue<int>("logged_in"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("failed"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("disconnected"));
		CPPUNIT_ASSERT(r->getValue<Poco::UInt64>("accepted") > 0);
		CPPUNIT_ASSERT_EQUAL(r->getValue<Poco::UInt64>("accepted"), r->getValue<Poco::UInt64>("delivered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("lost"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("duplicated"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("reordered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("foreign"));
	}

	void testConnections()
	{
		ServerProcess server;
		Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "conn", "--sessions", "500", "--hold", "2", "--heartbeat", "1"});
		CPPUNIT_ASSERT_EQUAL(500, r->getValue<int>("logged_in"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("failed"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("disconnected"));
		CPPUNIT_ASSERT(server.waitForLog("login uid=bench-499 "));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(BenchSmokeTest);
