//
// AdminSlowClientTest.cpp
//
// The admin listener under clients that connect and do not ask (issue 15,
// finding 1, and its security review): a table full of silent or
// trickling connections makes room for a new one (the oldest that has not
// sent its request is evicted), one address cannot take more than its
// share, a silent connection is closed after the first-byte deadline, an
// answer survives the close when the client is still sending, and an
// HTTP/1.0 client gets no "100 Continue". Raw sockets against a real
// imgated on 127.0.0.1; and against the listener in the test's own
// process, over a server's real but idle parts, its deadlines on a clock
// the test moves: a request stuck with its admin thread past the answer
// deadline, and requests with an admin thread while the table overflows.
//

#include "server/admin/AdminConnection.h"
#include "server/admin/AdminServer.h"
#include "server/net/LoopPool.h"
#include "server/plugin/FilterChain.h"
#include "server/plugin/PluginHost.h"
#include "server/session/SessionConfig.h"
#include "server/session/SessionManager.h"
#include "server/session/SessionQuery.h"
#include "server/store/MemoryMessageStore.h"
#include "tests/support/AdminHttp.h"
#include "tests/support/ManualClock.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "Poco/Exception.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <atomic>
#include <map>
#include <memory>
#include <vector>

using namespace imgate;
using imgate::test::ServerProcess;
using imgate::test::waitUntil;

namespace {

class Client
	/// One raw admin connection from a chosen loopback address.
{
public:
	Client(Poco::UInt16 port, const std::string& source = "127.0.0.1", int sendBuffer = 0)
	{
		_socket.impl()->bind(Poco::Net::SocketAddress(source, 0), false);
		if (sendBuffer > 0) _socket.setSendBufferSize(sendBuffer);
		_socket.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(5, 0));
		_socket.setNoDelay(true);
	}

	void send(const std::string& bytes)
		/// All of bytes; throws Poco::Exception if the server reset the connection.
	{
		std::size_t sent = 0;
		while (sent < bytes.size())
		{
			const int n = _socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
			if (n <= 0) throw Poco::IOException("send returned " + std::to_string(n));
			sent += static_cast<std::size_t>(n);
		}
	}

	bool trySend(const std::string& bytes)
	{
		try
		{
			send(bytes);
			return true;
		}
		catch (Poco::Exception&)
		{
			return false;
		}
	}

	bool closed()
		/// Reads what has arrived, without waiting; true once the server has
		/// closed the connection (end of stream or reset).
	{
		while (!_closed && _socket.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) read();
		return _closed;
	}

	std::string answer(long timeoutMs = 5000)
		/// Everything the server sends until it closes (or timeoutMs passes).
	{
		const Poco::Timestamp started;
		while (!_closed && !started.isElapsed(timeoutMs * 1000))
		{
			if (_socket.poll(Poco::Timespan(50 * 1000), Poco::Net::Socket::SELECT_READ)) read();
		}
		return _received;
	}

	const std::string& received() const
	{
		return _received;
	}

	bool reset() const
	{
		return _reset;
	}

private:
	void read()
	{
		char buffer[4096];
		try
		{
			const int n = _socket.receiveBytes(buffer, sizeof(buffer));
			if (n <= 0) _closed = true;
			else _received.append(buffer, static_cast<std::size_t>(n));
		}
		catch (Poco::Exception&)
		{
			_closed = true;
			_reset = true;
		}
	}

	Poco::Net::StreamSocket _socket;
	std::string _received;
	bool _closed = false;
	bool _reset = false;
};


const std::string HEALTHZ = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";


std::string exchange(Poco::UInt16 port, const std::string& request, const std::string& source = "127.0.0.1", long timeoutMs = 5000)
{
	Client c(port, source);
	c.send(request);
	return c.answer(timeoutMs);
}


bool startsWith(const std::string& text, const std::string& prefix)
{
	return text.compare(0, prefix.size(), prefix) == 0;
}


double metric(Poco::UInt16 port, const std::string& series)
	/// The value of series ("name{labels}" as /metrics writes it), or -1.
{
	return test::metricValue(exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), series);
}


