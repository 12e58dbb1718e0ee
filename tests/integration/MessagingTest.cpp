//
// MessagingTest.cpp
//
// Contract semantics 3-6: acknowledged messages are delivered at least
// once, in order, with retransmission, offline delivery, idempotent resend.
//

#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Thread.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

namespace {

imgate::v1::MessageDeliver nextDelivery(ImgateClient& c, long timeoutMs = 5000)
{
	Reply r;
	if (!c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(timeoutMs * 1000)))
		throw Poco::TimeoutException("no MSG_DELIVER in time");
	CPPUNIT_ASSERT(r.result() == Status::OK);
	CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0), r.seq);
	return r.parse<imgate::v1::MessageDeliver>();
}

bool noDelivery(ImgateClient& c, long ms)
{
	Reply r;
	return !c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(ms * 1000));
}

Poco::UInt64 sendOk(ImgateClient& c, const std::string& to, Poco::UInt64 clientId, const std::string& payload)
{
	Reply ack = c.sendMessage(to, clientId, payload);
	CPPUNIT_ASSERT_MESSAGE(protocol::statusName(ack.status), ack.result() == Status::OK);
	auto body = ack.parse<imgate::v1::MessageSendAck>();
	CPPUNIT_ASSERT_EQUAL(clientId, static_cast<Poco::UInt64>(body.client_msg_id()));
	CPPUNIT_ASSERT(body.msg_id() > 0);
	return body.msg_id();
}

double metric(const ServerProcess& server, const std::string& name)
	/// The value of an unlabelled series on GET /metrics (admin.allowNoToken).
{
	test::Http h = test::request(server.adminPort(), "GET", "/metrics");
	CPPUNIT_ASSERT_EQUAL(200, h.status);
	const double value = test::metricValue(h.body, name);
	CPPUNIT_ASSERT_MESSAGE("no " + name + " on /metrics", value >= 0);
	return value;
}

void exchange(ImgateClient& from, ImgateClient& to, const std::string& toUid, Poco::UInt64 clientId)
	/// One message sent, delivered and acknowledged.
{
	const std::string payload = "m" + std::to_string(clientId);
	const Poco::UInt64 id = sendOk(from, toUid, clientId, payload);
	auto d = nextDelivery(to);
	CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.msg_id()));
	CPPUNIT_ASSERT_EQUAL(payload, d.payload());
	to.ackDeliveries({d.msg_id()});
}

} // namespace


class MessagingTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(MessagingTest);
	CPPUNIT_TEST(testOnlineDelivery);
	CPPUNIT_TEST(testSendToSelf);
	CPPUNIT_TEST(testOfflineDeliveryToNeverSeenUser);
	CPPUNIT_TEST(testOrderOf500Pipelined);
	CPPUNIT_TEST(testOrderFromTwoSenders);
	CPPUNIT_TEST(testIdempotentResendAfterReconnect);
	CPPUNIT_TEST(testRetransmitUntilAcknowledged);
	CPPUNIT_TEST(testRedeliveryOnNextLogin);
	CPPUNIT_TEST(testWindowBoundsInFlight);
	CPPUNIT_TEST(testInStepNeedsNoReads);
	CPPUNIT_TEST(testWindowOfOneFallsBackAndReturnsInStep);
	CPPUNIT_TEST(testSendValidation);
	CPPUNIT_TEST(testRecipientQueueFull);
	CPPUNIT_TEST(testAckOfUndeliveredIdIsIgnored);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{{"delivery.retransmitTimeout", "1"}}));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	void testOnlineDelivery()
	{
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		Reply ack = alice->sendMessage("bob", 11, "hello bob");
		CPPUNIT_ASSERT(ack.result() == Status::OK);
		auto a = ack.parse<imgate::v1::MessageSendAck>();
		auto d = nextDelivery(*bob);
		CPPUNIT_ASSERT_EQUAL(a.msg_id(), d.msg_id());
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), d.from_uid());
		CPPUNIT_ASSERT_EQUAL(std::string("hello bob"), d.payload());
		CPPUNIT_ASSERT_EQUAL(a.timestamp_ms(), d.timestamp_ms());
		CPPUNIT_ASSERT(a.timestamp_ms() > 0);
		bob->ackDeliveries({d.msg_id()});
		CPPUNIT_ASSERT(noDelivery(*bob, 1500)); // acknowledged: no retransmit
	}

	void testSendToSelf()
	{
		auto alice = _pServer->login("alice");
		Poco::UInt64 id = sendOk(*alice, "alice", 1, std::string("note\0to self", 12));
		auto d = nextDelivery(*alice);
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("note\0to self", 12), d.payload());
	}

	void testOfflineDeliveryToNeverSeenUser()
	{
		auto alice = _pServer->login("alice");
		std::vector<Poco::UInt64> ids;
		for (Poco::UInt64 i = 1; i <= 5; ++i) ids.push_back(sendOk(*alice, "carol", i, "m" + std::to_string(i)));
		auto carol = _pServer->login("carol");
		for (std::size_t i = 0; i < ids.size(); ++i)
		{
			auto d = nextDelivery(*carol);
			CPPUNIT_ASSERT_EQUAL(ids[i], static_cast<Poco::UInt64>(d.msg_id()));
			CPPUNIT_ASSERT_EQUAL("m" + std::to_string(i + 1), d.payload());
			carol->ackDeliveries({d.msg_id()});
		}
		CPPUNIT_ASSERT(noDelivery(*carol, 300));
	}

	void testOrderOf500Pipelined()
	{
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		const int N = 500;
		std::string wire;
		for (int i = 1; i <= N; ++i)
		{
			imgate::v1::MessageSend m;
			m.set_to_uid("bob");
			m.set_client_msg_id(static_cast<Poco::UInt64>(i));
			m.set_payload(std::to_string(i));
			protocol::FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, static_cast<Poco::UInt32>(1000 + i), m);
		}
		alice->sendRaw(wire); // one write: the server sees them pipelined
		Poco::UInt64 lastAckId = 0;
		for (int i = 1; i <= N; ++i)
		{
			Reply ack;
			CPPUNIT_ASSERT(alice->receiveCommand(ack, Command::MSG_SEND_ACK, Poco::Timespan(10, 0)));
			CPPUNIT_ASSERT(ack.result() == Status::OK);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(1000 + i), ack.seq); // acks in request order
			auto a = ack.parse<imgate::v1::MessageSendAck>();
			CPPUNIT_ASSERT(a.msg_id() > lastAckId);
			lastAckId = a.msg_id();
		}
		Poco::UInt64 lastDeliverId = 0;
		for (int i = 1; i <= N; ++i)
		{
			auto d = nextDelivery(*bob);
			CPPUNIT_ASSERT_EQUAL(std::to_string(i), d.payload());
			CPPUNIT_ASSERT(d.msg_id() > lastDeliverId);
			lastDeliverId = d.msg_id();
			bob->ackDeliveries({d.msg_id()});
		}
		CPPUNIT_ASSERT(noDelivery(*bob, 300));
	}

	void testOrderFromTwoSenders()
	{
		// Each sender's messages arrive in its own order; msg_id increases for the recipient.
		auto alice = _pServer->login("alice");
		auto carol = _pServer->login("carol");
		auto bob = _pServer->login("bob");
		for (Poco::UInt64 i = 1; i <= 50; ++i)
		{
			sendOk(*alice, "bob", i, "a" + std::to_string(i));
			sendOk(*carol, "bob", i, "c" + std::to_string(i));
		}
		int nextA = 1, nextC = 1;
		Poco::UInt64 last = 0;
		for (int i = 0; i < 100; ++i)
		{
			auto d = nextDelivery(*bob);
			CPPUNIT_ASSERT(d.msg_id() > last);
			last = d.msg_id();
			if (d.from_uid() == "alice") CPPUNIT_ASSERT_EQUAL("a" + std::to_string(nextA++), d.payload());
			else CPPUNIT_ASSERT_EQUAL("c" + std::to_string(nextC++), d.payload());
			bob->ackDeliveries({d.msg_id()});
		}
		CPPUNIT_ASSERT_EQUAL(51, nextA);
		CPPUNIT_ASSERT_EQUAL(51, nextC);
	}

	void testIdempotentResendAfterReconnect()
	{
		auto bob = _pServer->login("bob");
		Poco::UInt64 first;
		{
			auto alice = _pServer->login("alice");
			first = sendOk(*alice, "bob", 777, "only once");
		}
		auto alice = _pServer->login("alice"); // e.g. the ack was lost with the connection
		Poco::UInt64 again = sendOk(*alice, "bob", 777, "only once");
		CPPUNIT_ASSERT_EQUAL(first, again);
		auto d = nextDelivery(*bob);
		CPPUNIT_ASSERT_EQUAL(first, static_cast<Poco::UInt64>(d.msg_id()));
		bob->ackDeliveries({d.msg_id()});
		CPPUNIT_ASSERT(noDelivery(*bob, 1500));
		// Same client_msg_id from a different sender is a different message.
		auto carol = _pServer->login("carol");
		CPPUNIT_ASSERT(sendOk(*carol, "bob", 777, "carol's") != first);
	}

	void testRetransmitUntilAcknowledged()
	{
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		Poco::UInt64 id = sendOk(*alice, "bob", 5, "retry me");
		auto d1 = nextDelivery(*bob);
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d1.msg_id()));
		// Not acknowledged: sent again after delivery.retransmitTimeout (1 s).
		auto d2 = nextDelivery(*bob, 4000);
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d2.msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("retry me"), d2.payload());
		bob->ackDeliveries({id});
		CPPUNIT_ASSERT(noDelivery(*bob, 2500));
	}

	void testRedeliveryOnNextLogin()
	{
		auto alice = _pServer->login("alice");
		Poco::UInt64 id;
		{
			auto bob = _pServer->login("bob");
			id = sendOk(*alice, "bob", 9, "unacked");
			CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(nextDelivery(*bob).msg_id()));
			bob->close(); // gone without acknowledging
		}
		auto bob = _pServer->login("bob");
		auto d = nextDelivery(*bob);
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.msg_id()));
	}

	void testWindowBoundsInFlight()
	{
		ServerProcess server(ServerProcess::Settings{{"delivery.window", "4"}});
		auto alice = server.login("alice");
		auto bob = server.login("bob");
		for (Poco::UInt64 i = 1; i <= 10; ++i) sendOk(*alice, "bob", i, std::to_string(i));
		int expected = 1;
		for (int round = 0; round < 3; ++round)
		{
			std::vector<Poco::UInt64> ids;
			std::size_t batch = round < 2 ? 4 : 2;
			for (std::size_t k = 0; k < batch; ++k)
			{
				auto d = nextDelivery(*bob);
				CPPUNIT_ASSERT_EQUAL(std::to_string(expected++), d.payload());
				ids.push_back(d.msg_id());
			}
			CPPUNIT_ASSERT_MESSAGE("more than delivery.window in flight", noDelivery(*bob, 400));
			bob->ackDeliveries(ids);
		}
		CPPUNIT_ASSERT_EQUAL(11, expected);
	}

	void testInStepNeedsNoReads()
	{
		// A message stored while its recipient is online and keeping up is
		// handed to its session by the durable store, not read back: the
		// inbox reads stop at the login's. The memory store does not hand
		// messages over (its reads are inline): every one is read.
		for (const char* type: {"sqlite", "memory"})
		{
			const bool handsOver = std::string(type) == "sqlite";
			ServerProcess server(ServerProcess::Settings{{"store.type", type}, {"admin.allowNoToken", "true"}});
			auto alice = server.login("alice");
			auto bob = server.login("bob");
			exchange(*alice, *bob, "bob", 1);
			CPPUNIT_ASSERT(test::waitUntil([&]() { return metric(server, "imgate_messages_acknowledged_total") == 1; }));
			const double reads = metric(server, "imgate_inbox_reads_total");
			CPPUNIT_ASSERT(reads >= 2); // the logins'
			for (Poco::UInt64 i = 2; i <= 41; ++i) exchange(*alice, *bob, "bob", i);
			CPPUNIT_ASSERT(test::waitUntil([&]() { return metric(server, "imgate_messages_acknowledged_total") == 41; }));
			if (handsOver) CPPUNIT_ASSERT_EQUAL_MESSAGE(type, reads, metric(server, "imgate_inbox_reads_total"));
			else CPPUNIT_ASSERT_MESSAGE(type, metric(server, "imgate_inbox_reads_total") >= reads + 40);
			CPPUNIT_ASSERT_EQUAL(41.0, metric(server, "imgate_messages_delivered_total"));
		}
	}

	void testWindowOfOneFallsBackAndReturnsInStep()
	{
		// 200 pipelined into a window of 1: all but the first find it full,
		// so the session falls out of step and reads them from the store in
		// order; the read that finds the inbox empty puts it back in step.
		ServerProcess server(ServerProcess::Settings{{"delivery.window", "1"}, {"admin.allowNoToken", "true"}});
		auto alice = server.login("alice");
		auto bob = server.login("bob");
		exchange(*alice, *bob, "bob", 1);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return metric(server, "imgate_messages_acknowledged_total") == 1; }));
		const double before = metric(server, "imgate_inbox_reads_total");
		const int N = 200;
		std::string wire;
		for (int i = 2; i <= N + 1; ++i)
		{
			imgate::v1::MessageSend m;
			m.set_to_uid("bob");
			m.set_client_msg_id(static_cast<Poco::UInt64>(i));
			m.set_payload("m" + std::to_string(i));
			protocol::FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, static_cast<Poco::UInt32>(10000 + i), m);
		}
		alice->sendRaw(wire);
		for (int i = 2; i <= N + 1; ++i)
		{
			Reply ack;
			CPPUNIT_ASSERT(alice->receiveCommand(ack, Command::MSG_SEND_ACK, Poco::Timespan(10, 0)));
			CPPUNIT_ASSERT(ack.result() == Status::OK);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(10000 + i), ack.seq);
		}
		Poco::UInt64 last = 0;
		for (int i = 2; i <= N + 1; ++i)
		{
			auto d = nextDelivery(*bob);
			CPPUNIT_ASSERT_EQUAL("m" + std::to_string(i), d.payload());
			CPPUNIT_ASSERT(d.msg_id() > last);
			last = d.msg_id();
			if (i < 12) CPPUNIT_ASSERT_MESSAGE("more than delivery.window in flight", noDelivery(*bob, 50));
			bob->ackDeliveries({d.msg_id()});
		}
		CPPUNIT_ASSERT(noDelivery(*bob, 300));
		CPPUNIT_ASSERT(test::waitUntil([&]() { return metric(server, "imgate_messages_acknowledged_total") == N + 1; }));
		const double fellBack = metric(server, "imgate_inbox_reads_total");
		CPPUNIT_ASSERT(fellBack > before);
		for (Poco::UInt64 i = N + 2; i <= N + 11; ++i) exchange(*alice, *bob, "bob", i);
		CPPUNIT_ASSERT(test::waitUntil([&]() { return metric(server, "imgate_messages_acknowledged_total") == N + 11; }));
		CPPUNIT_ASSERT_EQUAL(fellBack, metric(server, "imgate_inbox_reads_total"));
	}

	void testSendValidation()
	{
		ServerProcess server(ServerProcess::Settings{{"message.maxPayloadSize", "1000"}});
		auto alice = server.login("alice");
		CPPUNIT_ASSERT(alice->sendMessage("bob", 1, std::string(1001, 'x')).result() == Status::PAYLOAD_TOO_LARGE);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 2, std::string(1000, 'x')).result() == Status::OK);
		CPPUNIT_ASSERT(alice->sendMessage("", 3, "x").result() == Status::RECIPIENT_INVALID);
		CPPUNIT_ASSERT(alice->sendMessage("bad uid", 4, "x").result() == Status::RECIPIENT_INVALID);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 0, "x").result() == Status::BAD_REQUEST); // client_msg_id is required
		std::string frame;
		protocol::FrameEncoder::appendRaw(frame, 0x0010, 0, 99, "\x0a\xff", 2);
		alice->sendRaw(frame);
		Reply r;
		CPPUNIT_ASSERT(alice->receiveReply(r, Command::MSG_SEND_ACK, 99, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::BAD_REQUEST);
		CPPUNIT_ASSERT(alice->sendMessage("bob", 5, "still fine").result() == Status::OK);
	}

	void testRecipientQueueFull()
	{
		ServerProcess server(ServerProcess::Settings{{"store.maxPendingPerRecipient", "3"}});
		auto alice = server.login("alice");
		for (Poco::UInt64 i = 1; i <= 3; ++i) sendOk(*alice, "dave", i, "x");
		Reply full = alice->sendMessage("dave", 4, "x");
		CPPUNIT_ASSERT(full.result() == Status::SERVER_BUSY);
		auto dave = server.login("dave");
		std::vector<Poco::UInt64> ids;
		for (int i = 0; i < 3; ++i) ids.push_back(nextDelivery(*dave).msg_id());
		dave->ackDeliveries(ids);
		// Room again: the same client_msg_id was never accepted, so it is new now.
		CPPUNIT_ASSERT(imgate::test::waitUntil([&]() { return alice->sendMessage("dave", 4, "x").result() == Status::OK; }));
	}

	void testAckOfUndeliveredIdIsIgnored()
	{
		// With a window of 1 the second message waits in the store. A client
		// that acknowledges it before it was delivered must not make it vanish.
		ServerProcess server(ServerProcess::Settings{{"delivery.window", "1"}});
		auto alice = server.login("alice");
		auto bob = server.login("bob");
		Poco::UInt64 first = sendOk(*alice, "bob", 1, "one");
		Poco::UInt64 second = sendOk(*alice, "bob", 2, "two");
		CPPUNIT_ASSERT_EQUAL(first, static_cast<Poco::UInt64>(nextDelivery(*bob).msg_id()));
		bob->ackDeliveries({second});
		CPPUNIT_ASSERT(noDelivery(*bob, 300));
		bob->ackDeliveries({first});
		auto d = nextDelivery(*bob);
		CPPUNIT_ASSERT_EQUAL(second, static_cast<Poco::UInt64>(d.msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("two"), d.payload());
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(MessagingTest);
