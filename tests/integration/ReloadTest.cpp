//
// ReloadTest.cpp
//
// SIGHUP against a real server: a changed rate limit, session setting,
// payload limit and blacklist file take effect without dropping connected
// sessions; keys that need a restart are named, and so is a live key that
// could only apply with one; a broken file keeps the running settings; no
// secret reaches the log.
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include "tests/support/Wait.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>
#include <csignal>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class ReloadTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ReloadTest);
	CPPUNIT_TEST(testLiveSettings);
	CPPUNIT_TEST(testBlacklistFile);
	CPPUNIT_TEST(testShorterHeartbeatSparesToldClients);
	CPPUNIT_TEST(testPayloadLimit);
	CPPUNIT_TEST(testBrokenFileKeepsSettings);
	CPPUNIT_TEST(testSecretsNotLogged);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = ServerProcess::makeTempDir();
		_bans = _dir + "blacklist.txt";
		ServerProcess::writeFile(_bans, "");
	}

	void tearDown() override
	{
		Poco::File(_dir).remove(true);
	}

	ServerProcess::Settings settings() const
	{
		return {
			{"store.type", "memory"},
			{"auth.allowAnonymous", "true"},
			{"plugins.dir", IMGATE_PLUGIN_DIR},
			{"plugins.load", "blacklist, ratelimit"},
			{"plugins.blacklist.file", _bans},
			{"plugins.blacklist.reloadInterval", "3600"}, // only SIGHUP reads the file again
			{"plugins.ratelimit.messagesPerSecond", "1000"},
			{"plugins.ratelimit.burst", "1000"},
			{"plugins.ratelimit.banAfter", "0"}};
	}

	static unsigned heartbeatIntervalOf(ServerProcess& server, const std::string& uid)
	{
		Reply r = server.connect()->login(uid, "");
		CPPUNIT_ASSERT(r.result() == Status::OK);
		return r.parse<imgate::v1::LoginResponse>().heartbeat_interval_s();
	}

	void testLiveSettings()
	{
		ServerProcess server(settings());
		auto alice = server.login("alice");
		for (Poco::UInt64 i = 1; i <= 5; ++i) CPPUNIT_ASSERT(alice->sendMessage("bob", i, "m").result() == Status::OK);
		CPPUNIT_ASSERT_EQUAL(30u, heartbeatIntervalOf(server, "carol"));

		server.rewriteConfig({{"plugins.ratelimit.messagesPerSecond", "0.001"}, {"plugins.ratelimit.burst", "2"},
			{"session.heartbeatInterval", "20"}, {"server.ioThreads", "3"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: plugins re-read their files"));
		const std::string log = server.log();
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: applied session.heartbeatInterval 30 -> 20") != std::string::npos);
		// The derived default follows: 3 x the interval.
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: applied session.heartbeatTimeout 90 -> 60") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: needs a restart, still running with the old value: server.ioThreads ") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find(" -> 3\n") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: applied plugins.ratelimit.burst 1000 -> 2") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: applied plugins.ratelimit.messagesPerSecond 1000 -> 0.001") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find("imgate.plugin.ratelimit: new limits: 0.001/s (burst 2) messages, 10/s (burst 20) group messages, 200/s (burst 400) frames") != std::string::npos);

		// alice stayed connected; her bucket now holds at most 2 tokens.
		CPPUNIT_ASSERT(!alice->closed());
		CPPUNIT_ASSERT(alice->sendMessage("bob", 6, "m").result() == Status::OK);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 7, "m").result() == Status::OK);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 8, "m").result() == Status::RATE_LIMITED);
		// New logins are told the new interval.
		CPPUNIT_ASSERT_EQUAL(20u, heartbeatIntervalOf(server, "dave"));

		// The same file again: nothing changes but what still needs the restart.
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return count(server.log(), "SIGHUP: plugins re-read their files") == 2; }));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), count(server.log(), "SIGHUP: applied session.heartbeatInterval"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), count(server.log(), "needs a restart, still running with the old value: server.ioThreads"));

		// A plugin key that needs a restart: the plugin applies none of the
		// changes, and each is named.
		server.rewriteConfig({{"plugins.ratelimit.maxTrackedIps", "5000"}, {"plugins.ratelimit.burst", "50"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return count(server.log(), "SIGHUP: plugins re-read their files") == 3; }));
		CPPUNIT_ASSERT_MESSAGE(server.log(), server.log().find("SIGHUP: needs a restart, still running with the old value: plugins.ratelimit.maxTrackedIps (unset) -> 5000") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(server.log(), server.log().find("SIGHUP: needs a restart, still running with the old value: plugins.ratelimit.burst 2 -> 50") != std::string::npos);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 9, "m").result() == Status::RATE_LIMITED);
	}

	void testShorterHeartbeatSparesToldClients()
	{
		// alice was told 30 s and keeps to it; a reload to 1 s must not time
		// her out after 3 s, while bob, told 1 s, is held to it.
		ServerProcess server(settings());
		auto alice = server.login("alice");
		server.rewriteConfig({{"session.heartbeatInterval", "1"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: applied session.heartbeatInterval 30 -> 1"));
		// A frame now, then as silent as bob: only the told interval keeps her.
		CPPUNIT_ASSERT(alice->sendMessage("alice", 2, "after the reload").result() == Status::OK);
		auto bob = server.connect();
		Reply r = bob->login("bob", "");
		CPPUNIT_ASSERT_EQUAL(1u, r.parse<imgate::v1::LoginResponse>().heartbeat_interval_s());
		CPPUNIT_ASSERT(bob->waitClosed(Poco::Timespan(8, 0))); // silent for 3 s
		CPPUNIT_ASSERT(server.waitForLog("heartbeat timeout uid=bob"));
		CPPUNIT_ASSERT(!alice->closed());
		CPPUNIT_ASSERT(alice->sendMessage("alice", 1, "still here").result() == Status::OK);
		CPPUNIT_ASSERT(server.log().find("heartbeat timeout uid=alice") == std::string::npos);
	}

	void testPayloadLimit()
	{
		// message.maxPayloadSize is live for connected sessions. A value that
		// only a larger protocol.maxBodySize (a restart) would allow is not
		// applied, says so, and the running limit keeps holding.
		ServerProcess server(settings());
		auto alice = server.login("alice");
		const std::string kilobyte(1000, 'x');
		CPPUNIT_ASSERT(alice->sendMessage("bob", 1, kilobyte).result() == Status::OK);
		server.rewriteConfig({{"message.maxPayloadSize", "100"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: applied message.maxPayloadSize 32768 -> 100"));
		CPPUNIT_ASSERT(alice->sendMessage("bob", 2, kilobyte).result() == Status::PAYLOAD_TOO_LARGE);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 3, std::string(100, 'x')).result() == Status::OK);

		server.rewriteConfig({{"message.maxPayloadSize", "100000"}, {"protocol.maxBodySize", "131072"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return count(server.log(), "SIGHUP: plugins re-read their files") == 2; }));
		const std::string log = server.log();
		CPPUNIT_ASSERT_MESSAGE(log, log.find("E imgate.app: SIGHUP: not applied: message.maxPayloadSize 100 -> 100000: message.maxPayloadSize (100000)"
			" must be at most protocol.maxBodySize - 256 (65280) so that a full MSG_SEND fits in a frame (protocol.maxBodySize needs a restart);"
			" restart to apply both") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: needs a restart, still running with the old value: protocol.maxBodySize 65536 -> 131072") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: applied message.maxPayloadSize 100 -> 100000") == std::string::npos);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 4, kilobyte).result() == Status::PAYLOAD_TOO_LARGE);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 5, std::string(100, 'x')).result() == Status::OK);
	}

	void testBlacklistFile()
	{
		ServerProcess server(settings());
		auto alice = server.login("alice");
		auto mallory = server.login("mallory");
		ServerProcess::writeFile(_bans, "uid mallory\n");
		server.signal(SIGHUP);
		Reply r;
		CPPUNIT_ASSERT(mallory->receiveCommand(r, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(3), r.parse<imgate::v1::Kick>().reason()); // BANNED
		CPPUNIT_ASSERT(server.connect()->login("mallory", "").result() == Status::BANNED);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: " + server.configPath() + " read again, no setting changed"));
		// alice was not touched.
		CPPUNIT_ASSERT(!alice->closed());
		CPPUNIT_ASSERT(alice->sendMessage("alice", 1, "still here").result() == Status::OK);
	}

	void testBrokenFileKeepsSettings()
	{
		ServerProcess server(settings());
		auto alice = server.login("alice");
		server.rewriteConfig({{"session.heartbeatInterval", "abc"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: plugins re-read their files"));
		const std::string log = server.log();
		const std::string expected = "E imgate.app: SIGHUP: " + server.configPath() + ":";
		const std::size_t at = log.find(expected);
		CPPUNIT_ASSERT_MESSAGE(log, at != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(log, log.find(": session.heartbeatInterval: expected a whole number from 1 to 3600, got \"abc\"; the running configuration stays", at) != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(30u, heartbeatIntervalOf(server, "bob"));

		server.rewriteConfig({{"session.heartbeatInterval", "20"}, {"session.heartbeatIntervall", "20"}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return count(server.log(), "SIGHUP: plugins re-read their files") == 2; }));
		CPPUNIT_ASSERT_MESSAGE(server.log(), server.log().find(": session.heartbeatIntervall: unknown key") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(30u, heartbeatIntervalOf(server, "carol"));

		// A file that vanished is reported the same way.
		Poco::File(server.configPath()).remove();
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return count(server.log(), "SIGHUP: plugins re-read their files") == 3; }));
		CPPUNIT_ASSERT_MESSAGE(server.log(), server.log().find("SIGHUP: " + server.configPath() + ": cannot read: ") != std::string::npos);
		CPPUNIT_ASSERT(!alice->closed());
	}

	void testSecretsNotLogged()
	{
		const std::string oldSecret = "old-secret-0123456789abcdef0123456789";
		const std::string newSecret = "new-secret-fedcba9876543210fedcba9876";
		ServerProcess server({{"store.type", "memory"}, {"plugins.dir", IMGATE_PLUGIN_DIR},
			{"plugins.load", "auth-jwt"}, {"plugins.auth-jwt.secret", oldSecret}});
		server.rewriteConfig({{"plugins.auth-jwt.secret", newSecret}});
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: plugins re-read their files"));
		const std::string log = server.log();
		CPPUNIT_ASSERT_MESSAGE(log, log.find("SIGHUP: needs a restart, still running with the old value: plugins.auth-jwt.secret (hidden) -> (hidden)") != std::string::npos);
		CPPUNIT_ASSERT(log.find(oldSecret) == std::string::npos);
		CPPUNIT_ASSERT(log.find(newSecret) == std::string::npos);
	}

private:
	static std::size_t count(const std::string& text, const std::string& what)
	{
		std::size_t n = 0;
		for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
		return n;
	}

	std::string _dir;
	std::string _bans;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReloadTest);
