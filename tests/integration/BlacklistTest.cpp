//
// BlacklistTest.cpp
//
// The blacklist plugin (the real blacklist.so, copied into a plugin folder
// like a user would) in a real imgated: address and uid bans, the allow
// list, reloading, kicking, temporary bans from another plugin's verdict.
//

#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>
#include <fstream>
#include <signal.h>

using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::test::ServerProcess;
using ProtocolStatus = imgate::protocol::Status;

class BlacklistTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BlacklistTest);
	CPPUNIT_TEST(testBannedAddressRefusedAtAccept);
	CPPUNIT_TEST(testBannedUidRefusedAtLogin);
	CPPUNIT_TEST(testBadLinesReportedWithFileAndLine);
	CPPUNIT_TEST(testReloadKicksNewlyBannedUid);
	CPPUNIT_TEST(testUnreadableFileKeepsOldList);
	CPPUNIT_TEST(testAllowList);
	CPPUNIT_TEST(testTemporaryBanFromVerdict);
	CPPUNIT_TEST(testMissingFileStopsStartup);
	CPPUNIT_TEST(testSighupReloads);
	CPPUNIT_TEST(testAddressBannedWhileOnlineIsKicked);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = ServerProcess::makeTempDir();
		_plugins = _dir + "plugins/";
		Poco::File(_plugins).createDirectories();
		Poco::File(std::string(IMGATE_PLUGIN_DIR) + "/blacklist.so").copyTo(_plugins);
		Poco::File(std::string(IMGATE_TEST_PLUGIN_DIR) + "/probe.so").copyTo(_plugins);
		_bans = _dir + "blacklist.txt";
	}

	void tearDown() override
	{
		Poco::File(_dir).remove(true);
	}

	ServerProcess::Settings settings(ServerProcess::Settings extra = {})
	{
		extra["plugins.dir"] = _plugins;
		if (!extra.count("plugins.load")) extra["plugins.load"] = "blacklist";
		if (!extra.count("plugins.blacklist.file")) extra["plugins.blacklist.file"] = _bans;
		if (!extra.count("plugins.blacklist.reloadInterval")) extra["plugins.blacklist.reloadInterval"] = "1";
		return extra;
	}

	static void expectRefusedAtAccept(ImgateClient& c, const std::string& message)
	{
		Reply r;
		CPPUNIT_ASSERT(c.receive(r, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.command() == Command::ERROR);
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT_EQUAL(message, r.parse<imgate::v1::Error>().message());
		CPPUNIT_ASSERT(c.waitClosed(Poco::Timespan(5, 0)));
	}

	void testBannedAddressRefusedAtAccept()
	{
		ServerProcess::writeFile(_bans, "ip 127.0.0.2\nip 127.0.9.0/24\n");
		ServerProcess server(settings());
		expectRefusedAtAccept(*server.connect("127.0.0.2"), "address banned");
		expectRefusedAtAccept(*server.connect("127.0.9.77"), "address banned");
		auto ok = server.connect("127.0.0.3");
		CPPUNIT_ASSERT(ok->login("alice", "").result() == ProtocolStatus::OK);
	}

	void testBannedUidRefusedAtLogin()
	{
		ServerProcess::writeFile(_bans, "uid mallory\n");
		ServerProcess server(settings());
		auto c = server.connect();
		Reply r = c->login("mallory", "");
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT_EQUAL(std::string("uid banned"), r.parse<imgate::v1::LoginResponse>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(server.login("alice") != nullptr);
	}

	void testBadLinesReportedWithFileAndLine()
	{
		ServerProcess::writeFile(_bans, "uid mallory\nhost evil.example\nip 999.1.1.1\nip 127.0.0.1/8\n");
		ServerProcess server(settings());
		CPPUNIT_ASSERT(server.waitForLog(_bans + ":2: unknown entry type \"host\" (expected ip or uid) (line skipped)"));
		CPPUNIT_ASSERT(server.waitForLog(_bans + ":3: expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got \"999.1.1.1\" (line skipped)"));
		// Host bits are refused as the admin API refuses them: the line bans
		// neither 127.0.0.0/8 nor 127.0.0.1.
		CPPUNIT_ASSERT(server.waitForLog(_bans + ":4: 127.0.0.1/8 has host bits set (did you mean 127.0.0.0/8?) (line skipped)"));
		CPPUNIT_ASSERT(server.connect("127.0.0.1")->login("alice", "").result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT(server.connect()->login("mallory", "").result() == ProtocolStatus::BANNED);
	}

	void testReloadKicksNewlyBannedUid()
	{
		ServerProcess::writeFile(_bans, "uid mallory\n");
		ServerProcess server(settings());
		auto alice = server.login("alice");
		ServerProcess::writeFile(_bans, "uid mallory\nuid alice   # banned while online\n");
		Reply kick;
		CPPUNIT_ASSERT(alice->receiveCommand(kick, Command::KICK, Poco::Timespan(8, 0)));
		CPPUNIT_ASSERT_EQUAL(3u, kick.parse<imgate::v1::Kick>().reason()); // BANNED
		CPPUNIT_ASSERT(alice->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(server.connect()->login("alice", "").result() == ProtocolStatus::BANNED);
	}

	void testUnreadableFileKeepsOldList()
	{
		ServerProcess::writeFile(_bans, "uid mallory\n");
		ServerProcess server(settings());
		Poco::File(_bans).remove();
		CPPUNIT_ASSERT(server.waitForLog("cannot read " + _bans + " (file not found): keeping the previous list in force", 8000));
		CPPUNIT_ASSERT(server.connect()->login("mallory", "").result() == ProtocolStatus::BANNED);
		// When it comes back, it is read again.
		ServerProcess::writeFile(_bans, "uid trudy\n");
		CPPUNIT_ASSERT(imgate::test::waitUntil([&]() { return server.connect()->login("trudy", "").result() == ProtocolStatus::BANNED; }, 8000, 200));
		CPPUNIT_ASSERT(server.connect()->login("mallory", "").result() == ProtocolStatus::OK);
	}

	void testAllowList()
	{
		ServerProcess::writeFile(_bans, "");
		std::string allow = _dir + "allow.txt";
		ServerProcess::writeFile(allow, "ip 127.0.0.1\nip 127.0.5.0/24\n");
		ServerProcess server(settings({{"plugins.blacklist.allowFile", allow}}));
		expectRefusedAtAccept(*server.connect("127.0.0.3"), "address not allowed");
		CPPUNIT_ASSERT(server.connect("127.0.5.9")->login("alice", "").result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT(server.connect("127.0.0.1")->login("bob", "").result() == ProtocolStatus::OK);
	}

	void testTemporaryBanFromVerdict()
	{
		// probe answers a LOGIN of uid eve with a 60 s ban. Before login the
		// uid is only a claim, so the blacklist bans the address alone:
		// anyone could otherwise lock any user out by naming them.
		ServerProcess::writeFile(_bans, "");
		ServerProcess server(settings({{"plugins.load", "blacklist, probe"}, {"plugins.probe.banUid", "eve"}}));
		auto eve = server.connect("127.0.0.4");
		CPPUNIT_ASSERT(eve->login("eve", "").result() == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT(eve->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(server.waitForLog("temporary ban address=127.0.0.4 uid= for 60 s"));
		CPPUNIT_ASSERT(server.log().find("uid=eve for 60 s") == std::string::npos);
		expectRefusedAtAccept(*server.connect("127.0.0.4"), "address banned");
		CPPUNIT_ASSERT(server.connect("127.0.0.5")->login("alice", "").result() == ProtocolStatus::OK);
	}

	void testMissingFileStopsStartup()
	{
		std::string path = _dir + "imgate.properties";
		ServerProcess::writeFile(path, "server.address = 127.0.0.1\nserver.port = 0\nplugins.dir = " + _plugins
			+ "\nplugins.load = blacklist\nplugins.blacklist.file = " + _dir + "nope.txt\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("plugin blacklist (" + _plugins + "blacklist.so): configuration: file: cannot read " + _dir + "nope.txt: file not found") != std::string::npos);
	}

	void testSighupReloads()
	{
		// Polling once an hour: only SIGHUP can make the change take effect now.
		ServerProcess::writeFile(_bans, "uid mallory\n");
		ServerProcess server(settings({{"plugins.blacklist.reloadInterval", "3600"}}));
		auto alice = server.login("alice");
		ServerProcess::writeFile(_bans, "uid alice\n");
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: plugins re-read their files"));
		Reply kick;
		CPPUNIT_ASSERT(alice->receiveCommand(kick, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(3u, kick.parse<imgate::v1::Kick>().reason());
		CPPUNIT_ASSERT(server.connect()->login("mallory", "").result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT_EQUAL(-1, server.waitExit(200)); // SIGHUP does not stop the server
	}

	void testAddressBannedWhileOnlineIsKicked()
	{
		ServerProcess::writeFile(_bans, "");
		ServerProcess server(settings());
		auto onBannedAddress = server.connect("127.0.0.12");
		CPPUNIT_ASSERT(onBannedAddress->login("carol", "").result() == ProtocolStatus::OK);
		auto elsewhere = server.login("dave");
		ServerProcess::writeFile(_bans, "ip 127.0.0.8/29\n"); // 127.0.0.8-15
		Reply kick;
		CPPUNIT_ASSERT(onBannedAddress->receiveCommand(kick, Command::KICK, Poco::Timespan(8, 0)));
		CPPUNIT_ASSERT_EQUAL(3u, kick.parse<imgate::v1::Kick>().reason());
		CPPUNIT_ASSERT(!elsewhere->receiveCommand(kick, Command::KICK, Poco::Timespan(0, 500000)));
	}

private:
	std::string _dir;
	std::string _plugins;
	std::string _bans;
};

CPPUNIT_TEST_SUITE_REGISTRATION(BlacklistTest);
