//
// SessionTimersTest.cpp
//
// Contract semantic 2 (login and heartbeat timeouts) and retransmission,
// on a clock the test moves: the session layer in process
// (InProcessServer), each deadline checked one millisecond before and at
// the moment it falls due, without waiting for it.
//

#include "tests/support/InProcessServer.h"
#include "imgate/v1/imgate.pb.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::session::SessionConfig;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::InProcessServer;

namespace {

SessionConfig timeouts()
{
	SessionConfig config;
	config.heartbeatInterval = 1;
	config.heartbeatTimeout = 2;
	config.loginTimeout = 1;
	config.retransmitTimeout = 3;
	return config;
}

bool quiet(ImgateClient& c)
	/// Nothing arrived and the connection is open (the server has written
	/// everything before InProcessServer::advance() returned).
{
	Reply r;
	return !c.receive(r, Poco::Timespan(0)) && !c.closed();
}

void heartbeat(ImgateClient& c)
{
	Poco::UInt32 seq = c.nextSeq();
	c.send(Command::HEARTBEAT, seq);
	Reply r;
	CPPUNIT_ASSERT(c.receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
	CPPUNIT_ASSERT(r.result() == Status::OK);
}

} // namespace


class SessionTimersTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(SessionTimersTest);
	CPPUNIT_TEST(testLoginTimeout);
	CPPUNIT_TEST(testHeartbeatsBeforeLoginDoNotExtendIt);
	CPPUNIT_TEST(testSilentSessionTimesOut);
	CPPUNIT_TEST(testHeartbeatsKeepSessionAlive);
	CPPUNIT_TEST(testAnyFrameRefreshes);
	CPPUNIT_TEST(testTimedOutUidIsFree);
	CPPUNIT_TEST(testRetransmitUntilAcknowledged);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new InProcessServer(timeouts()));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	void expectClosedAfter(ImgateClient& c, unsigned ms)
		/// Open and quiet until 1 ms before ms from now, closed at ms.
	{
		_pServer->advance(ms - 1);
		CPPUNIT_ASSERT(quiet(c));
		_pServer->advance(1);
		CPPUNIT_ASSERT(c.waitClosed(Poco::Timespan(5, 0)));
	}

	void testLoginTimeout()
	{
		auto c = _pServer->connect();
		_pServer->advance(999);
		CPPUNIT_ASSERT(quiet(*c));
		_pServer->advance(1);
		Reply r;
		CPPUNIT_ASSERT(c->receiveCommand(r, Command::ERROR, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::NOT_LOGGED_IN);
		CPPUNIT_ASSERT_EQUAL(std::string("login timeout"), r.parse<imgate::v1::Error>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
	}

	void testHeartbeatsBeforeLoginDoNotExtendIt()
	{
		auto c = _pServer->connect();
		for (int i = 0; i < 4; ++i)
		{
			heartbeat(*c);
			_pServer->advance(200);
		}
		heartbeat(*c);
		expectClosedAfter(*c, 200); // 1 s after the connect
	}

	void testSilentSessionTimesOut()
	{
		auto c = _pServer->login("alice");
		expectClosedAfter(*c, 2000);
	}

	void testHeartbeatsKeepSessionAlive()
	{
		auto c = _pServer->login("alice");
		for (int i = 0; i < 20; ++i) // 10 s: five times the timeout
		{
			_pServer->advance(500);
			heartbeat(*c);
		}
		expectClosedAfter(*c, 2000);
	}

	void testAnyFrameRefreshes()
	{
		auto alice = _pServer->login("alice");
		for (Poco::UInt64 id = 1; id <= 10; ++id)
		{
			// Messages to oneself (acknowledged) instead of heartbeats.
			_pServer->advance(1500);
			CPPUNIT_ASSERT(alice->sendMessage("alice", id, "tick").result() == Status::OK);
			Reply d;
			CPPUNIT_ASSERT(alice->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
			alice->ackDeliveries({d.parse<imgate::v1::MessageDeliver>().msg_id()});
		}
		_pServer->sync(); // the last acknowledgement is read: it refreshed too
		expectClosedAfter(*alice, 2000);
	}

	void testTimedOutUidIsFree()
	{
		auto old = _pServer->login("alice");
		_pServer->advance(2000);
		CPPUNIT_ASSERT(old->waitClosed(Poco::Timespan(5, 0)));
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT(bob->sendMessage("alice", 1, "after timeout").result() == Status::OK);
		Reply d;
		CPPUNIT_ASSERT(alice->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("after timeout"), d.parse<imgate::v1::MessageDeliver>().payload());
	}

	void testRetransmitUntilAcknowledged()
	{
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT(alice->sendMessage("bob", 5, "retry me").result() == Status::OK);
		Reply d;
		CPPUNIT_ASSERT(bob->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		const Poco::UInt64 id = d.parse<imgate::v1::MessageDeliver>().msg_id();
		// Heartbeats keep both alive; not acknowledged, the delivery goes
		// out again 3 s (delivery.retransmitTimeout) after it was sent.
		_pServer->advance(1000);
		heartbeat(*alice);
		heartbeat(*bob);
		_pServer->advance(1000);
		heartbeat(*alice);
		heartbeat(*bob);
		_pServer->advance(999);
		CPPUNIT_ASSERT(quiet(*bob));
		_pServer->advance(1);
		CPPUNIT_ASSERT(bob->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.parse<imgate::v1::MessageDeliver>().msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("retry me"), d.parse<imgate::v1::MessageDeliver>().payload());
		bob->ackDeliveries({id});
		heartbeat(*bob); // the acknowledgement is read before the clock moves
		heartbeat(*alice);
		_pServer->advance(1500);
		heartbeat(*alice);
		heartbeat(*bob);
		_pServer->advance(1500);
		CPPUNIT_ASSERT(quiet(*bob)); // acknowledged: never again
	}

private:
	std::unique_ptr<InProcessServer> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SessionTimersTest);
