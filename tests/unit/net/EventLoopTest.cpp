//
// EventLoopTest.cpp
//
// A real loop on its own thread with real loopback sockets.
//

#include "server/net/Connection.h"
#include "server/net/EventLoop.h"
#include "tests/support/Wait.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Thread.h"
#include <cppunit/extensions/HelperMacros.h>
#include <cstring>
#include <atomic>

using namespace imgate::net;
using imgate::test::waitUntil;

namespace {

struct Counters
{
	std::atomic<int> progress{0};
	std::atomic<bool> pausedSeen{false};
	std::atomic<int> closed{0};
	std::atomic<int> timers{0};
	std::atomic<std::size_t> bytes{0};
};

class Echo: public Connection
	/// Echoes what it reads; "q" asks it to close after flushing "bye".
{
public:
	Echo(EventLoop& loop, const Poco::Net::StreamSocket& s, Counters& c): Connection(loop, s), _c(c) {}

protected:
	void onData(const char* data, std::size_t length) override
	{
		_c.bytes += length;
		if (length == 1 && data[0] == 'q')
		{
			output() += "bye";
			closeAfterFlush(10);
			return;
		}
		if (length == 1 && data[0] == 'b')
		{
			output().append(4 * HIGH_WATER, 'B'); // more than the kernel buffers take
			return;
		}
		if (length == 1 && data[0] == 't')
		{
			loop().timers().schedule(*this, loop().tick() + 1);
			return;
		}
		if (length == 1 && data[0] == 'h')
		{
			_answerAtEnd = true; // like an HTTP request whose client half-closes
			return;
		}
		output().append(data, length);
	}
	bool onEndOfInput() override
	{
		if (!_answerAtEnd) return true;
		output() += "answer";
		closeAfterFlush(10);
		return false;
	}
	void onTimer() override { ++_c.timers; output() += "T"; }
	void onClose() override { ++_c.closed; }
	void onWriteProgress() override
	{
		++_c.progress;
		if (readPaused()) _c.pausedSeen = true;
	}

private:
	Counters& _c;
	bool _answerAtEnd = false;
};

} // namespace


class EventLoopTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(EventLoopTest);
	CPPUNIT_TEST(testPostRunsOnLoopThread);
	CPPUNIT_TEST(testHalfClosedPeerStillGetsItsAnswer);
	CPPUNIT_TEST(testEchoAndClose);
	CPPUNIT_TEST(testReusedOutputBufferStartsEmpty);
	CPPUNIT_TEST(testCloseAfterFlush);
	CPPUNIT_TEST(testTimer);
	CPPUNIT_TEST(testLargeOutputIsFullyWritten);
	CPPUNIT_TEST(testBackPressurePausesReadsAndReportsProgress);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pLoop.reset(new EventLoop(0));
		_thread.start(*_pLoop);
		_server.bind(Poco::Net::SocketAddress("127.0.0.1", 0));
		_server.listen();
	}

	void tearDown() override
	{
		_pLoop->stop();
		_thread.join();
		_pLoop.reset();
		_server.close();
	}

	Poco::Net::StreamSocket connectAndAdopt(int serverSendBuffer = 0)
	{
		Poco::Net::StreamSocket client(_server.address());
		Poco::Net::StreamSocket accepted = _server.acceptConnection();
		accepted.setBlocking(false);
		if (serverSendBuffer) accepted.setSendBufferSize(serverSendBuffer);
		EventLoop* pLoop = _pLoop.get();
		Counters* pCounters = &_counters;
		_pLoop->post([pLoop, accepted, pCounters]()
		{
			pLoop->adopt(std::unique_ptr<Connection>(new Echo(*pLoop, accepted, *pCounters)));
		});
		CPPUNIT_ASSERT(waitUntil([&]() { return _pLoop->connectionCount() == 1; }));
		client.setReceiveTimeout(Poco::Timespan(5, 0));
		return client;
	}

	static std::string readExactly(Poco::Net::StreamSocket& s, std::size_t n)
	{
		std::string out;
		char buf[65536];
		while (out.size() < n)
		{
			int r = s.receiveBytes(buf, static_cast<int>(std::min(sizeof(buf), n - out.size())));
			if (r <= 0) break;
			out.append(buf, static_cast<std::size_t>(r));
		}
		return out;
	}

	void testPostRunsOnLoopThread()
	{
		std::atomic<bool> inLoop{false};
		std::atomic<int> order{0};
		std::atomic<int> second{0};
		EventLoop* pLoop = _pLoop.get();
		_pLoop->post([&, pLoop]() { inLoop = pLoop->inLoopThread(); order = 1; });
		_pLoop->post([&]() { second = order.load() + 1; });
		CPPUNIT_ASSERT(waitUntil([&]() { return second.load() != 0; }));
		CPPUNIT_ASSERT(inLoop.load());
		CPPUNIT_ASSERT_EQUAL(2, second.load());
		CPPUNIT_ASSERT(!_pLoop->inLoopThread());
	}

	void testHalfClosedPeerStillGetsItsAnswer()
	{
		// The peer shuts down its side: a connection that wants to answer
		// keeps writing; one that does not is closed at once.
		Poco::Net::StreamSocket client = connectAndAdopt();
		client.sendBytes("h", 1);
		client.shutdownSend();
		CPPUNIT_ASSERT_EQUAL(std::string("answer"), readExactly(client, 6));
		char c;
		CPPUNIT_ASSERT_EQUAL(0, client.receiveBytes(&c, 1)); // then closed
		CPPUNIT_ASSERT(waitUntil([&]() { return _counters.closed.load() == 1; }));
		Poco::Net::StreamSocket plain = connectAndAdopt();
		plain.shutdownSend();
		CPPUNIT_ASSERT_EQUAL(0, plain.receiveBytes(&c, 1));
		CPPUNIT_ASSERT(waitUntil([&]() { return _counters.closed.load() == 2; }));
	}

	void testReusedOutputBufferStartsEmpty()
	{
		// A sent buffer goes back to the loop and serves the next turn's
		// output: none of its old bytes may go out again.
		Poco::Net::StreamSocket client = connectAndAdopt();
		const std::string first(1000, 'f');
		client.sendBytes(first.data(), static_cast<int>(first.size()));
		CPPUNIT_ASSERT_EQUAL(first, readExactly(client, first.size()));
		for (const char* next: {"2", "34", "5"})
		{
			client.sendBytes(next, static_cast<int>(std::strlen(next)));
			CPPUNIT_ASSERT_EQUAL(std::string(next), readExactly(client, std::strlen(next)));
		}
		client.sendBytes("end", 3);
		CPPUNIT_ASSERT_EQUAL(std::string("end"), readExactly(client, 3));
	}

	void testEchoAndClose()
	{
		Poco::Net::StreamSocket client = connectAndAdopt();
		client.sendBytes("hello", 5);
		CPPUNIT_ASSERT_EQUAL(std::string("hello"), readExactly(client, 5));
		client.close();
		CPPUNIT_ASSERT(waitUntil([&]() { return _counters.closed.load() == 1; }));
		CPPUNIT_ASSERT(waitUntil([&]() { return _pLoop->connectionCount() == 0; }));
	}

	void testCloseAfterFlush()
	{
		Poco::Net::StreamSocket client = connectAndAdopt();
		client.sendBytes("q", 1);
		CPPUNIT_ASSERT_EQUAL(std::string("bye"), readExactly(client, 3));
		char c;
		CPPUNIT_ASSERT_EQUAL(0, client.receiveBytes(&c, 1)); // orderly close after the flush
		CPPUNIT_ASSERT(waitUntil([&]() { return _counters.closed.load() == 1; }));
	}

	void testTimer()
	{
		Poco::Net::StreamSocket client = connectAndAdopt();
		client.sendBytes("t", 1);
		CPPUNIT_ASSERT_EQUAL(std::string("T"), readExactly(client, 1));
		CPPUNIT_ASSERT_EQUAL(1, _counters.timers.load());
	}

	void testLargeOutputIsFullyWritten()
	{
		// More than the socket buffers hold: the loop must wait for EPOLLOUT.
		Poco::Net::StreamSocket client = connectAndAdopt();
		std::string chunk(60000, 'z');
		for (int i = 0; i < 40; ++i) chunk[static_cast<std::size_t>(i)] = static_cast<char>('a' + i % 26);
		std::string received;
		char buf[65536];
		// Send 40 chunks, reading concurrently so neither side blocks forever.
		client.setBlocking(false);
		std::size_t sentChunks = 0, offset = 0;
		Poco::Timestamp start;
		while (received.size() < 40 * chunk.size() && !start.isElapsed(20000000))
		{
			if (sentChunks < 40)
			{
				try
				{
					int n = client.sendBytes(chunk.data() + offset, static_cast<int>(chunk.size() - offset));
					if (n > 0) offset += static_cast<std::size_t>(n);
					if (offset == chunk.size()) { offset = 0; ++sentChunks; }
				}
				catch (Poco::Exception&) {}
			}
			if (client.poll(Poco::Timespan(0, 1000), Poco::Net::Socket::SELECT_READ))
			{
				int n = client.receiveBytes(buf, sizeof(buf));
				if (n > 0) received.append(buf, static_cast<std::size_t>(n));
			}
		}
		CPPUNIT_ASSERT_EQUAL(40 * chunk.size(), received.size());
		CPPUNIT_ASSERT_EQUAL(chunk, received.substr(39 * chunk.size()));
	}

	bool readPausedInLoop()
		/// Asks the loop thread whether its (only) connection has reads paused.
	{
		std::atomic<int> paused{-1};
		EventLoop* pLoop = _pLoop.get();
		_pLoop->post([&paused, pLoop]()
		{
			int value = 0;
			pLoop->forEach([&value](Connection& c) { value = c.readPaused() ? 1 : 0; });
			paused = value;
		});
		CPPUNIT_ASSERT(waitUntil([&]() { return paused.load() != -1; }));
		return paused.load() == 1;
	}

	void testBackPressurePausesReadsAndReportsProgress()
	{
		// A small send buffer on the server side, so most of the 1 MiB stays
		// in the connection's own output buffer while the client does not
		// read: reads pause above HIGH_WATER, and every write that makes
		// progress is reported (a session uses that to know a paused peer is
		// alive).
		Poco::Net::StreamSocket client = connectAndAdopt(4096);
		client.sendBytes("b", 1);
		CPPUNIT_ASSERT(waitUntil([&]() { return readPausedInLoop(); }));
		int progressWhileStalled = _counters.progress.load();
		std::string received = readExactly(client, 4 * Connection::HIGH_WATER);
		CPPUNIT_ASSERT_EQUAL(4 * Connection::HIGH_WATER, received.size());
		CPPUNIT_ASSERT(_counters.pausedSeen.load());
		CPPUNIT_ASSERT(_counters.progress.load() > progressWhileStalled);
		// Reading resumed once the output drained.
		client.sendBytes("x", 1);
		CPPUNIT_ASSERT_EQUAL(std::string("x"), readExactly(client, 1));
	}

private:
	std::unique_ptr<EventLoop> _pLoop;
	Poco::Thread _thread;
	Poco::Net::ServerSocket _server;
	Counters _counters;
};

CPPUNIT_TEST_SUITE_REGISTRATION(EventLoopTest);
