//
// SessionManagerTest.cpp
//
// The session manager in process (InProcessServer): address kicks reach
// connections that are between their accept check and their loop.
//

#include "tests/support/InProcessServer.h"
#include "imgate/v1/imgate.pb.h"
#include <cppunit/extensions/HelperMacros.h>
#include <atomic>

using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::session::SessionManager;
using imgate::test::InProcessServer;

namespace {

class BanWhileChecking: public imgate::net::AcceptCheck
	/// Lets the connection through, then bans its address: as if a ban
	/// (admin API, rate limiter) came right after the plugins' onAccept
	/// said yes and before the loop adopted the connection.
{
public:
	bool accept(const Poco::Net::StreamSocket&) override
	{
		if (pManager && armed.exchange(false))
		{
			pManager->kickAddresses([](const std::string& address) { return address == "127.0.0.1"; },
				imgate::KickReason::BANNED, "address banned");
		}
		for (int n = storm.exchange(0); n > 0; --n)
		{
			pManager->kickAddresses([](const std::string& address) { return address == "10.9.9.9"; },
				imgate::KickReason::BANNED, "someone else banned");
		}
		return true;
	}

	SessionManager* pManager = nullptr;
	std::atomic<bool> armed{false};
	std::atomic<int> storm{0}; /// Kicks of other addresses to make in the next check.
};

} // namespace


class SessionManagerTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(SessionManagerTest);
	CPPUNIT_TEST(testBanDuringHandOffKicks);
	CPPUNIT_TEST(testEarlierBanDoesNotKickLaterConnections);
	CPPUNIT_TEST(testKeptKicksOfOthersLeaveTheConnection);
	CPPUNIT_TEST(testForgottenKickSendsTheConnectionBack);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new InProcessServer(imgate::session::SessionConfig(), &_check));
		_check.pManager = &_pServer->manager();
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	void testBanDuringHandOffKicks()
	{
		_check.armed = true;
		// Not connect(): it waits to see the session, which is kicked at once.
		auto c = std::unique_ptr<imgate::client::ImgateClient>(new imgate::client::ImgateClient("127.0.0.1", _pServer->port()));
		Reply r;
		CPPUNIT_ASSERT(c->receiveCommand(r, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(3), r.parse<imgate::v1::Kick>().reason()); // BANNED
		CPPUNIT_ASSERT_EQUAL(std::string("address banned"), r.parse<imgate::v1::Kick>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
	}

	void testEarlierBanDoesNotKickLaterConnections()
	{
		// A kick that came before a connection's check is the check's
		// business (a lifted or expired ban must not follow later clients).
		_check.armed = true;
		auto first = std::unique_ptr<imgate::client::ImgateClient>(new imgate::client::ImgateClient("127.0.0.1", _pServer->port()));
		CPPUNIT_ASSERT(first->waitClosed(Poco::Timespan(5, 0)));
		auto second = _pServer->login("alice");
		_pServer->sync();
		Reply r;
		CPPUNIT_ASSERT(!second->receive(r, Poco::Timespan(0)));
		CPPUNIT_ASSERT(!second->closed());
	}

	void testKeptKicksOfOthersLeaveTheConnection()
	{
		// Every kick since the ticket is still known and none matches.
		_check.storm = SessionManager::ADDRESS_KICKS_KEPT;
		auto c = _pServer->login("alice");
		_pServer->sync();
		Reply r;
		CPPUNIT_ASSERT(!c->receive(r, Poco::Timespan(0)));
		CPPUNIT_ASSERT(!c->closed());
	}

	void testForgottenKickSendsTheConnectionBack()
	{
		// One more kick than are kept: the first, which this connection's
		// check did not see, is gone, so it cannot be matched any more;
		// the connection is sent back through the accept checks.
		_check.storm = SessionManager::ADDRESS_KICKS_KEPT + 1;
		auto c = std::unique_ptr<imgate::client::ImgateClient>(new imgate::client::ImgateClient("127.0.0.1", _pServer->port()));
		Reply r;
		CPPUNIT_ASSERT(c->receiveCommand(r, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(4), r.parse<imgate::v1::Kick>().reason()); // SHUTDOWN
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		// The next connection's ticket is after all of them.
		auto next = _pServer->login("bob");
		_pServer->sync();
		CPPUNIT_ASSERT(!next->receive(r, Poco::Timespan(0)));
		CPPUNIT_ASSERT(!next->closed());
	}

private:
	BanWhileChecking _check;
	std::unique_ptr<InProcessServer> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SessionManagerTest);
