//
// BadInputTest.cpp
//
// Contract semantic 7 and the framing rules: bad input gets a clear error,
// never crashes the server and never affects other sessions.
//

#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Thread.h"
#include <cppunit/extensions/HelperMacros.h>
#include <random>
#include <set>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::FrameEncoder;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class BadInputTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BadInputTest);
	CPPUNIT_TEST(testBadMagicCloses);
	CPPUNIT_TEST(testBadVersionCloses);
	CPPUNIT_TEST(testOversizeClosesWithoutReadingBody);
	CPPUNIT_TEST(testFlagsAreBadRequest);
	CPPUNIT_TEST(testUnknownCommandKeepsConnection);
	CPPUNIT_TEST(testServerToClientCommandRefused);
	CPPUNIT_TEST(testErrorLogsAreBoundedPerSession);
	CPPUNIT_TEST(testByteByByte);
	CPPUNIT_TEST(testPipelinedMixedCommands);
	CPPUNIT_TEST(testGarbageFromManyConnectionsWhileExchangeWorks);
	CPPUNIT_TEST(testSessionLimit);
	CPPUNIT_TEST(testNonReadingRecipientsCostBoundedMemory);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{{"protocol.maxBodySize", "4096"}, {"message.maxPayloadSize", "1024"}}));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	static void expectErrorAndClose(ImgateClient& c, Status status)
	{
		Reply r;
		CPPUNIT_ASSERT(c.receiveCommand(r, Command::ERROR, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_MESSAGE(protocol::statusName(r.status), r.result() == status);
		CPPUNIT_ASSERT(!r.parse<imgate::v1::Error>().message().empty());
		CPPUNIT_ASSERT(c.waitClosed(Poco::Timespan(5, 0)));
	}

	static void expectAlive(ImgateClient& c)
	{
		Poco::UInt32 seq = c.nextSeq();
		c.send(Command::HEARTBEAT, seq);
		Reply r;
		CPPUNIT_ASSERT(c.receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::OK);
	}

	void testBadMagicCloses()
	{
		auto c = _pServer->connect();
		c->sendRaw("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
		expectErrorAndClose(*c, Status::BAD_REQUEST);
	}

	void testBadVersionCloses()
	{
		auto c = _pServer->connect();
		std::string frame;
		FrameEncoder::appendRaw(frame, 0x0003, 0, 1, nullptr, 0, 0, 2);
		c->sendRaw(frame);
		expectErrorAndClose(*c, Status::UNSUPPORTED_VERSION);
	}

	void testOversizeClosesWithoutReadingBody()
	{
		auto c = _pServer->connect();
		std::string header;
		FrameEncoder::appendRaw(header, 0x0010, 0, 3, nullptr, 0);
		header[12] = 0x7f; // body_len ~ 2 GiB; no body follows
		c->sendRaw(header);
		expectErrorAndClose(*c, Status::FRAME_TOO_LARGE);
		auto d = _pServer->connect();
		std::string justOver;
		std::string body(4097, 'x');
		FrameEncoder::appendRaw(justOver, 0x0003, 0, 4, body.data(), body.size());
		d->sendRaw(justOver);
		expectErrorAndClose(*d, Status::FRAME_TOO_LARGE);
	}

	void testFlagsAreBadRequest()
	{
		auto c = _pServer->connect();
		std::string frame;
		FrameEncoder::appendRaw(frame, 0x0003, 0, 8, nullptr, 0, 0x01);
		c->sendRaw(frame);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::HEARTBEAT_RESP, 8, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::BAD_REQUEST);
		expectAlive(*c);
		// A refused MSG_SEND still echoes its client_msg_id.
		CPPUNIT_ASSERT(c->login("flagger", "").result() == Status::OK);
		imgate::v1::MessageSend m;
		m.set_to_uid("bob");
		m.set_client_msg_id(4242);
		std::string body = m.SerializeAsString();
		std::string send;
		FrameEncoder::appendRaw(send, 0x0010, 0, 9, body.data(), body.size(), 0x02);
		c->sendRaw(send);
		CPPUNIT_ASSERT(c->receiveReply(r, Command::MSG_SEND_ACK, 9, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::BAD_REQUEST);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(4242), static_cast<Poco::UInt64>(r.parse<imgate::v1::MessageSendAck>().client_msg_id()));
	}

	void testUnknownCommandKeepsConnection()
	{
		auto c = _pServer->connect();
		std::string frame;
		FrameEncoder::appendRaw(frame, 0x0777, 0, 12, "abc", 3);
		c->sendRaw(frame);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::ERROR, 12, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::UNKNOWN_COMMAND);
		expectAlive(*c);
	}

	void testErrorLogsAreBoundedPerSession()
	{
		// 40 refused frames from one session: all answered, 5 logged.
		auto c = _pServer->login("flooder");
		imgate::v1::MessageDeliver fake;
		fake.set_msg_id(1);
		for (Poco::UInt32 seq = 100; seq < 140; ++seq) c->send(Command::MSG_DELIVER, seq, fake);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::ERROR, 139, Poco::Timespan(5, 0)));
		expectAlive(*c);
		const std::string log = _pServer->log();
		std::size_t lines = 0;
		for (std::size_t at = log.find("error uid=flooder peer=127.0.0.1:"); at != std::string::npos; at = log.find("error uid=flooder peer=", at + 1)) ++lines;
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), lines);
		CPPUNIT_ASSERT_MESSAGE(log, log.find(": UNKNOWN_COMMAND \"MSG_DELIVER is a server-to-client command\" (more errors of this session in the next minute are counted, not logged)") != std::string::npos);
		// Another session has its own budget.
		auto d = _pServer->login("other");
		d->send(Command::MSG_DELIVER, 7, fake);
		CPPUNIT_ASSERT(d->receiveReply(r, Command::ERROR, 7, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(_pServer->waitForLog("error uid=other peer=127.0.0.1:"));
	}

	void testServerToClientCommandRefused()
	{
		auto c = _pServer->login("alice");
		imgate::v1::MessageDeliver fake;
		fake.set_msg_id(1);
		c->send(Command::MSG_DELIVER, 21, fake);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::ERROR, 21, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::UNKNOWN_COMMAND);
		expectAlive(*c);
	}

	void testByteByByte()
	{
		auto c = _pServer->connect();
		imgate::v1::LoginRequest login;
		login.set_uid("slowpoke");
		std::string wire = FrameEncoder::encode(Command::LOGIN, Status::OK, 77, login);
		for (char byte: wire)
		{
			c->sendRaw(std::string(1, byte));
			Poco::Thread::sleep(2);
		}
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::LOGIN_RESP, 77, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::OK);
	}

	void testPipelinedMixedCommands()
	{
		auto c = _pServer->connect();
		imgate::v1::LoginRequest login;
		login.set_uid("piper");
		imgate::v1::MessageSend m;
		m.set_to_uid("piper");
		m.set_client_msg_id(1);
		m.set_payload("self");
		std::string wire;
		FrameEncoder::append(wire, Command::HEARTBEAT, Status::OK, 1);
		FrameEncoder::append(wire, Command::LOGIN, Status::OK, 2, login);
		FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, 3, m);
		FrameEncoder::append(wire, Command::HEARTBEAT, Status::OK, 4);
		c->sendRaw(wire);
		// Each response echoes its request's seq. A MSG_SEND_ACK waits for
		// the store's commit, so the heartbeat after it may overtake it;
		// everything before it comes back in order.
		const Command expected[] = {Command::HEARTBEAT_RESP, Command::LOGIN_RESP, Command::MSG_SEND_ACK, Command::HEARTBEAT_RESP};
		std::set<Poco::UInt32> answered;
		for (int i = 0; i < 4; ++i)
		{
			Reply r;
			do CPPUNIT_ASSERT(c->receive(r, Poco::Timespan(5, 0)));
			while (r.command() == Command::MSG_DELIVER); // the self-message may come in between
			CPPUNIT_ASSERT(r.seq >= 1 && r.seq <= 4);
			if (i < 2) CPPUNIT_ASSERT_EQUAL(static_cast<Poco::UInt32>(i + 1), r.seq);
			CPPUNIT_ASSERT_EQUAL(static_cast<int>(expected[r.seq - 1]), static_cast<int>(r.cmd));
			CPPUNIT_ASSERT(r.result() == Status::OK);
			CPPUNIT_ASSERT(answered.insert(r.seq).second);
		}
	}


	void testGarbageFromManyConnectionsWhileExchangeWorks()
	{
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		std::mt19937 random(12345);
		std::vector<std::unique_ptr<ImgateClient>> attackers;
		for (int i = 0; i < 60; ++i)
		{
			auto a = _pServer->connect();
			std::string junk;
			switch (i % 4)
			{
			case 0: // random bytes
				for (int k = 0; k < 200; ++k) junk.push_back(static_cast<char>(random()));
				break;
			case 1: // well-framed garbage bodies for every command
				for (Poco::UInt16 cmd: {0x0001, 0x0010, 0x0013, 0x0021, 0x0003})
				{
					std::string body;
					for (int k = 0; k < 40; ++k) body.push_back(static_cast<char>(random()));
					FrameEncoder::appendRaw(junk, cmd, 0, 1, body.data(), body.size());
				}
				break;
			case 2: // a header that promises more than it sends, then silence
				FrameEncoder::appendRaw(junk, 0x0010, 0, 1, nullptr, 0);
				junk[15] = 100;
				break;
			default: // oversize
				FrameEncoder::appendRaw(junk, 0x0010, 0, 1, nullptr, 0);
				junk[12] = 0x10;
				break;
			}
			try { a->sendRaw(junk); } catch (Poco::Exception&) {}
			attackers.push_back(std::move(a));
		}
		for (Poco::UInt64 i = 1; i <= 100; ++i)
		{
			Reply ack = alice->sendMessage("bob", i, "msg " + std::to_string(i));
			CPPUNIT_ASSERT(ack.result() == Status::OK);
		}
		for (int i = 1; i <= 100; ++i)
		{
			Reply d;
			CPPUNIT_ASSERT(bob->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
			auto m = d.parse<imgate::v1::MessageDeliver>();
			CPPUNIT_ASSERT_EQUAL("msg " + std::to_string(i), m.payload());
			bob->ackDeliveries({m.msg_id()});
		}
		expectAlive(*alice);
		CPPUNIT_ASSERT_EQUAL(-1, _pServer->waitExit(0)); // still running
	}

	void testSessionLimit()
	{
		ServerProcess server(ServerProcess::Settings{{"server.maxSessions", "3"}});
		std::vector<std::unique_ptr<ImgateClient>> clients;
		for (int i = 0; i < 3; ++i) clients.push_back(server.login("u" + std::to_string(i)));
		auto extra = server.connect();
		expectErrorAndClose(*extra, Status::SERVER_BUSY);
		clients[0]->close();
		// The slot frees once the server has seen the close.
		bool admitted = imgate::test::waitUntil([&]()
		{
			try
			{
				auto c = server.connect();
				return c->login("late", "").result() == Status::OK;
			}
			catch (Poco::Exception&)
			{
				return false; // refused (SERVER_BUSY and closed): try again
			}
		}, 5000, 50);
		CPPUNIT_ASSERT(admitted);
	}

	void testNonReadingRecipientsCostBoundedMemory()
	{
		// Four recipients with a full window (64 x 30 KB) that never read; the
		// retransmit timer fires every second. Once the kernel's buffers are
		// full, the server's memory must stop growing: a retransmission is
		// not queued while earlier output still waits.
		ServerProcess server(ServerProcess::Settings{{"delivery.retransmitTimeout", "1"}});
		auto alice = server.login("alice");
		std::vector<std::unique_ptr<ImgateClient>> sinks;
		for (int i = 0; i < 4; ++i)
		{
			sinks.push_back(server.login("sink" + std::to_string(i)));
			sinks.back()->socket().setReceiveBufferSize(4096);
		}
		const std::string payload(30000, 'p');
		for (int i = 0; i < 4; ++i)
			for (Poco::UInt64 k = 1; k <= 64; ++k)
				CPPUNIT_ASSERT(alice->sendMessage("sink" + std::to_string(i), static_cast<Poco::UInt64>(i) * 1000 + k, payload).result() == Status::OK);
		imgate::test::waitUntil([&]() { return false; }, 4000); // kernel buffers fill, a few retransmit periods pass
		long settled = server.rssKiB();
		imgate::test::waitUntil([&]() { return false; }, 4000); // four more retransmit periods
		long growth = server.rssKiB() - settled;
		// Queuing every retransmission would add 4 x 1.9 MB per period here.
		CPPUNIT_ASSERT_MESSAGE("RSS grew by " + std::to_string(growth) + " KiB", growth < 2048);
		// When a sink finally reads, it gets its messages.
		Reply d;
		CPPUNIT_ASSERT(sinks[0]->receiveCommand(d, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(payload, d.parse<imgate::v1::MessageDeliver>().payload());
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(BadInputTest);
