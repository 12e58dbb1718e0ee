//
// TakeoverTest.cpp
//
// Contract semantic 1: one session per uid; a new LOGIN kicks the old
// connection and takes over everything undelivered; no ping-pong.
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class TakeoverTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(TakeoverTest);
	CPPUNIT_TEST(testNewLoginKicksOld);
	CPPUNIT_TEST(testNewSessionTakesUndelivered);
	CPPUNIT_TEST(testMessagesGoToNewSession);
	CPPUNIT_TEST(testDisplacedDeviceIsGuarded);
	CPPUNIT_TEST(testSameDeviceReconnectTakesOver);
	CPPUNIT_TEST(testManyTakeoversLeaveOneSession);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{{"session.takeoverGuard", "30"}}));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	static void expectKick(ImgateClient& c, unsigned reason)
	{
		Reply r;
		CPPUNIT_ASSERT(c.receiveCommand(r, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0), r.seq);
		auto k = r.parse<imgate::v1::Kick>();
		CPPUNIT_ASSERT_EQUAL(reason, k.reason());
		CPPUNIT_ASSERT(!k.message().empty());
		CPPUNIT_ASSERT(c.waitClosed(Poco::Timespan(5, 0)));
	}

	void testNewLoginKicksOld()
	{
		auto phone = _pServer->login("alice", "phone");
		auto laptop = _pServer->login("alice", "laptop");
		expectKick(*phone, 1); // DUPLICATE_LOGIN
		CPPUNIT_ASSERT(!laptop->closed());
	}

	void testNewSessionTakesUndelivered()
	{
		auto alice = _pServer->login("alice");
		auto bob1 = _pServer->login("bob", "phone");
		Reply ack = alice->sendMessage("bob", 1, "in flight");
		Poco::UInt64 id = ack.parse<imgate::v1::MessageSendAck>().msg_id();
		Reply d;
		CPPUNIT_ASSERT(bob1->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		// bob1 never acknowledges; bob2 takes over and gets it.
		auto bob2 = _pServer->login("bob", "laptop");
		CPPUNIT_ASSERT(bob2->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.parse<imgate::v1::MessageDeliver>().msg_id()));
		expectKick(*bob1, 1);
	}

	void testMessagesGoToNewSession()
	{
		auto bob1 = _pServer->login("bob", "phone");
		auto bob2 = _pServer->login("bob", "laptop");
		expectKick(*bob1, 1);
		auto alice = _pServer->login("alice");
		CPPUNIT_ASSERT(alice->sendMessage("bob", 1, "to the laptop").result() == Status::OK);
		Reply d;
		CPPUNIT_ASSERT(bob2->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("to the laptop"), d.parse<imgate::v1::MessageDeliver>().payload());
	}

	void testDisplacedDeviceIsGuarded()
	{
		auto phone = _pServer->login("alice", "phone");
		auto laptop = _pServer->login("alice", "laptop");
		expectKick(*phone, 1);
		// The phone's client reconnects at once: refused, the laptop keeps the session.
		auto phone2 = _pServer->connect();
		Reply r = phone2->login("alice", "", "phone");
		CPPUNIT_ASSERT(r.result() == Status::RATE_LIMITED);
		CPPUNIT_ASSERT(r.parse<imgate::v1::LoginResponse>().message().find("retry in") != std::string::npos);
		CPPUNIT_ASSERT(!phone2->closed());
		Poco::UInt32 seq = laptop->nextSeq();
		laptop->send(Command::HEARTBEAT, seq);
		Reply hb;
		CPPUNIT_ASSERT(laptop->receiveReply(hb, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(hb.result() == Status::OK);
		Reply kick;
		CPPUNIT_ASSERT(!laptop->receiveCommand(kick, Command::KICK, Poco::Timespan(0, 300000)));
		// A third device still takes over.
		auto tablet = _pServer->login("alice", "tablet");
		expectKick(*laptop, 1);
	}

	void testSameDeviceReconnectTakesOver()
	{
		auto a = _pServer->login("alice", "phone");
		auto b = _pServer->login("alice", "phone");
		expectKick(*a, 1);
		auto c = _pServer->login("alice", "phone");
		expectKick(*b, 1);
		CPPUNIT_ASSERT(!c->closed());
	}

	void testManyTakeoversLeaveOneSession()
	{
		std::vector<std::unique_ptr<ImgateClient>> clients;
		for (int i = 0; i < 20; ++i) clients.push_back(_pServer->login("alice", "dev" + std::to_string(i)));
		for (int i = 0; i < 19; ++i) CPPUNIT_ASSERT(clients[static_cast<std::size_t>(i)]->waitClosed(Poco::Timespan(5, 0)));
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT(bob->sendMessage("alice", 1, "last one wins").result() == Status::OK);
		Reply d;
		CPPUNIT_ASSERT(clients.back()->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TakeoverTest);
