//
// StartupTest.cpp
//
// Start-up errors are clear and final, with the documented exit codes.
//

#include "tests/support/ServerProcess.h"
#include "Poco/File.h"
#include "Poco/Net/ServerSocket.h"
#include <cstring>
#include <fstream>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cppunit/extensions/HelperMacros.h>

using imgate::test::ServerProcess;

class StartupTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(StartupTest);
	CPPUNIT_TEST(testVersion);
	CPPUNIT_TEST(testHelp);
	CPPUNIT_TEST(testMissingConfigFile);
	CPPUNIT_TEST(testBadValueNamesFileLineKey);
	CPPUNIT_TEST(testUnknownKey);
	CPPUNIT_TEST(testBadLoggingConfig);
	CPPUNIT_TEST(testBusyPort);
	CPPUNIT_TEST(testUnexpectedArgument);
	CPPUNIT_TEST(testUnknownOption);
	CPPUNIT_TEST(testStoreNotADatabase);
	CPPUNIT_TEST(testStoreInUse);
	CPPUNIT_TEST(testStoreKindIsLogged);
	CPPUNIT_TEST(testDevConfigServes);
	CPPUNIT_TEST(testDevPluginsConfigServes);
	CPPUNIT_TEST(testSystemdNotify);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = ServerProcess::makeTempDir();
	}

	void tearDown() override
	{
		Poco::File(_dir).remove(true);
	}

	std::string config(const std::string& text)
	{
		std::string path = _dir + "imgate.properties";
		ServerProcess::writeFile(path, text);
		return path;
	}

	static int countLines(const std::string& text, const std::string& needle)
	{
		int n = 0;
		for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
		return n;
	}

	void testVersion()
	{
		std::string out;
		CPPUNIT_ASSERT_EQUAL(0, ServerProcess::run({"--version"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("imgated ") == 0);
		CPPUNIT_ASSERT(out.find("protocol v1") != std::string::npos);
	}

	void testHelp()
	{
		std::string out;
		CPPUNIT_ASSERT_EQUAL(0, ServerProcess::run({"--help"}, out));
		CPPUNIT_ASSERT(out.find("--config") != std::string::npos);
		CPPUNIT_ASSERT(out.find("--daemon") != std::string::npos);
		CPPUNIT_ASSERT(out.find("--pidfile") != std::string::npos);
	}

	void testMissingConfigFile()
	{
		std::string path = _dir + "nope/imgate.properties";
		std::string out;
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out)); // EXIT_CONFIG
		CPPUNIT_ASSERT_MESSAGE(out, out.find(path + ": configuration file not found") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(1, countLines(out, "\n")); // one line, no stack of exceptions
	}

	void testBadValueNamesFileLineKey()
	{
		std::string path = config("# test\nserver.address = 127.0.0.1\nserver.port = 77x\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"-c", path}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find(path + ":3: server.port: expected a whole number from 0 to 65535, got \"77x\"") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(1, countLines(out, "\n"));
	}

	void testUnknownKey()
	{
		std::string path = config("server.address = 127.0.0.1\nsession.hearbeatInterval = 5\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find(path + ":2: session.hearbeatInterval: unknown key") != std::string::npos);
	}

	void testBadLoggingConfig()
	{
		std::string path = config("server.address = 127.0.0.1\nserver.port = 0\nlogging.loggers.l1.name = imgate\nlogging.loggers.l1.level = loud\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("loud") != std::string::npos);
	}

	void testBusyPort()
	{
		Poco::Net::ServerSocket busy(Poco::Net::SocketAddress("127.0.0.1", 0));
		std::string port = std::to_string(busy.address().port());
		std::string path = config("server.address = 127.0.0.1\nserver.port = " + port + "\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(69, ServerProcess::run({"--config=" + path}, out)); // EXIT_UNAVAILABLE
		CPPUNIT_ASSERT_MESSAGE(out, out.find("cannot listen on 127.0.0.1:" + port) != std::string::npos);
		CPPUNIT_ASSERT(out.find("in use") != std::string::npos);
	}

	void testUnexpectedArgument()
	{
		std::string out;
		CPPUNIT_ASSERT_EQUAL(64, ServerProcess::run({"extra"}, out)); // EXIT_USAGE
		CPPUNIT_ASSERT_MESSAGE(out, out.find("unexpected argument \"extra\"; see imgated --help") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(64, ServerProcess::run({"server.port=7701"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("unexpected argument \"server.port=7701\": server.port is a configuration key,"
			" set it in the file given with --config=PATH (docs/configuration.md); see imgated --help") != std::string::npos);
	}

	void testUnknownOption()
	{
		// One line on stderr that names the option and points to --help;
		// EXIT_CONFIG, as ServerApplication exits for a bad option.
		std::string out;
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--bogus"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("imgated: unknown option \"--bogus\"; see imgated --help\n"), out);
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"-c", _dir + "none.properties", "--server.port=abc"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("imgated: unknown option \"--server.port=abc\": server.port is a configuration key,"
			" set it in the file given with --config=PATH (docs/configuration.md); see imgated --help\n"), out);
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("imgated: bad option \"--config\": missing option argument: config requires PATH; see imgated --help\n"), out);
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--help=yes"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("imgated: bad option \"--help=yes\": ") == 0);
		// Checked before --daemon forks: the daemon's output went nowhere
		// and its parent exited 0.
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--daemon", "--bogus"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("imgated: unknown option \"--bogus\"; see imgated --help\n"), out);
		// --help ends the options, as before.
		CPPUNIT_ASSERT_EQUAL(0, ServerProcess::run({"--help", "--bogus"}, out));
		CPPUNIT_ASSERT(out.find("--config") != std::string::npos);
	}

	void testStoreNotADatabase()
	{
		std::string db = _dir + "imgate.db";
		ServerProcess::writeFile(db, std::string(10000, '#'));
		std::string path = config("server.address = 127.0.0.1\nserver.port = 0\nstore.path = " + db + "\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(74, ServerProcess::run({"--config=" + path}, out)); // EXIT_IOERR
		CPPUNIT_ASSERT_MESSAGE(out, out.find("store.path " + db + ": cannot use the database: file is not a database") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(1, countLines(out, "file is not a database"));
	}

	void testStoreInUse()
	{
		std::string db = _dir + "shared.db";
		ServerProcess first(ServerProcess::Settings{{"store.path", db}});
		std::string path = config("server.address = 127.0.0.1\nserver.port = 0\nstore.path = " + db + "\n");
		std::string out;
		CPPUNIT_ASSERT_EQUAL(74, ServerProcess::run({"--config=" + path}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("store.path " + db + " is in use by another imgated (pid ") != std::string::npos);
		// The first server is unharmed.
		auto alice = first.login("alice");
		CPPUNIT_ASSERT(alice->sendMessage("alice", 1, "still here").result() == imgate::protocol::Status::OK);
	}

	void testStoreKindIsLogged()
	{
		ServerProcess durable;
		CPPUNIT_ASSERT(durable.waitForLog("store: sqlite "));
		CPPUNIT_ASSERT(durable.log().find("(WAL, sync=full, group commit)") != std::string::npos);
		ServerProcess memory(ServerProcess::Settings{{"store.type", "memory"}});
		CPPUNIT_ASSERT(memory.waitForLog("store: memory (not durable: pending messages are lost when the server stops)"));
	}

	void testDevConfigServes()
	{
		// The README's development config (moved to 127.0.0.1, port 0):
		// anonymous login works and two users exchange a message.
		ServerProcess server(std::string(IMGATE_SOURCE_DIR) + "/etc/imgate.dev.properties", {});
		auto alice = server.login("alice");
		auto bob = server.login("bob");
		CPPUNIT_ASSERT(alice->sendMessage("bob", 1, "hi").result() == imgate::protocol::Status::OK);
		imgate::client::Reply d;
		CPPUNIT_ASSERT(bob->receiveCommand(d, imgate::protocol::Command::MSG_DELIVER, Poco::Timespan(5, 0)));
	}

	void testDevPluginsConfigServes()
	{
		// The README's run with all three plugins: relative paths resolve
		// against the working directory, so run from the source tree's
		// parent layout by making them absolute here.
		std::string src = IMGATE_SOURCE_DIR;
		ServerProcess server(src + "/etc/imgate.dev-plugins.properties", ServerProcess::Settings{
			{"plugins.dir", IMGATE_PLUGIN_DIR},
			{"plugins.blacklist.file", src + "/etc/blacklist.txt"},
			{"plugins.auth-jwt.secretFile", src + "/etc/dev-jwt.secret"}});
		CPPUNIT_ASSERT(server.waitForLog("plugin auth-jwt loaded"));
		auto c = server.connect();
		CPPUNIT_ASSERT(c->login("alice", "").result() == imgate::protocol::Status::AUTH_FAILED);
		std::string token;
		CPPUNIT_ASSERT_EQUAL(0, ServerProcess::runProgram(IMGATE_CLI_PATH,
			{"token", "--secret-file", src + "/etc/dev-jwt.secret", "--uid", "alice"}, token, 10000));
		while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
		CPPUNIT_ASSERT(server.connect()->login("alice", token).result() == imgate::protocol::Status::OK);
	}

private:
	std::string _dir;

	static std::string receiveNotification(int fd)
		/// The next sd_notify datagram, or "" after 10 s.
	{
		pollfd p{fd, POLLIN, 0};
		if (::poll(&p, 1, 10000) != 1) return "";
		char buffer[512];
		ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
		return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
	}

	void testSystemdNotify()
	{
		// A socket where systemd's would be: READY once listening, RELOADING
		// and READY around a SIGHUP, STOPPING on SIGTERM.
		const std::string path = _dir + "notify";
		int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		CPPUNIT_ASSERT(fd >= 0);
		sockaddr_un address{};
		address.sun_family = AF_UNIX;
		std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
		CPPUNIT_ASSERT_EQUAL(0, ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)));
		::setenv("NOTIFY_SOCKET", path.c_str(), 1);
		std::unique_ptr<ServerProcess> pServer;
		try
		{
			pServer.reset(new ServerProcess());
		}
		catch (...)
		{
			::unsetenv("NOTIFY_SOCKET");
			::close(fd);
			throw;
		}
		::unsetenv("NOTIFY_SOCKET");
		const std::string ready = "READY=1\nSTATUS=listening on 127.0.0.1:" + std::to_string(pServer->port());
		CPPUNIT_ASSERT_EQUAL(ready, receiveNotification(fd));
		pServer->signal(SIGHUP);
		CPPUNIT_ASSERT_EQUAL(std::string("RELOADING=1"), receiveNotification(fd));
		CPPUNIT_ASSERT_EQUAL(ready, receiveNotification(fd));
		pServer->signal(SIGTERM);
		CPPUNIT_ASSERT_EQUAL(std::string("STOPPING=1"), receiveNotification(fd));
		CPPUNIT_ASSERT_EQUAL(0, pServer->waitExit(10000));
		::close(fd);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(StartupTest);
