//
// TimeoutTest.cpp
//
// Contract semantic 2, end to end: a real imgated on its real clock
// closes a connection that does not log in and a silent session
// (1- and 2-second settings). Every deadline, refresh and the
// retransmission are tested to the millisecond on a clock the test moves
// in tests/unit/session/SessionTimersTest.cpp.
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
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
	CPPUNIT_TEST(testSilentSessionTimesOut);
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

	void testSilentSessionTimesOut()
	{
		auto c = _pServer->login("alice");
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(6, 0)));
		CPPUNIT_ASSERT(_pServer->waitForLog("heartbeat timeout uid=alice"));
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TimeoutTest);
