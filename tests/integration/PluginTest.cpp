//
// PluginTest.cpp
//
// Real plugin .so files loaded from a folder into a real imgated.
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>
#include <signal.h>

using namespace imgate;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::test::ServerProcess;
using ProtocolStatus = imgate::protocol::Status;

class PluginTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(PluginTest);
	CPPUNIT_TEST(testLoadedAndLogged);
	CPPUNIT_TEST(testLoginRejectedConnectionStaysOpen);
	CPPUNIT_TEST(testBanVerdictCloses);
	CPPUNIT_TEST(testHookExceptionFailsOnlyThatRequest);
	CPPUNIT_TEST(testFrameAndAcceptHooksThrowing);
	CPPUNIT_TEST(testAuthenticatorIsNotBypassedByAnonymous);
	CPPUNIT_TEST(testFrameHookWithSessionState);
	CPPUNIT_TEST(testFrameHookSeesWhatASendAsks);
	CPPUNIT_TEST(testAcceptRefused);
	CPPUNIT_TEST(testAcceptRefusalsLoggedQuotedAndBounded);
	CPPUNIT_TEST(testBrokenPluginsStopStartup);
	CPPUNIT_TEST_SUITE_END();

public:
	static ServerProcess::Settings probe(ServerProcess::Settings extra)
	{
		extra["plugins.dir"] = IMGATE_TEST_PLUGIN_DIR;
		extra["plugins.load"] = "probe";
		return extra;
	}

	void testLoadedAndLogged()
	{
		ServerProcess server(probe({}));
		CPPUNIT_ASSERT(server.waitForLog("plugin probe loaded from " + std::string(IMGATE_TEST_PLUGIN_DIR) + "/probe.so (plugin API 1.3)"));
		CPPUNIT_ASSERT(server.login("alice")->login("x", "").result() == ProtocolStatus::ALREADY_LOGGED_IN);
	}

	void testLoginRejectedConnectionStaysOpen()
	{
		ServerProcess server(probe({{"plugins.probe.rejectUid", "mallory"}}));
		auto c = server.connect();
		Reply r = c->login("mallory", "");
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::RATE_LIMITED);
		CPPUNIT_ASSERT_EQUAL(std::string("probe: uid mallory refused"), r.parse<imgate::v1::LoginResponse>().message());
		CPPUNIT_ASSERT(c->login("alice", "").result() == ProtocolStatus::OK); // same connection
		CPPUNIT_ASSERT(server.waitForLog("login refused uid=mallory"));
	}

	void testBanVerdictCloses()
	{
		ServerProcess server(probe({{"plugins.probe.banUid", "eve"}}));
		auto c = server.connect();
		Reply r = c->login("eve", "");
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
	}

	void testHookExceptionFailsOnlyThatRequest()
	{
		ServerProcess server(probe({{"plugins.probe.throwOnUid", "boom"}}));
		auto other = server.login("alice");
		auto c = server.connect();
		CPPUNIT_ASSERT(c->login("boom", "").result() == ProtocolStatus::INTERNAL);
		CPPUNIT_ASSERT(server.waitForLog("imgate.plugin.probe: onLogin failed: probe: thrown on purpose"));
		CPPUNIT_ASSERT(c->login("bob", "").result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT(other->sendMessage("bob", 1, "still serving").result() == ProtocolStatus::OK);
	}

	void testFrameAndAcceptHooksThrowing()
	{
		{
			// Any throw (here an int, not a std::exception) fails that request only.
			ServerProcess server(probe({{"plugins.probe.throwOnFrameCmd", "16"}})); // MSG_SEND
			auto alice = server.login("alice");
			Reply r = alice->sendMessage("bob", 1, "x");
			CPPUNIT_ASSERT(r.result() == ProtocolStatus::INTERNAL);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt64(1), static_cast<Poco::UInt64>(r.parse<imgate::v1::MessageSendAck>().client_msg_id()));
			CPPUNIT_ASSERT(server.waitForLog("imgate.plugin.probe: onFrame failed with an unknown exception"));
			const Poco::UInt32 seq = alice->nextSeq();
			alice->send(Command::HEARTBEAT, seq);
			CPPUNIT_ASSERT(alice->receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(r.result() == ProtocolStatus::OK);
			CPPUNIT_ASSERT(!alice->closed());
		}
		{
			// A failing accept hook fails closed: no connection gets past it.
			ServerProcess server(probe({{"plugins.probe.throwOnAccept", "true"}}));
			auto c = server.connect();
			Reply r;
			CPPUNIT_ASSERT(c->receive(r, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(r.command() == Command::ERROR);
			CPPUNIT_ASSERT(r.result() == ProtocolStatus::INTERNAL);
			CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(server.waitForLog("imgate.plugin.probe: onAccept failed: probe: thrown on purpose at accept"));
		}
	}

	void testAuthenticatorIsNotBypassedByAnonymous()
	{
		ServerProcess server(probe({{"plugins.probe.authenticate", "true"}, {"auth.allowAnonymous", "true"}}));
		auto bad = server.connect();
		Reply r = bad->login("alice", "guess");
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::AUTH_FAILED);
		CPPUNIT_ASSERT(bad->waitClosed(Poco::Timespan(5, 0)));
		auto good = server.connect();
		CPPUNIT_ASSERT(good->login("alice", "let-me-in").result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT_MESSAGE("a token must never be logged", server.log().find("let-me-in") == std::string::npos);
		CPPUNIT_ASSERT(server.log().find("every login will be refused") == std::string::npos);
	}

	void testFrameHookWithSessionState()
	{
		ServerProcess server(probe({{"plugins.probe.maxFrames", "3"}}));
		auto c = server.connect();
		CPPUNIT_ASSERT(c->login("alice", "").result() == ProtocolStatus::OK); // frame 1
		for (int i = 2; i <= 4; ++i)
		{
			Poco::UInt32 seq = c->nextSeq();
			c->send(Command::HEARTBEAT, seq);
			Reply r;
			CPPUNIT_ASSERT(c->receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(r.result() == (i <= 3 ? ProtocolStatus::OK : ProtocolStatus::RATE_LIMITED));
		}
		CPPUNIT_ASSERT(!c->closed());
		// Another session has its own count.
		CPPUNIT_ASSERT(server.login("bob") != nullptr);
	}

	void testFrameHookSeesWhatASendAsks()
	{
		// Plugin API 1.3: onFrame of a MSG_SEND sees its uid or group and
		// whether it is transient (the probe refuses by them and names
		// what it saw; the server logs the refusal's message).
		ServerProcess server(probe({{"plugins.probe.refuseSendTo", "team"}, {"plugins.probe.refuseTransient", "true"}}));
		auto c = server.login("alice");
		auto send = [&c](const std::string& toUid, const std::string& toGroup, bool transient, Poco::UInt64 clientId)
		{
			imgate::v1::MessageSend m;
			m.set_to_uid(toUid);
			m.set_to_group(toGroup);
			m.set_transient(transient);
			m.set_client_msg_id(clientId);
			m.set_payload("hello");
			const Poco::UInt32 seq = c->nextSeq();
			c->send(Command::MSG_SEND, seq, m);
			Reply r;
			CPPUNIT_ASSERT(c->receiveReply(r, Command::MSG_SEND_ACK, seq, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT_EQUAL(clientId, static_cast<Poco::UInt64>(r.parse<imgate::v1::MessageSendAck>().client_msg_id()));
			return r.result();
		};
		CPPUNIT_ASSERT(send("team", "", false, 1) == ProtocolStatus::BAD_REQUEST);
		CPPUNIT_ASSERT(server.waitForLog("BAD_REQUEST \"probe: to uid team\""));
		CPPUNIT_ASSERT(send("", "team", false, 2) == ProtocolStatus::BAD_REQUEST);
		CPPUNIT_ASSERT(server.waitForLog("BAD_REQUEST \"probe: to group team\""));
		CPPUNIT_ASSERT(send("bob", "", true, 3) == ProtocolStatus::BAD_REQUEST);
		CPPUNIT_ASSERT(server.waitForLog("BAD_REQUEST \"probe: transient, 5 bytes\""));
		CPPUNIT_ASSERT(send("bob", "", false, 4) == ProtocolStatus::OK);
		// Before login the filters still see a MSG_SEND first; the server
		// then answers NOT_LOGGED_IN.
		auto anonymous = server.connect();
		imgate::v1::MessageSend m;
		m.set_to_uid("bob");
		m.set_client_msg_id(9);
		anonymous->send(Command::MSG_SEND, 1, m);
		Reply r;
		CPPUNIT_ASSERT(anonymous->receiveReply(r, Command::MSG_SEND_ACK, 1, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::NOT_LOGGED_IN);
	}

	void testAcceptRefused()
	{
		ServerProcess server(probe({{"plugins.probe.refuseAccept", "true"}}));
		auto c = server.connect();
		Reply r;
		CPPUNIT_ASSERT(c->receive(r, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.command() == Command::ERROR);
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::BANNED);
		CPPUNIT_ASSERT_EQUAL(std::string("probe: go away"), r.parse<imgate::v1::Error>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
	}

	static std::size_t count(const std::string& text, const std::string& what)
	{
		std::size_t n = 0;
		for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
		return n;
	}

	void testAcceptRefusalsLoggedQuotedAndBounded()
	{
		// The verdict's message is a plugin's text: one quoted field. A
		// flood of refused connections writes at most 60 lines a minute;
		// the sixtieth says the rest are only counted.
		ServerProcess server(probe({{"plugins.probe.refuseAccept", "true"}}));
		for (int i = 0; i < 75; ++i)
		{
			auto c = server.connect();
			Reply r;
			CPPUNIT_ASSERT(c->receive(r, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(r.result() == ProtocolStatus::BANNED);
		}
		// Each line is written before its ERROR is sent; SIGHUP's line
		// comes after all of them.
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: plugins re-read their files"));
		const std::string log = server.log();
		CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(60), count(log, "connection from 127.0.0.1 refused: \"probe: go away\""));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), count(log, "refused: \"probe: go away\" (more refused connections this minute are counted, not logged)"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), count(log, "refused: probe: go away"));
	}

	void testBrokenPluginsStopStartup()
	{
		const std::string dir = IMGATE_TEST_PLUGIN_DIR;
		struct Case
		{
			std::string load;
			std::string extra;
			std::string expected;
		};
		const std::string rebuild = ", this server provides 1.3 (rebuild the plugin against this server's SDK)";
		const std::string endWith = " (end the plugin with IMGATE_PLUGIN(Class))";
		const Case cases[] = {
			{"ghost", "", "plugin ghost (" + dir + "/ghost.so): file not found"},
			{"not-elf", "", "plugin not-elf (" + dir + "/not-elf.so): cannot load: invalid ELF header"},
			{"wrong-major", "", "plugin wrong-major (" + dir + "/wrong-major.so): built for plugin API 2.0" + rebuild},
			{"newer-minor", "", "plugin newer-minor (" + dir + "/newer-minor.so): built for plugin API 1.99" + rebuild},
			{"no-version", "", "plugin no-version (" + dir + "/no-version.so): not an imgate plugin: no imgate_plugin_api_version()" + endWith},
			{"no-manifest", "", "plugin no-manifest (" + dir + "/no-manifest.so): no class manifest" + endWith},
			{"wrong-class", "", "plugin wrong-class (" + dir + "/wrong-class.so): its class manifest is not for imgate::Filter" + endWith},
			{"two-classes", "", "plugin two-classes (" + dir + "/two-classes.so): must export exactly one filter class, exports 2"},
			{"probe", "plugins.probe.failInit = true\n", "plugin probe (" + dir + "/probe.so): configuration: failInit: asked to fail"}
		};
		// Longer than an ELF header (64 bytes), or dlopen says "file too short".
		ServerProcess::writeFile(dir + "/not-elf.so", std::string(200, '#') + "\nnot an ELF file\n");
		std::string tmp = ServerProcess::makeTempDir();
		for (const Case& c: cases)
		{
			std::string path = tmp + "imgate.properties";
			ServerProcess::writeFile(path, "server.address = 127.0.0.1\nserver.port = 0\nplugins.dir = " + dir + "\nplugins.load = " + c.load + "\n" + c.extra);
			std::string out;
			CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out));
			// The whole fatal line, exactly.
			CPPUNIT_ASSERT_MESSAGE(out, out.find(" F imgate.app: " + c.expected + "\n") != std::string::npos);
			CPPUNIT_ASSERT_MESSAGE(out, out.find("listening on") == std::string::npos);
		}
		Poco::File(dir + "/not-elf.so").remove();
		Poco::File(tmp).remove(true);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginTest);
