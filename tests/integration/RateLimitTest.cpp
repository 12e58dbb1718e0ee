//
// RateLimitTest.cpp
//
// The ratelimit plugin (the real ratelimit.so, with blacklist.so to record
// escalated bans) in a real imgated.
//

#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "tests/support/Wait.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>
#include <map>
#include <vector>

using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::FrameEncoder;
using imgate::test::ServerProcess;
using ProtocolStatus = imgate::protocol::Status;

class RateLimitTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(RateLimitTest);
	CPPUNIT_TEST(testMessagesPerSession);
	CPPUNIT_TEST(testGroupMessagesPerSession);
	CPPUNIT_TEST(testLoginAttemptsPerAddress);
	CPPUNIT_TEST(testConnectionsPerAddress);
	CPPUNIT_TEST(testAbuseEscalatesToBan);
	CPPUNIT_TEST(testConnectFloodEscalatesToBan);
	CPPUNIT_TEST(testEscalationCadenceWithoutBlacklist);
	CPPUNIT_TEST(testTemporaryBanTable);
	CPPUNIT_TEST(testBadSettingStopsStartup);
	CPPUNIT_TEST_SUITE_END();

public:
	static ServerProcess::Settings settings(ServerProcess::Settings extra)
	{
		extra["plugins.dir"] = IMGATE_PLUGIN_DIR;
		if (!extra.count("plugins.load")) extra["plugins.load"] = "ratelimit";
		return extra;
	}

	static void expectRefusals(ServerProcess& server, const std::string& address, const std::vector<std::pair<ProtocolStatus, std::string>>& expected)
	{
		for (const auto& e: expected)
		{
			auto refused = server.connect(address);
			Reply r;
			CPPUNIT_ASSERT(refused->receive(r, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(r.command() == Command::ERROR);
			CPPUNIT_ASSERT(r.result() == e.first);
			CPPUNIT_ASSERT_EQUAL(e.second, r.parse<imgate::v1::Error>().message());
			CPPUNIT_ASSERT(refused->waitClosed(Poco::Timespan(5, 0)));
		}
	}

	static std::size_t count(const std::string& text, const std::string& what)
	{
		std::size_t n = 0;
		for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
		return n;
	}

	void testMessagesPerSession()
	{
		ServerProcess server(settings({{"plugins.ratelimit.messagesPerSecond", "0.5"}, {"plugins.ratelimit.burst", "3"}, {"plugins.ratelimit.banAfter", "0"}}));
		auto alice = server.login("alice");
		std::string wire;
		for (Poco::UInt32 i = 1; i <= 10; ++i)
		{
			imgate::v1::MessageSend m;
			m.set_to_uid("bob");
			m.set_client_msg_id(i);
			m.set_payload("x");
			FrameEncoder::append(wire, Command::MSG_SEND, ProtocolStatus::OK, i, m);
		}
		alice->sendRaw(wire);
		int ok = 0, limited = 0;
		for (int i = 0; i < 10; ++i)
		{
			Reply r;
			CPPUNIT_ASSERT(alice->receiveCommand(r, Command::MSG_SEND_ACK, Poco::Timespan(5, 0)));
			if (r.result() == ProtocolStatus::OK) ++ok;
			else if (r.result() == ProtocolStatus::RATE_LIMITED)
			{
				++limited;
				CPPUNIT_ASSERT_EQUAL(Poco::UInt64(r.seq), static_cast<Poco::UInt64>(r.parse<imgate::v1::MessageSendAck>().client_msg_id()));
			}
		}
		CPPUNIT_ASSERT_EQUAL(3, ok); // the burst; 0.5/s refills nothing in the meantime
		CPPUNIT_ASSERT_EQUAL(7, limited);
		CPPUNIT_ASSERT(!alice->closed()); // the connection stays open
	}

	void testGroupMessagesPerSession()
	{
		// The server tells the plugin which sends go to a group (plugin
		// API 1.3): with a group burst of 2 the third group message is
		// refused, while 1:1 messages and the members' deliveries (one per
		// member, 3 members) take nothing from it.
		ServerProcess server(settings({{"plugins.ratelimit.groupMessagesPerSecond", "0.01"}, {"plugins.ratelimit.groupBurst", "2"},
			{"plugins.ratelimit.burst", "10"}, {"plugins.ratelimit.banAfter", "0"}, {"admin.allowNoToken", "true"}}));
		imgate::test::Http h = imgate::test::request(server.adminPort(), "PUT", "/v1/groups/team", "", "{\"members\": [\"alice\", \"bob\", \"carol\", \"dave\"]}", true);
		CPPUNIT_ASSERT_EQUAL_MESSAGE(h.body, 200, h.status);
		auto alice = server.login("alice");
		auto bob = server.login("bob");
		std::string wire;
		for (Poco::UInt32 i = 1; i <= 5; ++i)
		{
			imgate::v1::MessageSend m;
			if (i == 3 || i == 5) m.set_to_uid("bob");
			else m.set_to_group("team");
			m.set_client_msg_id(i);
			m.set_payload("m" + std::to_string(i));
			FrameEncoder::append(wire, Command::MSG_SEND, ProtocolStatus::OK, i, m);
		}
		alice->sendRaw(wire);
		std::map<Poco::UInt32, ProtocolStatus> results;
		for (int i = 0; i < 5; ++i)
		{
			Reply r;
			CPPUNIT_ASSERT(alice->receiveCommand(r, Command::MSG_SEND_ACK, Poco::Timespan(5, 0)));
			results[r.seq] = r.result();
		}
		CPPUNIT_ASSERT(results[1] == ProtocolStatus::OK);
		CPPUNIT_ASSERT(results[2] == ProtocolStatus::OK);
		CPPUNIT_ASSERT(results[3] == ProtocolStatus::OK);
		CPPUNIT_ASSERT(results[4] == ProtocolStatus::RATE_LIMITED);
		CPPUNIT_ASSERT(results[5] == ProtocolStatus::OK);
		// bob got the two group messages and the two 1:1 ones, in order.
		std::vector<std::string> got;
		for (int i = 0; i < 4; ++i)
		{
			Reply r;
			CPPUNIT_ASSERT(bob->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
			got.push_back(r.parse<imgate::v1::MessageDeliver>().payload());
		}
		CPPUNIT_ASSERT((got == std::vector<std::string>{"m1", "m2", "m3", "m5"}));
	}

	void testLoginAttemptsPerAddress()
	{
		ServerProcess server(settings({{"plugins.ratelimit.loginsPerSecondPerIp", "0.2"}, {"plugins.ratelimit.loginBurst", "2"}, {"plugins.ratelimit.banAfter", "0"}}));
		CPPUNIT_ASSERT(server.connect("127.0.0.6")->login("a1", "").result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT(server.connect("127.0.0.6")->login("a2", "").result() == ProtocolStatus::OK);
		auto third = server.connect("127.0.0.6");
		Reply r = third->login("a3", "");
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::RATE_LIMITED);
		CPPUNIT_ASSERT_EQUAL(std::string("too many login attempts from this address"), r.parse<imgate::v1::LoginResponse>().message());
		CPPUNIT_ASSERT(!third->closed());
		CPPUNIT_ASSERT(server.connect("127.0.0.7")->login("b1", "").result() == ProtocolStatus::OK); // another address
	}

	void testConnectionsPerAddress()
	{
		ServerProcess server(settings({{"plugins.ratelimit.connectsPerSecondPerIp", "0.2"}, {"plugins.ratelimit.connectBurst", "2"}, {"plugins.ratelimit.banAfter", "0"}}));
		auto a = server.connect("127.0.0.9");
		auto b = server.connect("127.0.0.9");
		auto c = server.connect("127.0.0.9");
		Reply r;
		CPPUNIT_ASSERT(c->receive(r, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.command() == Command::ERROR);
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::RATE_LIMITED);
		CPPUNIT_ASSERT_EQUAL(std::string("too many connections from this address"), r.parse<imgate::v1::Error>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(a->login("first", "").result() == ProtocolStatus::OK);
	}

	void testAbuseEscalatesToBan()
	{
		ServerProcess server(settings({{"plugins.load", "blacklist, ratelimit"},
			{"plugins.ratelimit.framesPerSecond", "0.1"}, {"plugins.ratelimit.frameBurst", "2"},
			{"plugins.ratelimit.banAfter", "3"}, {"plugins.ratelimit.banSeconds", "2"}}));
		auto flooder = server.connect("127.0.0.10");
		std::string wire;
		for (Poco::UInt32 i = 1; i <= 10; ++i) FrameEncoder::append(wire, Command::HEARTBEAT, ProtocolStatus::OK, i);
		flooder->sendRaw(wire);
		std::vector<ProtocolStatus> statuses;
		Reply r;
		while (flooder->receiveCommand(r, Command::HEARTBEAT_RESP, Poco::Timespan(3, 0))) statuses.push_back(r.result());
		CPPUNIT_ASSERT(flooder->closed());
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), statuses.size()); // 2 ok, 2 limited, then the ban
		CPPUNIT_ASSERT(statuses[0] == ProtocolStatus::OK && statuses[1] == ProtocolStatus::OK);
		CPPUNIT_ASSERT(statuses[2] == ProtocolStatus::RATE_LIMITED && statuses[3] == ProtocolStatus::RATE_LIMITED);
		CPPUNIT_ASSERT(statuses[4] == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT(server.waitForLog("temporary ban address=127.0.0.10"));
		auto again = server.connect("127.0.0.10");
		CPPUNIT_ASSERT(again->receive(r, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT(server.connect("127.0.0.11")->login("innocent", "").result() == ProtocolStatus::OK);
		// The ban expires (banSeconds = 2).
		CPPUNIT_ASSERT(imgate::test::waitUntil([&]()
		{
			try
			{
				return server.connect("127.0.0.10")->login("reformed", "").result() == ProtocolStatus::OK;
			}
			catch (Poco::Exception&)
			{
				return false;
			}
		}, 8000, 250));
	}

	void testConnectFloodEscalatesToBan()
	{
		// A ban verdict at accept reaches the blacklist, which then refuses
		// the address before the ratelimit plugin even sees it.
		ServerProcess server(settings({{"plugins.load", "blacklist, ratelimit"},
			{"plugins.ratelimit.connectsPerSecondPerIp", "0.1"}, {"plugins.ratelimit.connectBurst", "1"},
			{"plugins.ratelimit.banAfter", "2"}, {"plugins.ratelimit.banSeconds", "60"}}));
		auto first = server.connect("127.0.0.12");
		expectRefusals(server, "127.0.0.12", {
			{ProtocolStatus::RATE_LIMITED, "too many connections from this address"},
			{ProtocolStatus::BANNED, "rate limit exceeded repeatedly"},
			{ProtocolStatus::BANNED, "address banned"},
			{ProtocolStatus::BANNED, "address banned"}
		});
		CPPUNIT_ASSERT(server.waitForLog("temporary ban address=127.0.0.12 uid= for 60 s (filter verdict: \"rate limit exceeded repeatedly\")"));
		// The server's own line quotes the reason (it is a plugin's text).
		CPPUNIT_ASSERT(server.waitForLog("ban address=127.0.0.12 uid= for 60 s by filter verdict: \"rate limit exceeded repeatedly\""));
		CPPUNIT_ASSERT(server.waitForLog("connection flood from 127.0.0.12: 2 refusals in a row, banning for 60 s"));
		// The connection accepted before the ban is kicked; other addresses carry on.
		Reply kick;
		CPPUNIT_ASSERT(first->receiveCommand(kick, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(server.connect("127.0.0.13")->login("innocent", "").result() == ProtocolStatus::OK);
	}

	void testEscalationCadenceWithoutBlacklist()
	{
		// No blacklist records the ban: every banAfter-th refusal escalates
		// again, the ones between stay plain refusals (and are not logged).
		ServerProcess server(settings({{"plugins.ratelimit.connectsPerSecondPerIp", "0.1"}, {"plugins.ratelimit.connectBurst", "1"},
			{"plugins.ratelimit.banAfter", "2"}}));
		auto first = server.connect("127.0.0.16");
		const std::pair<ProtocolStatus, std::string> limited{ProtocolStatus::RATE_LIMITED, "too many connections from this address"};
		const std::pair<ProtocolStatus, std::string> banned{ProtocolStatus::BANNED, "rate limit exceeded repeatedly"};
		expectRefusals(server, "127.0.0.16", {limited, banned, limited, banned, limited});
		CPPUNIT_ASSERT(server.waitForLog("connection flood from 127.0.0.16: 2 refusals in a row, banning for 60 s"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), count(server.log(), "connection flood from 127.0.0.16"));
	}

	void testTemporaryBanTable()
	{
		// ratelimit before blacklist, so that a banned address keeps reaching
		// the ratelimit plugin and its bans are renewed.
		ServerProcess server(settings({{"plugins.load", "ratelimit, blacklist"},
			{"plugins.ratelimit.connectsPerSecondPerIp", "0.1"}, {"plugins.ratelimit.connectBurst", "1"},
			{"plugins.ratelimit.banAfter", "2"}, {"plugins.ratelimit.banSeconds", "1"},
			{"plugins.blacklist.maxTemporaryBans", "1"}, {"plugins.blacklist.reloadInterval", "1"}}));
		const std::pair<ProtocolStatus, std::string> limited{ProtocolStatus::RATE_LIMITED, "too many connections from this address"};
		const std::pair<ProtocolStatus, std::string> banned{ProtocolStatus::BANNED, "rate limit exceeded repeatedly"};
		auto a = server.connect("127.0.0.14");
		expectRefusals(server, "127.0.0.14", {limited, banned, limited, banned});
		// Both bans of .14 recorded: the second renews the one entry.
		CPPUNIT_ASSERT(imgate::test::waitUntil([&]() { return count(server.log(), "temporary ban address=127.0.0.14 ") == 2; }, 5000, 50));
		// The table (1 entry) is full for another address.
		auto b = server.connect("127.0.0.15");
		expectRefusals(server, "127.0.0.15", {limited, banned});
		CPPUNIT_ASSERT(server.waitForLog("ban table full (1 entries): ban of address=127.0.0.15 uid= not recorded"));
		// .14's ban expires and the blacklist's watcher prunes it (no list
		// files, no further lookup of .14): then .15's next ban is recorded.
		// Expiry and pruning on a clock the test moves are
		// BlacklistFilterTest's; here a real server's watcher thread does
		// it, so real time must pass: the shortest the settings allow
		// (banSeconds and reloadInterval of 1 s), until the watcher says so.
		CPPUNIT_ASSERT(server.waitForLog("temporary bans expired: 1 (0 in force)", 10000));
		expectRefusals(server, "127.0.0.15", {limited, banned});
		CPPUNIT_ASSERT(server.waitForLog("temporary ban address=127.0.0.15 uid= for 1 s"));
	}

	void testBadSettingStopsStartup()
	{
		const std::string plugin = "plugin ratelimit (" + std::string(IMGATE_PLUGIN_DIR) + "/ratelimit.so): configuration: ";
		const std::pair<std::string, std::string> cases[] = {
			{"messagesPerSecond = 0", "messagesPerSecond: expected a number from 0.001 to 1000000000, got 0"},
			{"burst = 0.5", "burst: expected a number from 1 to 1000000000, got 0.5"},
			{"framesPerSecond = fast", "framesPerSecond: expected a number from 0.001 to 1000000000, got \"fast\""},
			{"banSeconds = 0", "banSeconds: expected a whole number from 1 to 604800, got 0"},
			{"maxTrackedIps = lots", "maxTrackedIps: expected a whole number from 16 to 100000000, got \"lots\""}
		};
		std::string dir = ServerProcess::makeTempDir();
		std::string path = dir + "imgate.properties";
		for (const auto& c: cases)
		{
			ServerProcess::writeFile(path, "server.address = 127.0.0.1\nserver.port = 0\nplugins.dir = " + std::string(IMGATE_PLUGIN_DIR)
				+ "\nplugins.load = ratelimit\nplugins.ratelimit." + c.first + "\n");
			std::string out;
			CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out));
			CPPUNIT_ASSERT_MESSAGE(out, out.find(plugin + c.second + "\n") != std::string::npos);
		}
		Poco::File(dir).remove(true);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(RateLimitTest);
