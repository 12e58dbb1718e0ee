//
// AdminServerTest.cpp
//
// The admin listener's HTTP front (issue 15, findings 1 and 9): slow
// clients hold no admin thread, the request head has a total deadline,
// and a malformed Content-Length or Transfer-Encoding gets a 400-class
// answer that says why. Raw sockets, a real imgated.
//

#include "tests/support/ServerProcess.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <vector>

using imgate::test::ServerProcess;

namespace {

std::string roundTrip(Poco::UInt16 port, const std::string& request, long timeoutMs = 5000)
	/// Sends request in one write and reads the answer to the close.
{
	Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
	s.setReceiveTimeout(Poco::Timespan(timeoutMs * 1000));
	s.sendBytes(request.data(), static_cast<int>(request.size()));
	std::string answer;
	char buffer[4096];
	int n;
	try
	{
		while ((n = s.receiveBytes(buffer, sizeof(buffer))) > 0) answer.append(buffer, static_cast<std::size_t>(n));
	}
	catch (Poco::TimeoutException&)
	{
	}
	return answer;
}

bool answers(const std::string& answer, const std::string& statusLine, const std::string& text)
{
	return answer.compare(0, statusLine.size(), statusLine) == 0 && answer.find(text) != std::string::npos;
}

} // namespace


class AdminServerTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AdminServerTest);
	CPPUNIT_TEST(testSlowHeadsHoldNoThread);
	CPPUNIT_TEST(testHeadDeadlineIsTotal);
	CPPUNIT_TEST(testBadLengthsAreRefusedWithTheReason);
	CPPUNIT_TEST(testExpectContinue);
	CPPUNIT_TEST(testNumbersOutOfRangeNamed);
	CPPUNIT_TEST(testMappedAddressIsOneAddress);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		// The blacklist plugin records bans, so POST /v1/bans reads its body.
		_pServer.reset(new ServerProcess(ServerProcess::Settings{
			{"store.type", "memory"}, {"admin.allowNoToken", "true"}, {"admin.threads", "2"},
			{"plugins.dir", IMGATE_PLUGIN_DIR}, {"plugins.load", "blacklist"}, {"plugins.blacklist.reloadInterval", "3600"}}));
		CPPUNIT_ASSERT(_pServer->adminPort() != 0);
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	void testSlowHeadsHoldNoThread()
	{
		// 40 connections (20 x admin.threads) send their heads a byte at a
		// time; all the while /healthz answers each probe within 1 s.
		const std::string head = "GET /v1/stats HTTP/1.1\r\nHost: x\r\n\r\n";
		std::vector<std::unique_ptr<Poco::Net::StreamSocket>> slow;
		for (int i = 0; i < 40; ++i)
			slow.emplace_back(new Poco::Net::StreamSocket(Poco::Net::SocketAddress("127.0.0.1", _pServer->adminPort())));
		int probes = 0;
		for (std::size_t at = 0; at < 12; ++at) // 12 bytes each, one round every 250 ms: 3 s
		{
			for (auto& s: slow) s->sendBytes(&head[at], 1);
			const Poco::Timestamp asked;
			const std::string answer = roundTrip(_pServer->adminPort(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 1000);
			CPPUNIT_ASSERT_MESSAGE("probe " + std::to_string(probes) + ": " + answer, answers(answer, "HTTP/1.1 200", "ok"));
			CPPUNIT_ASSERT(!asked.isElapsed(1000 * 1000));
			++probes;
			Poco::Thread::sleep(250);
		}
		CPPUNIT_ASSERT_EQUAL(12, probes);
	}

	void testHeadDeadlineIsTotal()
	{
		// A byte every 400 ms never lets a per-read timeout expire; the
		// head's total deadline (5 s) does.
		const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
		Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", _pServer->adminPort()));
		const Poco::Timestamp started;
		std::string answer;
		for (char c: head)
		{
			try
			{
				s.sendBytes(&c, 1);
			}
			catch (Poco::Exception&)
			{
				break; // answered and closed
			}
			if (s.poll(Poco::Timespan(400 * 1000), Poco::Net::Socket::SELECT_READ)) break;
			CPPUNIT_ASSERT_MESSAGE("no answer after 8 s", !started.isElapsed(8 * 1000 * 1000));
		}
		s.setReceiveTimeout(Poco::Timespan(5, 0));
		char buffer[4096];
		int n;
		while ((n = s.receiveBytes(buffer, sizeof(buffer))) > 0) answer.append(buffer, static_cast<std::size_t>(n));
		CPPUNIT_ASSERT_MESSAGE(answer, answers(answer, "HTTP/1.1 408", "the request head did not arrive within 5 s"));
		CPPUNIT_ASSERT(started.isElapsed(4500 * 1000));
	}

	void testBadLengthsAreRefusedWithTheReason()
	{
		const Poco::UInt16 port = _pServer->adminPort();
		const std::string post = "POST /v1/sessions/alice/kick HTTP/1.1\r\nHost: x\r\n";
		CPPUNIT_ASSERT(answers(roundTrip(port, post + "Content-Length: abc\r\n\r\n"), "HTTP/1.1 400", "Content-Length must be a decimal number of bytes"));
		CPPUNIT_ASSERT(answers(roundTrip(port, post + "Content-Length: 18446744073709551616\r\n\r\n"), "HTTP/1.1 400", "Content-Length is out of range"));
		CPPUNIT_ASSERT(answers(roundTrip(port, post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), "HTTP/1.1 400", "more than one Content-Length"));
		CPPUNIT_ASSERT(answers(roundTrip(port, post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), "HTTP/1.1 411", "send the body with a Content-Length"));
		CPPUNIT_ASSERT(answers(roundTrip(port, post + "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}"), "HTTP/1.1 400", "both Transfer-Encoding and Content-Length"));
		CPPUNIT_ASSERT(answers(roundTrip(port, "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"), "HTTP/1.1 431", "larger than 16384 bytes"));
		CPPUNIT_ASSERT(answers(roundTrip(port, "NOT A REQUEST\r\n\r\n"), "HTTP/1.1 400", "malformed"));
		// And a good one still works.
		CPPUNIT_ASSERT(answers(roundTrip(port, post + "Content-Length: 2\r\n\r\n{}"), "HTTP/1.1 404", "alice is not online"));
	}

	void testExpectContinue()
	{
		// curl sends "Expect: 100-continue" before a larger body.
		Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", _pServer->adminPort()));
		s.setReceiveTimeout(Poco::Timespan(5, 0));
		const std::string head = "POST /v1/sessions/alice/kick HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
		s.sendBytes(head.data(), static_cast<int>(head.size()));
		char buffer[4096];
		int n = s.receiveBytes(buffer, sizeof(buffer));
		CPPUNIT_ASSERT(n > 0);
		CPPUNIT_ASSERT_EQUAL(std::string("HTTP/1.1 100 Continue\r\n\r\n"), std::string(buffer, static_cast<std::size_t>(n)));
		s.sendBytes("{}", 2);
		std::string answer;
		while ((n = s.receiveBytes(buffer, sizeof(buffer))) > 0) answer.append(buffer, static_cast<std::size_t>(n));
		CPPUNIT_ASSERT_MESSAGE(answer, answers(answer, "HTTP/1.1 404", "alice is not online"));
	}

	void testNumbersOutOfRangeNamed()
	{
		// POCO's JSON parser reads 2^64 as 0 and 2^64 + 1 as 1: a ban "for
		// 18446744073709551616 s" would have been a ban until lifted.
		auto post = [this](const std::string& body)
		{
			return roundTrip(_pServer->adminPort(), "POST /v1/bans HTTP/1.1\r\nHost: x\r\nContent-Length: "
				+ std::to_string(body.size()) + "\r\n\r\n" + body);
		};
		CPPUNIT_ASSERT(answers(post("{\"uid\":\"x\",\"seconds\":18446744073709551616}"), "HTTP/1.1 400", "seconds: 18446744073709551616 is out of range"));
		CPPUNIT_ASSERT(answers(post("{\"uid\":\"x\",\"seconds\":18446744073709551617}"), "HTTP/1.1 400", "seconds: 18446744073709551617 is out of range"));
		CPPUNIT_ASSERT(answers(post("{\"uid\":\"x\",\"seconds\":9223372036854775808}"), "HTTP/1.1 400", "seconds: 9223372036854775808 is out of range"));
		CPPUNIT_ASSERT(answers(post("{\"uid\":\"x\",\"seconds\":31536001}"), "HTTP/1.1 400", "seconds: expected a whole number from 0 (until lifted) to 31536000"));
	}

	void testMappedAddressIsOneAddress()
	{
		// An IPv4-mapped IPv6 address is one address (its IPv4 form), not a
		// block that needs a prefix; 507 means only "table full".
		const std::string body = "{\"address\":\"::ffff:10.9.9.9\",\"seconds\":60}";
		const std::string answer = roundTrip(_pServer->adminPort(), "POST /v1/bans HTTP/1.1\r\nHost: x\r\nContent-Length: "
			+ std::to_string(body.size()) + "\r\n\r\n" + body);
		CPPUNIT_ASSERT_MESSAGE(answer, answers(answer, "HTTP/1.1 200", "\"address\":\"10.9.9.9\""));
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AdminServerTest);