std::size_t countClosed(std::vector<std::unique_ptr<Client>>& clients)
{
	std::size_t n = 0;
	for (auto& c: clients)
	{
		if (c->closed()) ++n;
	}
	return n;
}


plugin::PluginHost* loadBlacklist(plugin::PluginHost* pHost)
{
	pHost->load("blacklist", IMGATE_PLUGIN_DIR "/blacklist.so", std::map<std::string, std::string>());
	return pHost;
}


admin::AdminServer::Options adminOptions(unsigned threads)
{
	admin::AdminServer::Options options;
	options.address = "127.0.0.1";
	options.port = 0;
	options.allowNoToken = true;
	options.threads = threads;
	return options;
}


struct InProcessAdmin
	/// The admin listener in the test's process, over the parts a server
	/// lends it: real, but the client loop never runs, so a request that
	/// asks the loops about sessions (GET /v1/sessions) holds its admin
	/// thread for SessionQuery's 2 s (real time), as a stuck one would.
	/// The blacklist plugin keeps bans, so a ban shows whether a request
	/// ran. The listener's deadlines follow clock, which only the test
	/// moves: nothing times out unless the test says so.
{
	explicit InProcessAdmin(unsigned threads):
		server(context, adminOptions(threads), clock)
	{
		server.start();
	}

	Poco::UInt16 port() const
	{
		return server.port();
	}

	bool placed(std::size_t n)
		/// Waits until n connections are open and the loop has read what
		/// they sent.
	{
		return waitUntil([&]() { return server.connectionCount() == n; }) && server.sync();
	}

	bool advance(unsigned seconds)
		/// Moves the clock and waits until the loop has run the timers due.
	{
		clock.advance(static_cast<Poco::Int64>(seconds) * 1000);
		return server.sync();
	}

	test::ManualClock clock;
	net::LoopPool loops{1, 16};
	store::MemoryMessageStore store{store::MemoryMessageStore::Limits()};
	plugin::PluginHost host;
	plugin::FilterChain filters{*loadBlacklist(&host)};
	session::SessionConfig config;
	session::SessionManager sessions{config, loops, store, filters};
	session::SessionQuery query{loops, sessions.directory()};
	std::atomic<bool> accepting{true};
	admin::AdminContext context{loops, sessions, query, store, filters, accepting, "test", Poco::Timestamp()};
	admin::AdminServer server;
};


const std::string SESSIONS = "GET /v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n";


std::string post(const std::string& path, const std::string& body)
{
	return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

} // namespace


class AdminSlowClientTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AdminSlowClientTest);
	CPPUNIT_TEST(testHealthAnswersWhileTheTableIsFull);
	CPPUNIT_TEST(testOneAddressEvictsItsOwnOldest);
	CPPUNIT_TEST(testSilentConnectionClosedAfterFirstByteDeadline);
	CPPUNIT_TEST(testAnswerSurvivesAClientStillSending);
	CPPUNIT_TEST(testNoContinueForHttp10);
	CPPUNIT_TEST(testHeadEndFoundWhereverReadsSplitIt);
	CPPUNIT_TEST(testRequestsBeingAnsweredAreNeverEvicted);
	CPPUNIT_TEST(testSlowAnswerWithinItsDeadlineIsWritten);
	CPPUNIT_TEST(testStuckRequestGivenUpAtItsDeadline);
	CPPUNIT_TEST_SUITE_END();

