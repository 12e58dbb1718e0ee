//
// TimeoutTest.cpp
//
// Contract semantic 2: heartbeat and login timeouts (1-second settings).
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class TimeoutTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(TimeoutTest);
	CPPUNIT_TEST(testLoginTimeout);
	CPPUNIT_TEST(testHeartbeatsBeforeLoginDoNotExtendIt);
	CPPUNIT_TEST(testSilentSessionTimesOut);
	CPPUNIT_TEST(testHeartbeatsKeepSessionAlive);
	CPPUNIT_TEST(testAnyFrameRefreshes);
	CPPUNIT_TEST(testTimedOutUidIsFree);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{
			{"session.heartbeatInterval", "1"},
			{"session.heartbeatTimeout", "2"},
			{"session.loginTimeout", "1"}}));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	void testLoginTimeout()
	{
		auto c = _pServer->connect();
		Reply r;
		CPPUNIT_ASSERT(c->receiveCommand(r, Command::ERROR, Poco::Timespan(4, 0)));
		CPPUNIT_ASSERT(r.result() == Status::NOT_LOGGED_IN);
		CPPUNIT_ASSERT_EQUAL(std::string("login timeout"), r.parse<imgate::v1::Error>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(4, 0)));
	}

	void testHeartbeatsBeforeLoginDoNotExtendIt()
	{
		auto c = _pServer->connect();
		Poco::Timestamp start;
		while (!c->closed() && !start.isElapsed(5000000))
		{
			try { c->send(Command::HEARTBEAT, c->nextSeq()); } catch (Poco::Exception&) { break; }
			Reply r;
			c->receive(r, Poco::Timespan(0, 200000));
		}
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(2, 0)));
		CPPUNIT_ASSERT(!start.isElapsed(4500000));
	}

	void testSilentSessionTimesOut()
	{
		auto c = _pServer->login("alice");
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(6, 0)));
		CPPUNIT_ASSERT(_pServer->waitForLog("heartbeat timeout uid=alice"));
	}

	void testHeartbeatsKeepSessionAlive()
	{
		auto c = _pServer->login("alice");
		Poco::Timestamp start;
		int answered = 0;
		while (!start.isElapsed(5000000)) // 2.5 x the timeout
		{
			Poco::UInt32 seq = c->nextSeq();
			c->send(Command::HEARTBEAT, seq);
			Reply r;
			CPPUNIT_ASSERT(c->receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(2, 0)));
			++answered;
			Poco::Thread::sleep(500);
		}
		CPPUNIT_ASSERT(!c->closed());
		CPPUNIT_ASSERT(answered >= 8);
	}

	void testAnyFrameRefreshes()
	{
		auto alice = _pServer->login("alice");
		Poco::Timestamp start;
		Poco::UInt64 id = 1;
		while (!start.isElapsed(4000000))
		{
			// Messages to oneself (acknowledged) instead of heartbeats.
			CPPUNIT_ASSERT(alice->sendMessage("alice", id++, "tick").result() == Status::OK);
			Reply d;
			CPPUNIT_ASSERT(alice->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(2, 0)));
			alice->ackDeliveries({d.parse<imgate::v1::MessageDeliver>().msg_id()});
			Poco::Thread::sleep(500);
		}
		CPPUNIT_ASSERT(!alice->closed());
	}

	void testTimedOutUidIsFree()
	{
		auto old = _pServer->login("alice");
		CPPUNIT_ASSERT(old->waitClosed(Poco::Timespan(6, 0)));
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT(bob->sendMessage("alice", 1, "after timeout").result() == Status::OK);
		Reply d;
		CPPUNIT_ASSERT(alice->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TimeoutTest);
