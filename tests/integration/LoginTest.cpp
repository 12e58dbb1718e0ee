//
// LoginTest.cpp
//
// Contract: LOGIN and its errors, HEARTBEAT, LOGOUT, anonymous access.
//

#include "tests/support/ServerProcess.h"
#include "tests/support/StoreWriteLock.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class LoginTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(LoginTest);
	CPPUNIT_TEST(testLoginOk);
	CPPUNIT_TEST(testInvalidUidKeepsConnection);
	CPPUNIT_TEST(testGarbageBodyKeepsConnection);
	CPPUNIT_TEST(testSecondLoginOnSameConnection);
	CPPUNIT_TEST(testCommandsBeforeLogin);
	CPPUNIT_TEST(testLogoutCloses);
	CPPUNIT_TEST(testLogoutAnswersEarlierSends);
	CPPUNIT_TEST(testLogoutWaitsForAnswersAtMostTheLinger);
	CPPUNIT_TEST(testBrokenStreamAnswersEarlierSendsFirst);
	CPPUNIT_TEST(testOversizeDeviceRefused);
	CPPUNIT_TEST(testAnonymousDisabledByDefault);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{{"session.heartbeatInterval", "7"}}));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	static Reply heartbeat(client::ImgateClient& c)
	{
		Poco::UInt32 seq = c.nextSeq();
		c.send(Command::HEARTBEAT, seq);
		Reply r;
		CPPUNIT_ASSERT(c.receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
		return r;
	}

	void testLoginOk()
	{
		auto c = _pServer->connect();
		Poco::Int64 before = Poco::Timestamp().epochMicroseconds() / 1000;
		Reply r = c->login("alice", "", "phone");
		Poco::Int64 after = Poco::Timestamp().epochMicroseconds() / 1000;
		CPPUNIT_ASSERT(r.command() == Command::LOGIN_RESP);
		CPPUNIT_ASSERT(r.result() == Status::OK);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(1), r.seq);
		auto body = r.parse<imgate::v1::LoginResponse>();
		CPPUNIT_ASSERT_EQUAL(7u, body.heartbeat_interval_s());
		CPPUNIT_ASSERT(!body.session_id().empty());
		CPPUNIT_ASSERT_EQUAL(std::string("1.1"), body.protocol());
		CPPUNIT_ASSERT(body.server_time_ms() >= before - 1000 && body.server_time_ms() <= after + 1000);
		Reply hb = heartbeat(*c);
		CPPUNIT_ASSERT(hb.result() == Status::OK);
		CPPUNIT_ASSERT(hb.body.empty());
		// The log names the login without any token.
		CPPUNIT_ASSERT(_pServer->waitForLog("login uid=alice"));
	}

	void testInvalidUidKeepsConnection()
	{
		auto c = _pServer->connect();
		for (const std::string& bad: {std::string(""), std::string("has space"), std::string(65, 'x'), std::string("a/b")})
		{
			Reply r = c->login(bad, "");
			CPPUNIT_ASSERT(r.result() == Status::BAD_REQUEST);
			CPPUNIT_ASSERT(!r.parse<imgate::v1::LoginResponse>().message().empty());
		}
		CPPUNIT_ASSERT(c->login("alice", "").result() == Status::OK);
	}

	void testGarbageBodyKeepsConnection()
	{
		auto c = _pServer->connect();
		std::string frame;
		const char garbage[] = "\xff\xff\xff\xff\x0f";
		protocol::FrameEncoder::appendRaw(frame, 0x0001, 0, 5, garbage, 5);
		c->sendRaw(frame);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::LOGIN_RESP, 5, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::BAD_REQUEST);
		CPPUNIT_ASSERT(heartbeat(*c).result() == Status::OK);
	}

	void testSecondLoginOnSameConnection()
	{
		auto c = _pServer->connect();
		CPPUNIT_ASSERT(c->login("alice", "").result() == Status::OK);
		Reply again = c->login("bob", "");
		CPPUNIT_ASSERT(again.result() == Status::ALREADY_LOGGED_IN);
		CPPUNIT_ASSERT(heartbeat(*c).result() == Status::OK);
		CPPUNIT_ASSERT(!c->closed());
	}

	void testCommandsBeforeLogin()
	{
		auto c = _pServer->connect();
		CPPUNIT_ASSERT(heartbeat(*c).result() == Status::OK); // allowed before LOGIN
		Reply ack = c->sendMessage("bob", 1, "hi");
		CPPUNIT_ASSERT(ack.command() == Command::MSG_SEND_ACK);
		CPPUNIT_ASSERT(ack.result() == Status::NOT_LOGGED_IN);
		imgate::v1::MessageDeliverAck dack;
		dack.add_msg_ids(1);
		c->send(Command::MSG_DELIVER_ACK, 33, dack);
		Reply err;
		CPPUNIT_ASSERT(c->receiveReply(err, Command::ERROR, 33, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(err.result() == Status::NOT_LOGGED_IN);
		c->send(Command::LOGOUT, 34);
		CPPUNIT_ASSERT(c->receiveReply(err, Command::ERROR, 34, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(err.result() == Status::NOT_LOGGED_IN);
		CPPUNIT_ASSERT(!c->closed());
		CPPUNIT_ASSERT(c->login("alice", "").result() == Status::OK);
	}

	void testLogoutCloses()
	{
		auto c = _pServer->login("alice");
		c->send(Command::LOGOUT, c->nextSeq());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(_pServer->waitForLog("logout uid=alice"));
		// The uid is free again at once.
		auto d = _pServer->login("alice");
		CPPUNIT_ASSERT(!d->closed());
	}

	static std::string sendsThenLogout(client::ImgateClient& c, int sends)
		/// MSG_SEND seq 1..sends (client_msg_id = seq) to bob, then LOGOUT: one write.
	{
		std::string wire;
		for (int i = 0; i < sends; ++i)
		{
			imgate::v1::MessageSend send;
			send.set_to_uid("bob");
			send.set_client_msg_id(c.nextSeq());
			send.set_payload("m" + std::to_string(i));
			protocol::FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, static_cast<Poco::UInt32>(send.client_msg_id()), send);
		}
		protocol::FrameEncoder::append(wire, Command::LOGOUT, Status::OK, c.nextSeq());
		return wire;
	}

	void testBrokenStreamAnswersEarlierSendsFirst()
	{
		// A frame the stream cannot go on after (bad magic): its ERROR is
		// the last frame, after the answers to the MSG_SENDs before it.
		auto c = _pServer->login("alice");
		{
			test::StoreWriteLock lock(_pServer->storePath());
			std::string wire = sendsThenLogout(*c, 3);
			wire.resize(wire.size() - protocol::FrameHeader::SIZE); // no LOGOUT
			wire += std::string(protocol::FrameHeader::SIZE, 'X');
			c->sendRaw(wire);
			CPPUNIT_ASSERT(_pServer->waitForLog("bad frame magic"));
		} // the commit goes through now
		for (Poco::UInt32 seq = 2; seq <= 4; ++seq)
		{
			Reply r;
			CPPUNIT_ASSERT_MESSAGE("frame " + std::to_string(seq), c->receive(r, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT_MESSAGE("MSG_SEND_ACK seq " + std::to_string(seq) + " before the ERROR", r.command() == Command::MSG_SEND_ACK);
			CPPUNIT_ASSERT_EQUAL(seq, r.seq);
			CPPUNIT_ASSERT(r.result() == Status::OK);
		}
		Reply error;
		CPPUNIT_ASSERT(c->receive(error, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(error.command() == Command::ERROR);
		CPPUNIT_ASSERT(error.result() == Status::BAD_REQUEST);
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
	}

	void testLogoutAnswersEarlierSends()
	{
		// LOGOUT closes "after flushing": the MSG_SENDs before it are
		// answered first, though the store commits them only afterwards.
		auto c = _pServer->login("alice");
		{
			test::StoreWriteLock lock(_pServer->storePath());
			c->sendRaw(sendsThenLogout(*c, 5));
			CPPUNIT_ASSERT(_pServer->waitForLog("logout uid=alice"));
		} // the commit goes through now
		for (Poco::UInt32 seq = 2; seq <= 6; ++seq)
		{
			Reply ack;
			CPPUNIT_ASSERT_MESSAGE("MSG_SEND_ACK seq " + std::to_string(seq),
				c->receiveReply(ack, Command::MSG_SEND_ACK, seq, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(ack.result() == Status::OK);
			auto body = ack.parse<imgate::v1::MessageSendAck>();
			CPPUNIT_ASSERT_EQUAL(Poco::UInt64(seq), static_cast<Poco::UInt64>(body.client_msg_id()));
			CPPUNIT_ASSERT(body.msg_id() > 0);
		}
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		// And they were stored: bob gets all five.
		auto bob = _pServer->login("bob");
		for (int i = 0; i < 5; ++i)
		{
			Reply r;
			CPPUNIT_ASSERT(bob->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT_EQUAL("m" + std::to_string(i), r.parse<imgate::v1::MessageDeliver>().payload());
		}
	}

	void testLogoutWaitsForAnswersAtMostTheLinger()
	{
		// A store that does not answer cannot keep the connection open:
		// it closes after the close linger (2 s) all the same.
		auto c = _pServer->login("alice");
		test::StoreWriteLock lock(_pServer->storePath());
		c->sendRaw(sendsThenLogout(*c, 1));
		Poco::Timestamp start;
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(4, 0)));
		CPPUNIT_ASSERT(start.isElapsed(1500 * 1000)); // it did wait
		Reply r;
		CPPUNIT_ASSERT(!c->receiveCommand(r, Command::MSG_SEND_ACK, Poco::Timespan(0)));
	}

	void testOversizeDeviceRefused()
	{
		auto c = _pServer->connect();
		CPPUNIT_ASSERT(c->login("alice", "", std::string(129, 'd')).result() == Status::BAD_REQUEST);
		CPPUNIT_ASSERT(c->login("alice", "", std::string(128, 'd')).result() == Status::OK);
	}

	void testAnonymousDisabledByDefault()
	{
		ServerProcess secure(ServerProcess::Settings{{"auth.allowAnonymous", ""}}); // key removed: the default applies
		auto c = secure.connect();
		Reply r = c->login("alice", "tok-SECRET-123");
		CPPUNIT_ASSERT(r.result() == Status::AUTH_FAILED);
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(secure.waitForLog("anonymous login is disabled"));
		CPPUNIT_ASSERT_MESSAGE("a token must never be logged", secure.log().find("tok-SECRET-123") == std::string::npos);
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(LoginTest);
