//
// BenchSmokeTest.cpp
//
// imgate-bench against a real imgated: a small run of each scenario must
// log every session in and lose, duplicate and reorder nothing (group: in
// every member; history: every page checked). No timing asserts: the
// figures themselves belong in docs/benchmarks.md.
//

#include "tests/support/ServerProcess.h"
#include "tests/support/TestCertificates.h"
#include "Poco/File.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::test::ServerProcess;
using imgate::test::TestCertificates;

class BenchSmokeTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BenchSmokeTest);
	CPPUNIT_TEST(testMessages);
	CPPUNIT_TEST(testTlsAndWebSocket);
	CPPUNIT_TEST(testConnections);
	CPPUNIT_TEST(testGroups);
	CPPUNIT_TEST(testGroupsNotCreated);
	CPPUNIT_TEST(testHistory);
	CPPUNIT_TEST(testMix);
	CPPUNIT_TEST_SUITE_END();

public:
	static Poco::JSON::Object::Ptr bench(const ServerProcess& server, std::vector<std::string> args, int expectedStatus = 0, Poco::UInt16 port = 0)
	{
		args.insert(args.end(), {"--port", std::to_string(port ? port : server.port()), "--json", "--quiet", "--sources", "127.0.0.1,127.0.0.2"});
		std::string out;
		int rc = ServerProcess::runProgram(IMGATE_BENCH_PATH, args, out, 120000);
		CPPUNIT_ASSERT_EQUAL_MESSAGE(out, expectedStatus, rc);
		const std::string::size_type json = out.rfind("\n{");
		CPPUNIT_ASSERT_MESSAGE(out, json != std::string::npos);
		Poco::JSON::Parser parser;
		return parser.parse(out.substr(json + 1)).extract<Poco::JSON::Object::Ptr>();
	}

	static void assertAllDelivered(const Poco::JSON::Object::Ptr& r, int loggedIn)
	{
		// Every session logged in and stayed; every accepted message was
		// delivered once, in order, to the session it was sent to.
		CPPUNIT_ASSERT_EQUAL(loggedIn, r->getValue<int>("logged_in"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("failed"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("disconnected"));
		CPPUNIT_ASSERT(r->getValue<Poco::UInt64>("accepted") > 0);
		CPPUNIT_ASSERT_EQUAL(r->getValue<Poco::UInt64>("accepted"), r->getValue<Poco::UInt64>("delivered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("lost"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("duplicated"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("reordered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("foreign"));
	}

	void testMessages()
	{
		ServerProcess server; // durable store (sqlite), anonymous logins
		Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "msg", "--pairs", "250", "--window", "4", "--duration", "5", "--warmup", "1"});
		assertAllDelivered(r, 500);
	}

	void testTlsAndWebSocket()
	{
		// imgate-bench's --tls and --ws paths against the server's
		// listeners: every session sets up its transport (the certificate
		// verified against the test CA) and logs in, and no message is lost,
		// duplicated or reordered. Their speed is compare-transports.sh's.
		TestCertificates certs;
		ServerProcess server({{"tls.port", std::to_string(TestCertificates::freePort())},
			{"tls.certificateFile", certs.path("server.pem")}, {"tls.privateKeyFile", certs.path("server.key")},
			{"websocket.port", std::to_string(TestCertificates::freePort())}});
		CPPUNIT_ASSERT(server.tlsPort() != 0 && server.webSocketPort() != 0);
		const std::string ws = "ws://127.0.0.1:" + std::to_string(server.webSocketPort()) + "/imgate";
		const struct { const char* name; Poco::UInt16 port; std::vector<std::string> args; } transports[] = {
			{"tls", server.tlsPort(), {"--tls", "--ca", certs.path("ca.pem")}},
			{"ws", server.webSocketPort(), {"--ws", ws}}};
		for (const auto& t: transports)
		{
			std::vector<std::string> conn{"--scenario", "conn", "--sessions", "200", "--hold", "1", "--uid-prefix", std::string("conn-") + t.name};
			conn.insert(conn.end(), t.args.begin(), t.args.end());
			Poco::JSON::Object::Ptr c = bench(server, conn, 0, t.port);
			CPPUNIT_ASSERT_EQUAL(std::string(t.name), c->getValue<std::string>("transport"));
			CPPUNIT_ASSERT_EQUAL(200, c->getValue<int>("logged_in"));
			CPPUNIT_ASSERT_EQUAL(0, c->getValue<int>("failed"));
			CPPUNIT_ASSERT_EQUAL(0, c->getValue<int>("disconnected"));
			std::vector<std::string> msg{"--scenario", "msg", "--pairs", "50", "--window", "4", "--duration", "2", "--warmup", "1", "--uid-prefix", std::string("msg-") + t.name};
			msg.insert(msg.end(), t.args.begin(), t.args.end());
			assertAllDelivered(bench(server, msg, 0, t.port), 100);
		}
		CPPUNIT_ASSERT(server.waitForLog("login uid=conn-tls-199 "));
		CPPUNIT_ASSERT(server.waitForLog("login uid=conn-ws-199 "));
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

	void testGroups()
	{
		// The bench creates the groups through the admin API with the
		// server's bearer token; 3 groups x 20 members, 2 senders each.
		const std::string dir = ServerProcess::makeTempDir();
		ServerProcess::writeFile(dir + "admin.token", "bench-smoke-admin-token-0123456789\n");
		{
			ServerProcess server({{"admin.tokenFile", dir + "admin.token"}});
			Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "group", "--groups", "3", "--members", "20", "--senders", "2",
				"--rate", "40", "--duration", "3", "--warmup", "1", "--admin-port", std::to_string(server.adminPort()),
				"--admin-token-file", dir + "admin.token"});
			CPPUNIT_ASSERT(server.waitForLog("admin: put group bench-g2: 20 members"));
			CPPUNIT_ASSERT_EQUAL(60, r->getValue<int>("logged_in"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("failed"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("disconnected"));
			const Poco::UInt64 accepted = r->getValue<Poco::UInt64>("accepted");
			CPPUNIT_ASSERT(accepted > 0);
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("refused"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("unanswered"));
			// Every accepted message reaches the 19 members but its sender, once, in order.
			CPPUNIT_ASSERT_EQUAL(accepted * 19, r->getValue<Poco::UInt64>("delivered"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("lost"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("duplicated"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("reordered"));
			CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("foreign"));
			CPPUNIT_ASSERT(r->getValue<Poco::UInt64>("messages_measured") > 0);
			CPPUNIT_ASSERT_EQUAL(r->getValue<Poco::UInt64>("messages_measured"), r->getValue<Poco::UInt64>("last_complete"));
		}
		Poco::File(dir).remove(true);
	}

	void testGroupsNotCreated()
	{
		// --admin-port 0: the caller was to create the groups and did not;
		// every send gets NOT_MEMBER, which the bench reports as a failure.
		ServerProcess server;
		Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "group", "--groups", "1", "--members", "5", "--rate", "20",
			"--duration", "1", "--warmup", "0", "--admin-port", "0"}, 1);
		CPPUNIT_ASSERT_EQUAL(5, r->getValue<int>("logged_in"));
		CPPUNIT_ASSERT(r->getValue<Poco::UInt64>("refused") > 0);
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("accepted"));
	}

	void testHistory()
	{
		ServerProcess server; // sqlite, history kept 7 days (the default)
		Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "history", "--messages", "5000", "--requests", "200"});
		CPPUNIT_ASSERT_EQUAL(5, r->getValue<int>("logged_in"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("disconnected"));
		CPPUNIT_ASSERT_EQUAL(5000, r->getValue<int>("accepted"));
		CPPUNIT_ASSERT_EQUAL(5000, r->getValue<int>("delivered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("lost"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("duplicated"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("reordered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("foreign"));
		CPPUNIT_ASSERT_EQUAL(200, r->getValue<int>("requests"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("history_errors"));
		// The 100 pages from the newest (with and without with_uid) are full.
		CPPUNIT_ASSERT(r->getValue<Poco::UInt64>("entries") >= 100 * 50);
	}

	void testMix()
	{
		// 50 sessions, each sending every 0.2 s to a random other: every
		// message accepted is delivered once, in order per sender, to the
		// session it was sent to, and none goes to a session that is gone.
		ServerProcess server;
		Poco::JSON::Object::Ptr r = bench(server, {"--scenario", "mix", "--sessions", "50", "--interval", "0.2", "--duration", "2", "--warmup", "1"});
		assertAllDelivered(r, 50);
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("unanswered"));
		CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("to_gone"));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(BenchSmokeTest);
