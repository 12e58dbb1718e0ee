//
// ShutdownTest.cpp
//
// SIGTERM/SIGINT: stop accepting, KICK (SHUTDOWN) every session spread over
// server.drainTime, exit 0 within drainTime + 5 s.
//

#include "tests/support/ServerProcess.h"
#include "tests/support/StoreWriteLock.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <algorithm>
#include <signal.h>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class ShutdownTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ShutdownTest);
	CPPUNIT_TEST(testSigtermKicksEverySessionAndExits);
	CPPUNIT_TEST(testSigintDrainsToo);
	CPPUNIT_TEST(testKicksAreSpreadOverDrainTime);
	CPPUNIT_TEST(testNoLoginSucceedsDuringDrain);
	CPPUNIT_TEST(testPeerThatDoesNotReadDoesNotBlockExit);
	CPPUNIT_TEST(testDrainAnswersSendsBeforeTheKick);
	CPPUNIT_TEST_SUITE_END();

public:
	static bool kickedForShutdown(ImgateClient& c, long timeoutMs)
	{
		Reply r;
		if (!c.receiveCommand(r, Command::KICK, Poco::Timespan(timeoutMs * 1000))) return false;
		if (r.parse<imgate::v1::Kick>().reason() != 4) return false;
		return c.waitClosed(Poco::Timespan(5, 0));
	}

	void testSigtermKicksEverySessionAndExits()
	{
		ServerProcess server(ServerProcess::Settings{{"server.drainTime", "1"}});
		std::vector<std::unique_ptr<ImgateClient>> clients;
		for (int i = 0; i < 10; ++i) clients.push_back(server.login("u" + std::to_string(i)));
		auto idle = server.connect(); // connected, not logged in
		Poco::Timestamp start;
		server.signal(SIGTERM);
		for (auto& c: clients) CPPUNIT_ASSERT(kickedForShutdown(*c, 6000));
		CPPUNIT_ASSERT(kickedForShutdown(*idle, 6000));
		int rc = server.waitExit(7000);
		CPPUNIT_ASSERT_EQUAL(0, rc);
		CPPUNIT_ASSERT(!start.isElapsed(6 * 1000000)); // drainTime + 5 s
		CPPUNIT_ASSERT(server.log().find("shutting down: draining 11 sessions") != std::string::npos);
		CPPUNIT_ASSERT(server.log().find("stopped") != std::string::npos);
	}

	void testSigintDrainsToo()
	{
		ServerProcess server(ServerProcess::Settings{{"server.drainTime", "0"}});
		auto c = server.login("alice");
		server.signal(SIGINT);
		CPPUNIT_ASSERT(kickedForShutdown(*c, 5000));
		CPPUNIT_ASSERT_EQUAL(0, server.waitExit(6000));
	}

	void testKicksAreSpreadOverDrainTime()
	{
		ServerProcess server(ServerProcess::Settings{{"server.drainTime", "2"}});
		std::vector<std::unique_ptr<ImgateClient>> clients;
		for (int i = 0; i < 20; ++i) clients.push_back(server.login("u" + std::to_string(i)));
		Poco::Timestamp start;
		server.signal(SIGTERM);
		std::vector<Poco::Timestamp::TimeDiff> arrivals;
		// Poll every client round-robin so each arrival time is seen within ~10 ms.
		std::vector<bool> done(clients.size(), false);
		while (arrivals.size() < clients.size() && !start.isElapsed(8000000))
		{
			for (std::size_t i = 0; i < clients.size(); ++i)
			{
				if (done[i]) continue;
				Reply r;
				if (clients[i]->receiveCommand(r, Command::KICK, Poco::Timespan(0, 500)))
				{
					CPPUNIT_ASSERT_EQUAL(4u, r.parse<imgate::v1::Kick>().reason());
					arrivals.push_back(start.elapsed());
					done[i] = true;
				}
			}
		}
		CPPUNIT_ASSERT_EQUAL(clients.size(), arrivals.size());
		auto minmax = std::minmax_element(arrivals.begin(), arrivals.end());
		// Twenty kicks drawn uniformly over 2 s do not all land within 0.5 s.
		CPPUNIT_ASSERT(*minmax.second - *minmax.first > 500000);
		CPPUNIT_ASSERT(*minmax.second < 4000000);
		CPPUNIT_ASSERT_EQUAL(0, server.waitExit(7000));
	}

	void testNoLoginSucceedsDuringDrain()
	{
		ServerProcess server(ServerProcess::Settings{{"server.drainTime", "3"}});
		auto holder = server.login("holder");
		auto late = server.connect();
		server.signal(SIGTERM);
		CPPUNIT_ASSERT(server.waitForLog("shutting down"));
		// Either the login is refused (SHUTTING_DOWN) or the drain kicked this
		// connection first; never a successful login.
		imgate::v1::LoginRequest login;
		login.set_uid("late");
		late->send(Command::LOGIN, 1, login);
		Reply r;
		bool sawLoginResp = false;
		while (late->receive(r, Poco::Timespan(5, 0)))
		{
			if (r.command() == Command::LOGIN_RESP)
			{
				sawLoginResp = true;
				CPPUNIT_ASSERT_MESSAGE(protocol::statusName(r.status), r.result() == Status::SHUTTING_DOWN);
			}
			else CPPUNIT_ASSERT(r.command() == Command::KICK);
		}
		CPPUNIT_ASSERT(late->closed());
		(void) sawLoginResp;
		// The listening socket is closed: new connections are refused at once.
		bool refused = false;
		try
		{
			server.connect();
		}
		catch (Poco::Exception&)
		{
			refused = true;
		}
		CPPUNIT_ASSERT(refused);
		CPPUNIT_ASSERT_EQUAL(0, server.waitExit(9000));
	}

	void testPeerThatDoesNotReadDoesNotBlockExit()
	{
		ServerProcess server(ServerProcess::Settings{{"server.drainTime", "1"}});
		auto reader = server.login("reader");
		auto alice = server.login("alice");
		// The stuck peer receives a flood of deliveries it never reads.
		auto stuck = server.login("stuck");
		stuck->socket().setReceiveBufferSize(4096);
		for (Poco::UInt64 i = 1; i <= 64; ++i)
			CPPUNIT_ASSERT(alice->sendMessage("stuck", i, std::string(20000, 'x')).result() == Status::OK);
		Poco::Timestamp start;
		server.signal(SIGTERM);
		CPPUNIT_ASSERT(kickedForShutdown(*reader, 6000));
		CPPUNIT_ASSERT_EQUAL(0, server.waitExit(7000));
		CPPUNIT_ASSERT(!start.isElapsed(6 * 1000000));
	}

	void testDrainAnswersSendsBeforeTheKick()
	{
		// KICK is the last frame: sends still waiting for their commit when
		// the drain kicks are answered first, then KICK, then the close.
		ServerProcess server(ServerProcess::Settings{{"server.drainTime", "0"}});
		auto alice = server.login("alice");
		{
			test::StoreWriteLock lock(server.storePath());
			std::string wire;
			for (Poco::UInt32 seq = 2; seq <= 6; ++seq)
			{
				imgate::v1::MessageSend send;
				send.set_to_uid("bob");
				send.set_client_msg_id(seq);
				send.set_payload("m");
				protocol::FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, seq, send);
			}
			protocol::FrameEncoder::append(wire, Command::HEARTBEAT, Status::OK, 7);
			alice->sendRaw(wire);
			// Frames are handled in order: once the heartbeat is answered,
			// the five sends are waiting for the store.
			Reply r;
			CPPUNIT_ASSERT(alice->receiveReply(r, Command::HEARTBEAT_RESP, 7, Poco::Timespan(5, 0)));
			server.signal(SIGTERM);
			CPPUNIT_ASSERT(server.waitForLog("kick uid=alice"));
		}
		std::vector<Reply> frames;
		Reply r;
		while (alice->receive(r, Poco::Timespan(5, 0))) frames.push_back(r);
		CPPUNIT_ASSERT(alice->closed());
		CPPUNIT_ASSERT_EQUAL(std::size_t(6), frames.size());
		for (std::size_t i = 0; i < 5; ++i)
		{
			CPPUNIT_ASSERT(frames[i].command() == Command::MSG_SEND_ACK);
			CPPUNIT_ASSERT(frames[i].result() == Status::OK);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(2 + i), frames[i].seq);
		}
		CPPUNIT_ASSERT(frames[5].command() == Command::KICK);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(4), frames[5].parse<imgate::v1::Kick>().reason());
		CPPUNIT_ASSERT_EQUAL(0, server.waitExit(7000));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(ShutdownTest);