public:
	void tearDown() override
	{
		_pServer.reset();
	}

	void startServer()
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{
			{"store.type", "memory"}, {"admin.allowNoToken", "true"}, {"admin.threads", "2"}}));
		CPPUNIT_ASSERT(_pServer->adminPort() != 0);
	}

	void testHealthAnswersWhileTheTableIsFull()
	{
		startServer();
		const Poco::UInt16 port = _pServer->adminPort();
		// Requests under way before the flood: complete, their answers not
		// read yet.
		std::vector<std::unique_ptr<Client>> served;
		for (int i = 0; i < 4; ++i)
		{
			served.emplace_back(new Client(port, "127.0.0.1"));
			served.back()->send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
		}
		// 300 connections that send nothing, from ten addresses (30 each,
		// under an address's share, so only the table's limit acts), and
		// 40 that trickle a head from two more.
		std::vector<std::unique_ptr<Client>> silent, trickling;
		for (int a = 2; a < 12; ++a)
		{
			for (int i = 0; i < 30; ++i) silent.emplace_back(new Client(port, "127.0.0." + std::to_string(a)));
		}
		const std::string head = "GET /v1/stats HTTP/1.1\r\nHost: x\r\n\r\n";
		for (int i = 0; i < 40; ++i)
		{
			trickling.emplace_back(new Client(port, "127.0.0." + std::to_string(12 + i % 2)));
			trickling.back()->trySend(head.substr(0, 1));
		}
		// /healthz answers at once, several times in a row. Before each
		// probe, 8 more silent connections take any room a closed one left.
		for (std::size_t probe = 0; probe < 6; ++probe)
		{
			for (int i = 0; i < 8; ++i) silent.emplace_back(new Client(port, "127.0.0." + std::to_string(20 + probe)));
			for (auto& t: trickling) t->trySend(head.substr(1 + probe, 1));
			const std::string answer = exchange(port, HEALTHZ, "127.0.0.1", 3000);
			CPPUNIT_ASSERT_MESSAGE("probe " + std::to_string(probe) + ": " + answer, startsWith(answer, "HTTP/1.1 200") && answer.find("\r\n\r\nok\n") != std::string::npos);
		}
		// The requests under way were answered in full.
		for (auto& c: served)
		{
			const std::string answer = c->answer();
			CPPUNIT_ASSERT_MESSAGE(answer.substr(0, 200), startsWith(answer, "HTTP/1.1 200") && answer.find("imgate_build_info") != std::string::npos);
		}
		// Room was made by eviction, and every slow client goes: evicted,
		// or closed at its first-byte or head deadline.
		CPPUNIT_ASSERT(metric(port, "imgate_admin_connections_evicted_total{reason=\"table_full\"}") >= 1);
		CPPUNIT_ASSERT(waitUntil([&]() { return countClosed(silent) == silent.size() && countClosed(trickling) == trickling.size(); }, 15000, 50));
		CPPUNIT_ASSERT(startsWith(exchange(port, HEALTHZ), "HTTP/1.1 200"));
	}

	void testOneAddressEvictsItsOwnOldest()
	{
		// 8 more connections from one address than its share (64), each
		// having begun a head: the oldest 8 make room for the newest, and a
		// connection from another address is never touched. A health
		// checker on the same address still gets through (it evicts one
		// more of that address's own).
		startServer();
		const Poco::UInt16 port = _pServer->adminPort();
		const std::size_t share = admin::AdminServer::MAX_PER_ADDRESS;
		Client other(port, "127.0.0.2");
		other.send("G");
		std::vector<std::unique_ptr<Client>> crowd;
		for (std::size_t i = 0; i < share + 8; ++i)
		{
			crowd.emplace_back(new Client(port, "127.0.0.1"));
			crowd.back()->send("G");
		}
		CPPUNIT_ASSERT(waitUntil([&]() { return countClosed(crowd) >= 8; }, 4000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(8), countClosed(crowd));
		for (auto& c: crowd)
		{
			if (c->closed())
				CPPUNIT_ASSERT_MESSAGE(c->received(), startsWith(c->received(), "HTTP/1.1 503") && c->received().find("closed to make room") != std::string::npos);
		}
		CPPUNIT_ASSERT(!other.closed());
		CPPUNIT_ASSERT(startsWith(exchange(port, HEALTHZ, "127.0.0.1"), "HTTP/1.1 200"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(9), countClosed(crowd));
		CPPUNIT_ASSERT(!other.closed());
		CPPUNIT_ASSERT(metric(port, "imgate_admin_connections_evicted_total{reason=\"address_limit\"}") >= 9);
	}

	void testSilentConnectionClosedAfterFirstByteDeadline()
	{
		startServer();
		// Nothing sent: closed after 1 s, without an answer (nothing was
		// asked); the 5 s head deadline is for heads that have begun.
		Client silent(_pServer->adminPort());
		const Poco::Timestamp opened;
		CPPUNIT_ASSERT(waitUntil([&]() { return silent.closed(); }, 4000));
		CPPUNIT_ASSERT(opened.isElapsed(800 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::string(), silent.received());
	}

	void testAnswerSurvivesAClientStillSending()
	{
		startServer();
		// A body the server will not read (above admin.maxBodyBytes): the
		// 413 goes out at once while the client is still sending. A plain
		// close() with unread bytes resets the connection, and the client,
		// still writing, gets a send error instead of the answer; the
		// server shuts down its side and drains instead.
		Client c(_pServer->adminPort(), "127.0.0.1", 4096);
		c.send("POST /v1/bans HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
		const std::string chunk(16384, 'x');
		std::size_t sent = 0;
		try
		{
			for (; sent < 512 * 1024; sent += chunk.size()) c.send(chunk);
		}
		catch (Poco::Exception& exc)
		{
			CPPUNIT_FAIL("the server reset the connection after " + std::to_string(sent) + " bytes of the body: " + exc.displayText());
		}
		const std::string answer = c.answer();
		CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 413") && answer.find("admin.maxBodyBytes") != std::string::npos);
		CPPUNIT_ASSERT(!c.reset());
	}

	void testNoContinueForHttp10()
	{
		startServer();
		// RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0
		// request is ignored (an HTTP/1.0 client cannot read interim answers).
		const std::string answer = exchange(_pServer->adminPort(),
			"POST /v1/sessions/alice/kick HTTP/1.0\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}");
		CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 404") && answer.find("alice is not online") != std::string::npos);
		CPPUNIT_ASSERT(answer.find("100 Continue") == std::string::npos);
	}

	void testHeadEndFoundWhereverReadsSplitIt()
	{
		startServer();
		// The head's end is looked for only in what is new since the last
		// read (and the 3 bytes before it): a blank line split over reads
		// at any byte is still found. Sent a byte at a time, with pauses
		// so that most bytes arrive in reads of their own.
		for (const std::string end: {"\r\n\r\n", "\n\n", "\r\n\n"})
		{
			const std::string head = "GET /healthz HTTP/1.1\r\nHost: x" + end;
			Client c(_pServer->adminPort());
			for (char byte: head)
			{
				c.send(std::string(1, byte));
				Poco::Thread::sleep(5);
			}
			const std::string answer = c.answer();
			CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 200") && answer.find("\r\n\r\nok\n") != std::string::npos);
		}
	}

	void testRequestsBeingAnsweredAreNeverEvicted()
	{
		// One admin thread, and three requests that hold it for 2 s each
		// (the first runs, the other two wait their turn); a POST in the
		// middle of its body; then 300 silent connections from ten
		// addresses (30 each). The table keeps 256: the oldest silent ones
		// go, the requests with the admin threads stay and get their
		// answers, and the body (an authorized POST: evicted only when no
		// head is left) stays too. (The first request may be answered
		// during the flood; then it only drains, and may go first.)
		InProcessAdmin listener(1);
		std::vector<std::unique_ptr<Client>> waiting;
		for (int i = 0; i < 3; ++i)
		{
			waiting.emplace_back(new Client(listener.port(), "127.0.0.2"));
			waiting.back()->send(SESSIONS);
		}
		Client body(listener.port(), "127.0.0.3");
		const std::string ban = post("/v1/bans", "{\"address\": \"10.1.2.5\"}");
		body.send(ban.substr(0, ban.size() - 5));
		CPPUNIT_ASSERT(listener.placed(4));
		std::vector<std::unique_ptr<Client>> silent;
		for (int a = 4; a < 14; ++a)
		{
			for (int i = 0; i < 30; ++i) silent.emplace_back(new Client(listener.port(), "127.0.0." + std::to_string(a)));
		}
		CPPUNIT_ASSERT(waitUntil([&]() { return countClosed(silent) >= 300 - 253; }));
		CPPUNIT_ASSERT(listener.placed(256));
		CPPUNIT_ASSERT(countClosed(silent) <= 300 - 252);
		for (std::size_t i = silent.size() - 10; i < silent.size(); ++i) CPPUNIT_ASSERT(!silent[i]->closed());
		CPPUNIT_ASSERT(!waiting[1]->closed());
		CPPUNIT_ASSERT(!waiting[2]->closed());
		CPPUNIT_ASSERT(!body.closed());
		// Each request with the admin thread is answered in full (the
		// client loop never answered, so the list is incomplete).
		for (auto& c: waiting)
		{
			const std::string answer = c->answer(10000);
			CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 200") && answer.find("\"complete\":false") != std::string::npos);
		}
		body.send(ban.substr(ban.size() - 5));
		const std::string answer = body.answer();
		CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 200") && answer.find("10.1.2.5") != std::string::npos);
	}

	void testSlowAnswerWithinItsDeadlineIsWritten()
	{
		// 29 s with its admin thread, past every other deadline but the
		// answer's (30 s): the connection waits, and the answer is written.
		InProcessAdmin listener(1);
		Client c(listener.port());
		c.send(SESSIONS);
		CPPUNIT_ASSERT(listener.placed(1));
		CPPUNIT_ASSERT(listener.advance(admin::AdminConnection::ANSWER_SECONDS - 1));
		const std::string answer = c.answer();
		CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 200") && answer.find("\"complete\":false") != std::string::npos);
	}

	void testStuckRequestGivenUpAtItsDeadline()
	{
		// The only admin thread is stuck (for 2 s of real time) past the
		// request's 30 s: the client gets 503 at the deadline, and the
		// late answer is dropped.
		InProcessAdmin listener(1);
		std::string answer;
		for (int attempt = 0; attempt < 3; ++attempt)
		{
			CPPUNIT_ASSERT(listener.placed(0));
			Client c(listener.port());
			c.send(SESSIONS);
			CPPUNIT_ASSERT(listener.placed(1));
			CPPUNIT_ASSERT(listener.advance(admin::AdminConnection::ANSWER_SECONDS + 1));
			answer = c.answer(1000);
			CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 503"));
			// Given up before the thread took it ("not run"): try again.
			if (answer.find("did not finish within 30 s; it may still take effect") != std::string::npos) break;
			CPPUNIT_ASSERT_MESSAGE(answer, answer.find("the request was not run") != std::string::npos);
		}
		CPPUNIT_ASSERT_MESSAGE(answer, answer.find("did not finish within 30 s") != std::string::npos);
		// A ban queued behind it past its own deadline: 503, and never run,
		// not even once the thread is free again.
		CPPUNIT_ASSERT(listener.placed(0));
		{
			Client c(listener.port());
			c.send(post("/v1/bans", "{\"address\": \"10.1.2.3\"}"));
			CPPUNIT_ASSERT(listener.placed(1));
			CPPUNIT_ASSERT(listener.advance(admin::AdminConnection::ANSWER_SECONDS + 1));
			answer = c.answer(1000);
			CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 503") && answer.find("no admin thread was free for 30 s: the request was not run") != std::string::npos);
		}
		answer = exchange(listener.port(), "GET /v1/bans HTTP/1.1\r\nHost: x\r\n\r\n");
		CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 200") && answer.find("10.1.2.3") == std::string::npos);
		// The same ban in time is kept: the harness does keep bans.
		answer = exchange(listener.port(), post("/v1/bans", "{\"address\": \"10.1.2.4\"}"));
		CPPUNIT_ASSERT_MESSAGE(answer, startsWith(answer, "HTTP/1.1 200"));
		answer = exchange(listener.port(), "GET /v1/bans HTTP/1.1\r\nHost: x\r\n\r\n");
		CPPUNIT_ASSERT_MESSAGE(answer, answer.find("10.1.2.4") != std::string::npos && answer.find("10.1.2.3") == std::string::npos);
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AdminSlowClientTest);
