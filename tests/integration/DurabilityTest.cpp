//
// DurabilityTest.cpp
//
// Contract semantic 3 with the sqlite store: every message whose
// MSG_SEND_ACK said OK survives SIGKILL and SIGTERM of the server and is
// delivered exactly once, in order, after the restart; a full database
// refuses sends explicitly and loses nothing it acknowledged.
//

#include "tests/support/AdminHttp.h"
#include "server/protocol/FrameEncoder.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>
#include <csignal>
#include <map>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class DurabilityTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(DurabilityTest);
	CPPUNIT_TEST(testSigkillLosesNothing);
	CPPUNIT_TEST(testSigtermLosesNothing);
	CPPUNIT_TEST(testFullDatabaseRefusesAndLosesNothing);
	CPPUNIT_TEST(testSigkillLosesNoGroupMessage);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = ServerProcess::makeTempDir();
		_settings = ServerProcess::Settings{{"store.path", _dir + "imgate.db"}, {"server.drainTime", "0"}};
	}

	void tearDown() override
	{
		try
		{
			Poco::File(_dir).remove(true);
		}
		catch (Poco::Exception&)
		{
		}
	}

	static std::string payloadOf(Poco::UInt64 clientId, std::size_t size = 0)
	{
		std::string p = "message " + std::to_string(clientId) + " ";
		if (p.size() < size) p.append(size - p.size(), 'x');
		return p;
	}

	struct Sent
	{
		std::vector<Poco::UInt64> okIds;                  /// msg_ids acknowledged OK, in ack order
		std::map<Poco::UInt64, Poco::UInt64> clientIdOf;   /// msg_id -> client_msg_id
		std::map<Status, int> refused;
	};

	static Sent sendPipelined(ImgateClient& c, const std::string& to, Poco::UInt64 first, Poco::UInt64 count, std::size_t size = 0)
	{
		// All MSG_SENDs first, then every ack: the store commits them in
		// groups, as it does for a busy server.
		std::map<Poco::UInt32, Poco::UInt64> clientIdOfSeq;
		for (Poco::UInt64 i = first; i < first + count; ++i)
		{
			imgate::v1::MessageSend m;
			m.set_to_uid(to);
			m.set_client_msg_id(i);
			m.set_payload(payloadOf(i, size));
			Poco::UInt32 seq = c.nextSeq();
			clientIdOfSeq[seq] = i;
			c.send(Command::MSG_SEND, seq, m);
		}
		Sent sent;
		for (Poco::UInt64 n = 0; n < count; ++n)
		{
			Reply r;
			CPPUNIT_ASSERT(c.receiveCommand(r, Command::MSG_SEND_ACK, Poco::Timespan(20, 0)));
			CPPUNIT_ASSERT(clientIdOfSeq.count(r.seq) == 1);
			auto ack = r.parse<imgate::v1::MessageSendAck>();
			CPPUNIT_ASSERT_EQUAL(clientIdOfSeq[r.seq], static_cast<Poco::UInt64>(ack.client_msg_id()));
			if (r.result() == Status::OK)
			{
				CPPUNIT_ASSERT(sent.okIds.empty() || ack.msg_id() > sent.okIds.back());
				sent.okIds.push_back(ack.msg_id());
				sent.clientIdOf[ack.msg_id()] = ack.client_msg_id();
			}
			else
			{
				++sent.refused[r.result()];
			}
		}
		return sent;
	}

	static void receiveExactly(ImgateClient& c, const Sent& sent, std::size_t size = 0)
	{
		// Every acknowledged message once, in order; nothing else.
		for (Poco::UInt64 expected: sent.okIds)
		{
			Reply r;
			CPPUNIT_ASSERT_MESSAGE("waiting for msg_id " + std::to_string(expected), c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(10, 0)));
			auto d = r.parse<imgate::v1::MessageDeliver>();
			CPPUNIT_ASSERT_EQUAL(expected, static_cast<Poco::UInt64>(d.msg_id()));
			CPPUNIT_ASSERT_EQUAL(std::string("alice"), d.from_uid());
			CPPUNIT_ASSERT(d.payload() == payloadOf(sent.clientIdOf.at(expected), size));
			c.ackDeliveries({d.msg_id()});
		}
		Reply extra;
		CPPUNIT_ASSERT(!c.receiveCommand(extra, Command::MSG_DELIVER, Poco::Timespan(1, 500000)));
	}

	void restartAfter(int sig)
	{
		const Poco::UInt64 n = 300;
		Sent sent;
		{
			ServerProcess server(_settings);
			auto alice = server.login("alice");
			sent = sendPipelined(*alice, "bob", 1, n);
			CPPUNIT_ASSERT_EQUAL(std::size_t(n), sent.okIds.size());
			server.signal(sig);
			int code = server.waitExit(15000);
			CPPUNIT_ASSERT_EQUAL(sig == SIGKILL ? 128 + SIGKILL : 0, code);
		}
		ServerProcess server(_settings);
		auto bob = server.login("bob");
		receiveExactly(*bob, sent);
		// A resend after the restart is recognised: same msg_id, no second delivery.
		auto alice = server.login("alice");
		Reply again = alice->sendMessage("bob", 7, payloadOf(7));
		CPPUNIT_ASSERT(again.result() == Status::OK);
		CPPUNIT_ASSERT_EQUAL(sent.okIds[6], static_cast<Poco::UInt64>(again.parse<imgate::v1::MessageSendAck>().msg_id()));
		Reply extra;
		CPPUNIT_ASSERT(!bob->receiveCommand(extra, Command::MSG_DELIVER, Poco::Timespan(1, 0)));
	}

	void testSigkillLosesNoGroupMessage()
	{
		// Protocol 1.1: kill -9 right after a group message's OK ack; every
		// member gets it after the restart (and the group is still there).
		_settings["admin.allowNoToken"] = "true";
		const Poco::UInt64 n = 50;
		std::vector<Poco::UInt64> ids;
		{
			ServerProcess server(_settings);
			test::Http h = test::request(server.adminPort(), "PUT", "/v1/groups/team", "", "{\"members\": [\"alice\", \"bob\", \"carol\", \"dave\"]}");
			CPPUNIT_ASSERT_EQUAL(200, h.status);
			auto alice = server.login("alice");
			std::string wire;
			for (Poco::UInt64 i = 1; i <= n; ++i)
			{
				imgate::v1::MessageSend m;
				m.set_to_group("team");
				m.set_client_msg_id(i);
				m.set_payload(payloadOf(i));
				protocol::FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, static_cast<Poco::UInt32>(i), m);
			}
			alice->sendRaw(wire);
			for (Poco::UInt64 i = 1; i <= n; ++i)
			{
				Reply ack;
				CPPUNIT_ASSERT(alice->receiveReply(ack, Command::MSG_SEND_ACK, static_cast<Poco::UInt32>(i), Poco::Timespan(10, 0)));
				CPPUNIT_ASSERT(ack.result() == Status::OK);
				ids.push_back(ack.parse<imgate::v1::MessageSendAck>().msg_id());
			}
			server.signal(SIGKILL); // at once after the last ack
			CPPUNIT_ASSERT_EQUAL(128 + SIGKILL, server.waitExit(15000));
		}
		ServerProcess server(_settings);
		for (const char* uid: {"bob", "carol", "dave"})
		{
			auto member = server.login(uid);
			for (Poco::UInt64 i = 0; i < n; ++i)
			{
				Reply r;
				CPPUNIT_ASSERT_MESSAGE(std::string(uid) + " waits for message " + std::to_string(i + 1), member->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(10, 0)));
				auto d = r.parse<imgate::v1::MessageDeliver>();
				CPPUNIT_ASSERT_EQUAL(ids[i], static_cast<Poco::UInt64>(d.msg_id()));
				CPPUNIT_ASSERT_EQUAL(std::string("team"), d.group_id());
				CPPUNIT_ASSERT(d.payload() == payloadOf(i + 1));
				member->ackDeliveries({d.msg_id()});
			}
		}
		CPPUNIT_ASSERT_EQUAL(200, test::request(server.adminPort(), "GET", "/v1/groups/team").status);
	}

	void testSigkillLosesNothing()
	{
		restartAfter(SIGKILL);
	}

	void testSigtermLosesNothing()
	{
		restartAfter(SIGTERM);
	}

	void testFullDatabaseRefusesAndLosesNothing()
	{
		// store.maxDatabaseBytes stands in for a full disk: SQLite reports
		// SQLITE_FULL either way.
		_settings["store.maxDatabaseBytes"] = "327680";
		_settings["store.deliveredRetention"] = "0";
		_settings["store.historyRetention"] = "0"; // acknowledged messages are deleted, freeing space
		const std::size_t size = 4000;
		Sent sent;
		{
			ServerProcess server(_settings);
			auto alice = server.login("alice");
			sent = sendPipelined(*alice, "bob", 1, 200, size);
			CPPUNIT_ASSERT(sent.okIds.size() >= 20);
			CPPUNIT_ASSERT(sent.refused[Status::SERVER_BUSY] > 0);
			CPPUNIT_ASSERT_EQUAL(std::size_t(1), sent.refused.size()); // nothing but SERVER_BUSY
			// Other sessions carry on: heartbeats, logins.
			auto carol = server.login("carol");
			Poco::UInt32 seq = carol->nextSeq();
			carol->send(Command::HEARTBEAT, seq);
			Reply hb;
			CPPUNIT_ASSERT(carol->receiveReply(hb, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
			// Logged once per episode, not once per refused message.
			std::string log = server.log();
			std::size_t first = log.find("cannot write " + _dir + "imgate.db: database or disk is full");
			CPPUNIT_ASSERT_MESSAGE(log, first != std::string::npos);
			CPPUNIT_ASSERT(log.find("cannot write", first + 1) == std::string::npos);
			server.signal(SIGKILL);
			server.waitExit(10000);
		}
		ServerProcess server(_settings);
		auto bob = server.login("bob");
		receiveExactly(*bob, sent, size);
		// Delivered messages were deleted: sends succeed again.
		auto alice = server.login("alice");
		Reply r = alice->sendMessage("bob", 1000, payloadOf(1000, size));
		CPPUNIT_ASSERT_MESSAGE(protocol::statusName(r.status), r.result() == Status::OK);
	}

private:
	std::string _dir;
	ServerProcess::Settings _settings;
};


CPPUNIT_TEST_SUITE_REGISTRATION(DurabilityTest);
