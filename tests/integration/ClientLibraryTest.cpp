//
// ClientLibraryTest.cpp
//
// The C++ client library (imgate::client::Client) against a real imgated:
// exchange both ways; 1,000 sends with the server killed (SIGKILL) and
// restarted in the middle, each delivered exactly once, in order; a
// server that stops reading, found by the heartbeat and recovered from;
// KICK DUPLICATE_LOGIN ends the client; a refreshed token after
// AUTH_FAILED; TLS with a test CA.
//

#include "imgate/client/BlockingClient.h"
#include "imgate/client/Client.h"
#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/TestCertificates.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/File.h"
#include "Poco/Pipe.h"
#include "Poco/PipeStream.h"
#include "Poco/Process.h"
#include "Poco/String.h"
#include <cppunit/extensions/HelperMacros.h>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <signal.h>

using imgate::client::Client;
using imgate::client::ClientOptions;
using imgate::client::Kick;
using imgate::client::KickReason;
using imgate::client::Message;
using imgate::client::SendResult;
using imgate::client::State;
namespace StatusCode = imgate::client::StatusCode;
using imgate::test::ServerProcess;
namespace test = imgate::test;
using imgate::test::TestCertificates;

namespace {

class Inbox
	/// What a client's handler got, in order.
{
public:
	void attach(Client& client)
	{
		client.onMessage([this](const Message& m)
		{
			std::lock_guard<std::mutex> lock(_mutex);
			_messages.push_back(m);
			_changed.notify_all();
		});
	}

	bool waitFor(std::size_t count, int seconds)
	{
		std::unique_lock<std::mutex> lock(_mutex);
		return _changed.wait_for(lock, std::chrono::seconds(seconds), [&]() { return _messages.size() >= count; });
	}

	std::vector<Message> messages()
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _messages;
	}

private:
	std::mutex _mutex;
	std::condition_variable _changed;
	std::vector<Message> _messages;
};


class Reports
	/// What a client said to onError, one line each.
{
public:
	void attach(Client& client)
	{
		client.onError([this](const std::string& what)
		{
			std::lock_guard<std::mutex> lock(_mutex);
			_text += what + "\n";
		});
	}

	std::string text()
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _text;
	}

private:
	std::mutex _mutex;
	std::string _text;
};


template <class T>
T get(std::future<T>& future, int seconds = 10)
	/// The result, or Poco::TimeoutException: a test never waits without end.
{
	if (future.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready)
		throw Poco::TimeoutException("no result within " + std::to_string(seconds) + " s");
	return future.get();
}


template <class T>
T get(std::future<T>&& future, int seconds = 10)
{
	return get(future, seconds);
}

} // namespace


class ClientLibraryTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ClientLibraryTest);
	CPPUNIT_TEST(testExchangeBothWays);
	CPPUNIT_TEST(testServerKilledMidStream);
	CPPUNIT_TEST(testServerThatStopsReading);
	CPPUNIT_TEST(testDuplicateLoginEndsTheClient);
	CPPUNIT_TEST(testTokenRefreshedAfterAuthFailed);
	CPPUNIT_TEST(testTlsWithTestCa);
	CPPUNIT_TEST(testRefusalIsFinal);
	CPPUNIT_TEST(testConsoleChatExample);
	CPPUNIT_TEST(testOutboxFileSurvivesTheApplication);
	CPPUNIT_TEST(testHistory);
	CPPUNIT_TEST(testWebSocket);
	CPPUNIT_TEST(testWebSocketOverTls);
	CPPUNIT_TEST(testBlockingClient);
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

	static ClientOptions options(Poco::UInt16 port, const std::string& uid)
	{
		ClientOptions o;
		o.host = "127.0.0.1";
		o.port = port;
		o.uid = uid;
		// Long enough for a LOGIN_RESP from a sanitized server on a busy
		// machine (a login not answered in time is retried with backoff).
		o.connectTimeout = Poco::Timespan(5, 0);
		o.reconnectDelay = Poco::Timespan(0, 100000);
		o.maxReconnectDelay = Poco::Timespan(1, 0);
		return o;
	}

	void testExchangeBothWays()
	{
		ServerProcess server;
		Inbox aliceGot; // before the clients: their threads call it until they are gone
		Client alice(options(server.port(), "alice"));
		Client bob(options(server.port(), "bob"));
		aliceGot.attach(alice);
		// bob answers every message on his own client's thread.
		bob.onMessage([&bob](const Message& m) { bob.send(m.fromUid, "re: " + m.payload); });
		alice.start();
		bob.start();
		CPPUNIT_ASSERT(bob.waitState(State::ONLINE, Poco::Timespan(5, 0)));

		auto sent = alice.send("bob", "hello");
		const SendResult result = get(sent);
		CPPUNIT_ASSERT_EQUAL(StatusCode::OK + 0, result.status);
		CPPUNIT_ASSERT(result.msgId > 0);
		CPPUNIT_ASSERT(result.clientMsgId > 0);
		CPPUNIT_ASSERT(aliceGot.waitFor(1, 10));
		const Message reply = aliceGot.messages().at(0);
		CPPUNIT_ASSERT_EQUAL(std::string("re: hello"), reply.payload);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), reply.fromUid);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), reply.toUid);
		CPPUNIT_ASSERT(reply.msgId > result.msgId);
		CPPUNIT_ASSERT(!reply.carbon && !reply.transient);
		alice.close();
		bob.close();
		CPPUNIT_ASSERT(alice.state() == State::CLOSED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), alice.outboxSize());
	}

	void testServerKilledMidStream()
	{
		const ServerProcess::Settings settings{{"server.port", std::to_string(TestCertificates::freePort())},
			{"store.path", _dir + "imgate.db"}, {"server.drainTime", "0"}};
		std::unique_ptr<ServerProcess> pServer(new ServerProcess(settings));
		Inbox bobGot;
		Client alice(options(pServer->port(), "alice"));
		Client bob(options(pServer->port(), "bob"));
		bobGot.attach(bob);
		alice.start();
		bob.start();
		const int n = 1000;
		std::vector<std::future<SendResult>> results;
		for (int i = 0; i < n; ++i) results.push_back(alice.send("bob", std::to_string(i)));
		// Kill the server somewhere in the middle of the stream.
		CPPUNIT_ASSERT(bobGot.waitFor(n / 4, 20));
		pServer->signal(SIGKILL);
		CPPUNIT_ASSERT_EQUAL(128 + SIGKILL, pServer->waitExit(10000));
		CPPUNIT_ASSERT(bobGot.messages().size() < static_cast<std::size_t>(n)); // really in the middle
		pServer.reset();
		pServer.reset(new ServerProcess(settings));

		for (int i = 0; i < n; ++i)
		{
			const SendResult result = get(results[i], 30);
			CPPUNIT_ASSERT_EQUAL_MESSAGE("send " + std::to_string(i), StatusCode::OK + 0, result.status);
		}
		CPPUNIT_ASSERT(bobGot.waitFor(n, 30));
		// Nothing more arrives: wait past the server's ack delay and a retransmission round trip.
		Poco::Thread::sleep(1500);
		const std::vector<Message> got = bobGot.messages();
		CPPUNIT_ASSERT_EQUAL(std::size_t(n), got.size());
		for (int i = 0; i < n; ++i)
		{
			CPPUNIT_ASSERT_EQUAL(std::to_string(i), got[i].payload);
			if (i > 0) CPPUNIT_ASSERT(got[i].msgId > got[i - 1].msgId);
		}
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), alice.outboxSize());
	}

	void testServerThatStopsReading()
	{
		const ServerProcess::Settings settings{{"session.heartbeatInterval", "1"}};
		ServerProcess server(settings);
		Inbox bobGot;
		Client alice(options(server.port(), "alice"));
		Client bob(options(server.port(), "bob"));
		bobGot.attach(bob);
		alice.start();
		bob.start();
		CPPUNIT_ASSERT(bob.waitState(State::ONLINE, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(alice.waitState(State::ONLINE, Poco::Timespan(5, 0)));

		server.signal(SIGSTOP); // reads nothing, answers nothing; TCP stays up
		// Two intervals and a second of silence: the client drops the connection.
		CPPUNIT_ASSERT(alice.waitState(State::RECONNECTING, Poco::Timespan(10, 0)));
		auto sent = alice.send("bob", "sent during the cut");
		server.signal(SIGCONT);
		CPPUNIT_ASSERT(alice.waitState(State::ONLINE, Poco::Timespan(15, 0)));
		CPPUNIT_ASSERT_EQUAL(StatusCode::OK + 0, get(sent, 15).status);
		CPPUNIT_ASSERT(bobGot.waitFor(1, 15));
		CPPUNIT_ASSERT_EQUAL(std::string("sent during the cut"), bobGot.messages().at(0).payload);
	}

	void testDuplicateLoginEndsTheClient()
	{
		ServerProcess server;
		std::mutex mutex;
		std::vector<Kick> kicks;
		Client carol(options(server.port(), "carol"));
		carol.onKick([&](const Kick& k)
		{
			{
				std::lock_guard<std::mutex> lock(mutex);
				kicks.push_back(k);
			}
			throw std::runtime_error("an application bug"); // must not change what the KICK does
		});
		carol.start();
		CPPUNIT_ASSERT(carol.waitState(State::ONLINE, Poco::Timespan(5, 0)));
		auto other = server.login("carol");
		CPPUNIT_ASSERT(carol.waitState(State::CLOSED, Poco::Timespan(5, 0)));
		{
			std::lock_guard<std::mutex> lock(mutex);
			CPPUNIT_ASSERT_EQUAL(std::size_t(1), kicks.size());
			CPPUNIT_ASSERT(kicks[0].reason == KickReason::DUPLICATE_LOGIN);
		}
		// It does not come back: the other session keeps the uid.
		imgate::client::Reply r;
		CPPUNIT_ASSERT(!other->receiveCommand(r, imgate::protocol::Command::KICK, Poco::Timespan(2, 0)));
		CPPUNIT_ASSERT(carol.state() == State::CLOSED);
		auto late = carol.send("bob", "after the end");
		CPPUNIT_ASSERT_EQUAL(StatusCode::KICKED + 0, get(late).status);
	}

	void testTokenRefreshedAfterAuthFailed()
	{
		const std::string secretFile = _dir + "jwt.secret";
		ServerProcess::writeFile(secretFile, "a-test-secret-that-is-long-enough-for-hs256\n");
		ServerProcess server(ServerProcess::Settings{{"plugins.dir", IMGATE_PLUGIN_DIR}, {"plugins.load", "auth-jwt"},
			{"plugins.auth-jwt.secretFile", secretFile}, {"auth.allowAnonymous", ""}});
		std::string token;
		std::string out;
		CPPUNIT_ASSERT_EQUAL(0, ServerProcess::runProgram(IMGATE_CLI_PATH, {"token", "--secret-file", secretFile, "--uid", "dave"}, out, 10000));
		token = Poco::trim(out);

		ClientOptions o = options(server.port(), "dave");
		std::vector<bool> asked;
		o.tokenProvider = [&](bool refresh) { asked.push_back(refresh); return refresh ? token : std::string("expired-or-wrong"); };
		Reports reports;
		Client dave(o);
		reports.attach(dave);
		dave.start();
		const bool online = dave.waitState(State::ONLINE, Poco::Timespan(20, 0));
		CPPUNIT_ASSERT_MESSAGE(reports.text(), online);
		dave.close();
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), asked.size());
		CPPUNIT_ASSERT(!asked[0] && asked[1]);

		// A provider whose new token is refused too: the client ends.
		ClientOptions bad = options(server.port(), "erin");
		bad.tokenProvider = [](bool) { return std::string("wrong"); };
		Client erin(bad);
		erin.start();
		CPPUNIT_ASSERT(erin.waitState(State::CLOSED, Poco::Timespan(10, 0)));
		std::string why;
		CPPUNIT_ASSERT_EQUAL(StatusCode::AUTH_FAILED + 0, erin.endStatus(why));
		CPPUNIT_ASSERT_MESSAGE(why, why.find("LOGIN refused: AUTH_FAILED") != std::string::npos);
	}

	void testTlsWithTestCa()
	{
		TestCertificates certs;
		ServerProcess server(ServerProcess::Settings{{"tls.port", std::to_string(TestCertificates::freePort())},
			{"tls.certificateFile", certs.path("server.pem")}, {"tls.privateKeyFile", certs.path("server.key")}});
		CPPUNIT_ASSERT(server.tlsPort() != 0);
		ClientOptions o = options(server.tlsPort(), "frank");
		o.tls = true;
		o.caFile = certs.path("ca.pem");
		Inbox got;
		Client frank(o);
		got.attach(frank);
		frank.start();
		auto sent = frank.send("frank", "to myself, over TLS");
		CPPUNIT_ASSERT_EQUAL(StatusCode::OK + 0, get(sent).status);
		CPPUNIT_ASSERT(got.waitFor(1, 10));
		CPPUNIT_ASSERT_EQUAL(std::string("to myself, over TLS"), got.messages().at(0).payload);

		// A certificate that does not chain to the CA given: never online.
		ClientOptions wrongCa = options(server.tlsPort(), "grace");
		wrongCa.tls = true;
		wrongCa.caFile = certs.path("second.pem");
		Reports reports;
		Client grace(wrongCa);
		reports.attach(grace);
		grace.start();
		CPPUNIT_ASSERT(!grace.waitState(State::ONLINE, Poco::Timespan(1, 500000)));
		grace.close();
		const std::string errors = reports.text();
		CPPUNIT_ASSERT_MESSAGE(errors, errors.find("certificate verify failed") != std::string::npos);
	}

	void testRefusalIsFinal()
	{
		ServerProcess server(ServerProcess::Settings{{"message.maxPayloadSize", "1024"}});
		Client alice(options(server.port(), "alice"));
		alice.start();
		auto big = alice.send("bob", std::string(2000, 'x'));
		const SendResult refused = get(big);
		CPPUNIT_ASSERT_EQUAL(StatusCode::PAYLOAD_TOO_LARGE + 0, refused.status);
		CPPUNIT_ASSERT(refused.msgId == 0);
		// Above the server's frame limit: refused by the client itself...
		auto huge = alice.send("bob", std::string(70000, 'x'));
		CPPUNIT_ASSERT(huge.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
		CPPUNIT_ASSERT_EQUAL(StatusCode::FRAME_TOO_LARGE + 0, get(huge).status);
		// ...or, when the client was told a larger limit, by the server, which
		// closes the connection: that send is answered, not resent for ever,
		// and the ones behind it go after the reconnect.
		ClientOptions wide = options(server.port(), "judy");
		wide.maxSendBody = 1 << 20;
		Client judy(wide);
		judy.start();
		auto tooLarge = judy.send("bob", std::string(70000, 'y'));
		auto after = judy.send("bob", "after");
		CPPUNIT_ASSERT_EQUAL(StatusCode::FRAME_TOO_LARGE + 0, get(tooLarge).status);
		CPPUNIT_ASSERT(get(after).ok());
		judy.close();
		// A transient send while offline is not queued.
		Client offline(options(server.port(), "henry"));
		Client::Outgoing typing;
		typing.toUid = "alice";
		typing.payload = "typing";
		typing.transient = true;
		auto t = offline.send(typing);
		offline.runOnce(Poco::Timespan(0));
		CPPUNIT_ASSERT(t.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
		CPPUNIT_ASSERT_EQUAL(StatusCode::OFFLINE + 0, get(t).status);

		// A client destroyed without ever running: what it had queued is CLOSED.
		std::future<SendResult> orphan;
		{
			Client never(options(server.port(), "kim"));
			orphan = never.send("alice", "never sent");
		}
		CPPUNIT_ASSERT_EQUAL(StatusCode::CLOSED + 0, get(orphan).status);

		// Without reconnects (a one-shot tool), a failed connection ends the client.
		ClientOptions once = options(TestCertificates::freePort(), "ivy"); // nothing listens there
		once.reconnect = false;
		Client ivy(once);
		auto pending = ivy.send("alice", "never");
		std::string notYet;
		CPPUNIT_ASSERT_EQUAL(StatusCode::OK + 0, ivy.endStatus(notYet));
		ivy.start();
		CPPUNIT_ASSERT(ivy.waitState(State::CLOSED, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(StatusCode::DISCONNECTED + 0, get(pending).status);
		std::string why;
		CPPUNIT_ASSERT_EQUAL(StatusCode::DISCONNECTED + 0, ivy.endStatus(why));
		CPPUNIT_ASSERT_MESSAGE(why, why.find("Connection refused") != std::string::npos);
	}

	void testConsoleChatExample()
	{
		// docs/clients-cpp.md's example, as a user runs it: lines in, lines out.
		ServerProcess server;
		Inbox bobGot;
		Client bob(options(server.port(), "bob"));
		bobGot.attach(bob);
		bob.start();
		Poco::Pipe in;
		Poco::Pipe out;
		Poco::ProcessHandle chat = Poco::Process::launch(IMGATE_CONSOLE_CHAT_PATH,
			{"--port", std::to_string(server.port()), "alice"}, &in, &out, nullptr);
		std::mutex mutex;
		std::condition_variable changed;
		std::vector<std::string> lines;
		std::thread reader([&]()
		{
			Poco::PipeInputStream stream(out);
			std::string line;
			while (std::getline(stream, line))
			{
				std::lock_guard<std::mutex> lock(mutex);
				lines.push_back(line);
				changed.notify_all();
			}
		});
		auto waitLine = [&](const std::string& text)
		{
			std::unique_lock<std::mutex> lock(mutex);
			return changed.wait_for(lock, std::chrono::seconds(10), [&]()
			{
				for (const std::string& l: lines) if (l.find(text) != std::string::npos) return true;
				return false;
			});
		};
		Poco::PipeOutputStream input(in);
		input << "@bob hello from the console" << std::endl;
		input << "not a message" << std::endl;
		CPPUNIT_ASSERT(bobGot.waitFor(1, 10));
		CPPUNIT_ASSERT_EQUAL(std::string("hello from the console"), bobGot.messages().at(0).payload);
		CPPUNIT_ASSERT(waitLine("to bob: stored as msg_id " + std::to_string(bobGot.messages().at(0).msgId)));
		CPPUNIT_ASSERT(waitLine("? write @UID text or #GROUP text"));
		auto reply = bob.send("alice", "hi alice");
		CPPUNIT_ASSERT(get(reply).ok());
		CPPUNIT_ASSERT(waitLine("bob: hi alice"));
		input << "#nogroup anyone?" << std::endl;
		CPPUNIT_ASSERT(waitLine("to nogroup: not sent, NOT_MEMBER"));
		input.close(); // end of input: the chat logs out and exits
		const int code = chat.wait();
		reader.join();
		CPPUNIT_ASSERT_EQUAL(0, code);

		// Piped input ends before the login: flush() still sends it.
		Poco::Pipe pipedIn;
		Poco::ProcessHandle piped = Poco::Process::launch(IMGATE_CONSOLE_CHAT_PATH,
			{"--port", std::to_string(server.port()), "carol"}, &pipedIn, nullptr, nullptr);
		Poco::PipeOutputStream pipedInput(pipedIn);
		pipedInput << "@bob piped" << std::endl;
		pipedInput.close();
		CPPUNIT_ASSERT_EQUAL(0, piped.wait());
		CPPUNIT_ASSERT(bobGot.waitFor(2, 10));
		CPPUNIT_ASSERT_EQUAL(std::string("piped"), bobGot.messages().at(1).payload);
	}

	void testOutboxFileSurvivesTheApplication()
	{
		// The application sends while no server runs, and ends; its next
		// run, with the same outbox file, sends them: each delivered once, in order.
		const Poco::UInt16 port = TestCertificates::freePort();
		ClientOptions o = options(port, "alice");
		o.outboxFile = _dir + "alice.outbox";
		const int n = 100;
		{
			Client alice(o);
			alice.start();
			std::vector<std::future<SendResult>> results;
			for (int i = 0; i < n; ++i) results.push_back(alice.send("bob", std::to_string(i)));
			CPPUNIT_ASSERT(alice.waitState(State::RECONNECTING, Poco::Timespan(5, 0))); // nothing listens
			CPPUNIT_ASSERT_EQUAL(std::size_t(n), alice.outboxSize());
			alice.close(Poco::Timespan(0));
			for (auto& r: results) CPPUNIT_ASSERT_EQUAL(StatusCode::CLOSED + 0, get(r).status);
		}
		ServerProcess server(ServerProcess::Settings{{"server.port", std::to_string(port)}});
		Inbox bobGot;
		std::mutex mutex;
		std::size_t restoredOk = 0;
		Client bob(options(port, "bob"));
		bobGot.attach(bob);
		bob.start();
		{
			Client alice(o);
			CPPUNIT_ASSERT_EQUAL(std::size_t(n), alice.outboxSize());
			alice.onRestoredResult([&](const SendResult& r) { std::lock_guard<std::mutex> lock(mutex); if (r.ok()) ++restoredOk; });
			alice.start();
			CPPUNIT_ASSERT(bobGot.waitFor(n, 20));
			alice.close();
			std::lock_guard<std::mutex> lock(mutex);
			CPPUNIT_ASSERT_EQUAL(std::size_t(n), restoredOk);
			CPPUNIT_ASSERT_EQUAL(std::size_t(0), alice.outboxSize());
		}
		const std::vector<Message> got = bobGot.messages();
		CPPUNIT_ASSERT_EQUAL(std::size_t(n), got.size());
		for (int i = 0; i < n; ++i) CPPUNIT_ASSERT_EQUAL(std::to_string(i), got[i].payload);
		// A third run has nothing left to send.
		Client again(o);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), again.outboxSize());
	}

	void testHistory()
	{
		ServerProcess server;
		Client alice(options(server.port(), "alice"));
		std::vector<Poco::UInt64> ids;
		alice.start();
		for (int i = 0; i < 3; ++i)
		{
			auto r = alice.send("bob", "m" + std::to_string(i));
			ids.push_back(get(r).msgId);
		}
		// Asked before the client is online: it goes after the login.
		Client bob(options(server.port(), "bob"));
		imgate::client::HistoryQuery q;
		q.withUid = "alice";
		q.limit = 2;
		auto early = bob.history(q);
		bob.start();
		imgate::client::HistoryPage page = get(early);
		CPPUNIT_ASSERT(page.ok());
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), page.messages.size());
		CPPUNIT_ASSERT(page.more);
		CPPUNIT_ASSERT_EQUAL(ids[2], page.messages[0].msgId); // newest first
		CPPUNIT_ASSERT_EQUAL(std::string("m1"), page.messages[1].payload);
		CPPUNIT_ASSERT(!page.messages[0].carbon);
		q.beforeMsgId = page.messages[1].msgId;
		page = get(bob.history(q));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[0], page.messages[0].msgId);
		CPPUNIT_ASSERT(!page.more);
		// The sender's own copies come back marked as its own.
		imgate::client::HistoryQuery mine;
		mine.withUid = "bob";
		page = get(alice.history(mine));
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), page.messages.size());
		CPPUNIT_ASSERT(page.messages[0].carbon);
		// A group it is not in: refused.
		imgate::client::HistoryQuery group;
		group.groupId = "nogroup";
		page = get(alice.history(group));
		CPPUNIT_ASSERT_EQUAL(StatusCode::NOT_MEMBER + 0, page.status);
		alice.close();
		CPPUNIT_ASSERT_EQUAL(StatusCode::CLOSED + 0, get(alice.history(mine)).status);
	}

	void testWebSocket()
	{
		ServerProcess server(ServerProcess::Settings{{"websocket.port", std::to_string(TestCertificates::freePort())}});
		CPPUNIT_ASSERT(server.webSocketPort() != 0);
		Inbox tcpGot;
		Client tcp(options(server.port(), "tcp-user"));
		ClientOptions o = options(server.webSocketPort(), "ws-user");
		o.webSocketPath = "/imgate";
		Client ws(o);
		tcpGot.attach(tcp);
		// The WebSocket client echoes; 300 frames cross in both directions.
		ws.onMessage([&](const Message& m) { ws.send(m.fromUid, "echo " + m.payload); });
		tcp.start();
		ws.start();
		CPPUNIT_ASSERT(ws.waitState(State::ONLINE, Poco::Timespan(5, 0)));
		const int n = 300;
		for (int i = 0; i < n; ++i) tcp.send("ws-user", std::string(i * 50, 'x') + std::to_string(i));
		CPPUNIT_ASSERT(tcpGot.waitFor(n, 20));
		const auto got = tcpGot.messages();
		for (int i = 0; i < n; ++i) CPPUNIT_ASSERT_EQUAL("echo " + std::string(i * 50, 'x') + std::to_string(i), got[i].payload);
		ws.close();

		// A path the server does not serve: refused with 404, said to onError, never online.
		ClientOptions wrong = o;
		wrong.webSocketPath = "/nothing-here";
		Reports reports;
		Client lost(wrong);
		reports.attach(lost);
		lost.start();
		CPPUNIT_ASSERT(!lost.waitState(State::ONLINE, Poco::Timespan(1, 0)));
		lost.close();
		const std::string errors = reports.text();
		CPPUNIT_ASSERT_MESSAGE(errors, errors.find("refused: HTTP 404") != std::string::npos);
	}

	void testWebSocketOverTls()
	{
		TestCertificates certs;
		ServerProcess server(ServerProcess::Settings{{"websocket.port", std::to_string(TestCertificates::freePort())},
			{"websocket.tls", "true"}, {"tls.port", std::to_string(TestCertificates::freePort())},
			{"tls.certificateFile", certs.path("server.pem")}, {"tls.privateKeyFile", certs.path("server.key")}});
		ClientOptions o = options(server.webSocketPort(), "wss-user");
		o.webSocketPath = "/imgate";
		o.tls = true;
		o.caFile = certs.path("ca.pem");
		Inbox got;
		Client wss(o);
		got.attach(wss);
		wss.start();
		auto sent = wss.send("wss-user", "to myself over wss");
		CPPUNIT_ASSERT(get(sent).ok());
		CPPUNIT_ASSERT(got.waitFor(1, 10));
		CPPUNIT_ASSERT_EQUAL(std::string("to myself over wss"), got.messages().at(0).payload);
	}

	void testBlockingClient()
	{
		ServerProcess server(ServerProcess::Settings{{"delivery.retransmitTimeout", "1"}, {"admin.allowNoToken", "true"}});
		imgate::client::BlockingClient alice(options(server.port(), "alice"));
		std::unique_ptr<imgate::client::BlockingClient> pBob(new imgate::client::BlockingClient(options(server.port(), "bob")));
		alice.login();
		pBob->login();
		CPPUNIT_ASSERT(alice.send("bob", "one").ok());
		CPPUNIT_ASSERT(alice.send("bob", "two").ok());
		Message m;
		CPPUNIT_ASSERT(pBob->receive(m, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("one"), m.payload);
		CPPUNIT_ASSERT(pBob->receive(m, Poco::Timespan(5, 0))); // acknowledges "one"
		CPPUNIT_ASSERT_EQUAL(std::string("two"), m.payload);
		// "two" is not acknowledged while the application has it: the server
		// sends it again after 1 s, and the client does not hand it over twice.
		const std::string retransmitted = "imgate_messages_retransmitted_total";
		for (int i = 0; i < 50 && test::metricValue(test::request(server.adminPort(), "GET", "/metrics").body, retransmitted) < 1; ++i)
			Poco::Thread::sleep(100);
		CPPUNIT_ASSERT(test::metricValue(test::request(server.adminPort(), "GET", "/metrics").body, retransmitted) >= 1);
		Message again;
		CPPUNIT_ASSERT(!pBob->receive(again, Poco::Timespan(1, 0)));
		// That receive() acknowledged "two"; close() and a new session: nothing is left.
		pBob->close();
		pBob.reset();
		auto bob = server.login("bob");
		imgate::client::Reply r;
		CPPUNIT_ASSERT(!bob->receiveCommand(r, imgate::protocol::Command::MSG_DELIVER, Poco::Timespan(1, 500000)));
		imgate::client::HistoryQuery q;
		q.withUid = "bob";
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), alice.history(q).messages.size());
	}

private:
	std::string _dir;
};


CPPUNIT_TEST_SUITE_REGISTRATION(ClientLibraryTest);
