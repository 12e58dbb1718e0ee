//
// DevicesTest.cpp
//
// Protocol 1.1, sections 2 and 3, on a real imgated with the sqlite store:
// session.devicePolicy = perDevice (several devices per uid, each with its
// own position), session.maxDevices, and carbons.
//

#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;

class DevicesTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(DevicesTest);
	CPPUNIT_TEST(testEveryDeviceGetsEveryMessage);
	CPPUNIT_TEST(testEachDeviceAcknowledgesForItself);
	CPPUNIT_TEST(testSameDeviceTakesOver);
	CPPUNIT_TEST(testDeviceLimit);
	CPPUNIT_TEST(testFirstDeviceGetsWhatWaited);
	CPPUNIT_TEST(testNewDeviceStartsAfterTheOthers);
	CPPUNIT_TEST(testCarbons);
	CPPUNIT_TEST(testIdempotencyIsPerDevice);
	CPPUNIT_TEST(testSinglePolicyIgnoresCarbons);
	CPPUNIT_TEST(testOtherStoresAndSettings);
	CPPUNIT_TEST(testTransientToOneself);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pServer.reset(new ServerProcess(ServerProcess::Settings{
			{"session.devicePolicy", "perDevice"}, {"session.maxDevices", "3"}, {"delivery.retransmitTimeout", "2"}}));
	}

	void tearDown() override
	{
		_pServer.reset();
	}

	static Reply login(ImgateClient& c, const std::string& uid, const std::string& device, bool carbons)
	{
		imgate::v1::LoginRequest request;
		request.set_uid(uid);
		request.set_device(device);
		request.set_carbons(carbons);
		const Poco::UInt32 seq = c.nextSeq();
		c.send(Command::LOGIN, seq, request);
		Reply reply;
		CPPUNIT_ASSERT(c.receiveReply(reply, Command::LOGIN_RESP, seq, Poco::Timespan(5, 0)));
		return reply;
	}

	std::unique_ptr<ImgateClient> device(const std::string& uid, const std::string& name, bool carbons = false)
	{
		auto c = _pServer->connect();
		Reply r = login(*c, uid, name, carbons);
		CPPUNIT_ASSERT_MESSAGE(protocol::statusName(r.status), r.result() == Status::OK);
		return c;
	}

	std::unique_ptr<ImgateClient> deviceWhenRoom(const std::string& uid, const std::string& name, bool carbons)
		/// device(), once a device that just left has been released.
	{
		auto c = _pServer->connect();
		for (int i = 0; i < 100; ++i)
		{
			Reply r = login(*c, uid, name, carbons);
			if (r.result() == Status::OK) return c;
			CPPUNIT_ASSERT(r.result() == Status::DEVICE_LIMIT);
			Poco::Thread::sleep(20);
		}
		CPPUNIT_FAIL("the device limit did not let " + name + " in");
		return c;
	}

	static imgate::v1::MessageDeliver deliver(ImgateClient& c, long timeoutMs = 5000)
	{
		Reply r;
		CPPUNIT_ASSERT_MESSAGE("no MSG_DELIVER", c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(timeoutMs * 1000)));
		return r.parse<imgate::v1::MessageDeliver>();
	}

	static void acknowledge(ImgateClient& c, Poco::UInt64 id)
		/// MSG_DELIVER_ACK, then a HEARTBEAT round trip: the server has
		/// read the acknowledgement (frames are handled in order).
	{
		c.ackDeliveries({id});
		const Poco::UInt32 seq = c.nextSeq();
		c.send(Command::HEARTBEAT, seq);
		Reply r;
		CPPUNIT_ASSERT(c.receiveReply(r, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)));
	}

	static bool quiet(ImgateClient& c, long ms)
	{
		Reply r;
		return !c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(ms * 1000));
	}

	void testEveryDeviceGetsEveryMessage()
	{
		auto phone = device("bob", "phone");
		auto laptop = device("bob", "laptop");
		auto alice = _pServer->login("alice");
		Reply ack = alice->sendMessage("bob", 1, "hello");
		CPPUNIT_ASSERT(ack.result() == Status::OK);
		const Poco::UInt64 id = ack.parse<imgate::v1::MessageSendAck>().msg_id();
		for (ImgateClient* c: {phone.get(), laptop.get()})
		{
			imgate::v1::MessageDeliver d = deliver(*c);
			CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.msg_id()));
			CPPUNIT_ASSERT_EQUAL(std::string("alice"), d.from_uid());
			CPPUNIT_ASSERT_EQUAL(std::string("bob"), d.to_uid()); // 1.1: every 1:1 delivery names its recipient
			CPPUNIT_ASSERT_EQUAL(std::string("hello"), d.payload());
		}
	}

	void testEachDeviceAcknowledgesForItself()
	{
		auto phone = device("bob", "phone");
		auto laptop = device("bob", "laptop");
		auto alice = _pServer->login("alice");
		const Poco::UInt64 id = alice->sendMessage("bob", 1, "m").parse<imgate::v1::MessageSendAck>().msg_id();
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*phone).msg_id()));
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*laptop).msg_id()));
		acknowledge(*phone, id);
		// The laptop did not acknowledge: it gets it again (retransmitTimeout 2 s),
		// the phone does not.
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*laptop, 8000).msg_id()));
		CPPUNIT_ASSERT(quiet(*phone, 1000));
		// After reconnecting, each device gets what it has not acknowledged.
		phone.reset();
		laptop.reset();
		phone = device("bob", "phone");
		laptop = device("bob", "laptop");
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*laptop).msg_id()));
		CPPUNIT_ASSERT(quiet(*phone, 500));
	}

	void testSameDeviceTakesOver()
	{
		auto first = device("bob", "phone");
		auto other = device("bob", "laptop");
		auto second = device("bob", "phone");
		Reply kick;
		CPPUNIT_ASSERT(first->receiveCommand(kick, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(1), kick.parse<imgate::v1::Kick>().reason()); // DUPLICATE_LOGIN
		CPPUNIT_ASSERT(first->waitClosed(Poco::Timespan(5, 0)));
		// The other device stays.
		Reply none;
		CPPUNIT_ASSERT(!other->receive(none, Poco::Timespan(300000)));
		CPPUNIT_ASSERT(!other->closed());
	}

	void testDeviceLimit()
	{
		auto a = device("bob", "a");
		auto b = device("bob", "b");
		auto c = device("bob", "c");
		auto d = _pServer->connect();
		Reply refused = login(*d, "bob", "d", false);
		CPPUNIT_ASSERT_MESSAGE(protocol::statusName(refused.status), refused.result() == Status::DEVICE_LIMIT);
		// GET /metrics counts bob once, with 3 sessions.
		const std::string metrics = imgate::test::request(_pServer->adminPort(), "GET", "/metrics").body;
		CPPUNIT_ASSERT_MESSAGE(metrics, metrics.find("\nimgate_uids_online_by_devices{devices=\"3\"} 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_uids_online_by_devices{devices=\"1\"} 0\n") != std::string::npos);
		// The connection stays open and may log in again once a device left.
		c->close();
		bool ok = false;
		for (int i = 0; i < 200 && !ok; ++i)
		{
			ok = login(*d, "bob", "d", false).result() == Status::OK;
			if (!ok) Poco::Thread::sleep(50);
		}
		CPPUNIT_ASSERT(ok);
		CPPUNIT_ASSERT(!d->closed());
	}

	void testFirstDeviceGetsWhatWaited()
	{
		auto alice = _pServer->login("alice");
		for (Poco::UInt64 i = 1; i <= 3; ++i) CPPUNIT_ASSERT(alice->sendMessage("carol", i, "m" + std::to_string(i)).result() == Status::OK);
		auto phone = device("carol", "phone");
		for (int i = 1; i <= 3; ++i) CPPUNIT_ASSERT_EQUAL("m" + std::to_string(i), deliver(*phone).payload());
	}

	void testNewDeviceStartsAfterTheOthers()
	{
		// A device that logs in for the first time starts after the newest
		// message any device of the uid acknowledged.
		auto alice = _pServer->login("alice");
		auto phone = device("dave", "phone");
		const Poco::UInt64 first = alice->sendMessage("dave", 1, "old").parse<imgate::v1::MessageSendAck>().msg_id();
		CPPUNIT_ASSERT_EQUAL(first, static_cast<Poco::UInt64>(deliver(*phone).msg_id()));
		acknowledge(*phone, first);
		phone.reset();
		CPPUNIT_ASSERT(alice->sendMessage("dave", 2, "new").result() == Status::OK);
		auto again = deviceWhenRoom("dave", "phone", false);
		CPPUNIT_ASSERT_EQUAL(std::string("new"), deliver(*again).payload());
		auto tablet = device("dave", "tablet");
		CPPUNIT_ASSERT_EQUAL(std::string("new"), deliver(*tablet).payload());
	}

	void testCarbons()
	{
		auto phone = device("alice", "phone", true);
		auto watch = device("alice", "watch", false);
		auto laptop = device("alice", "laptop", true);
		auto bob = device("bob", "phone");
		const Poco::UInt64 id = laptop->sendMessage("bob", 7, "from the laptop").parse<imgate::v1::MessageSendAck>().msg_id();
		imgate::v1::MessageDeliver carbon = deliver(*phone);
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(carbon.msg_id())); // the original msg_id
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), carbon.from_uid());
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), carbon.to_uid());
		CPPUNIT_ASSERT_EQUAL(std::string("from the laptop"), carbon.payload());
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*bob).msg_id()));
		CPPUNIT_ASSERT(quiet(*laptop, 500)); // never its own
		CPPUNIT_ASSERT(quiet(*watch, 100));  // no carbons asked
		// A carbon is stored and acknowledged like any delivery: a device
		// with carbons that was offline gets it on its next login.
		watch.reset();
		auto tablet = deviceWhenRoom("alice", "tablet", true); // a first login: starts at the others' highest position
		acknowledge(*phone, id);
		phone.reset();
		auto again = deviceWhenRoom("alice", "phone", true);
		CPPUNIT_ASSERT(quiet(*again, 500)); // acknowledged
		const Poco::UInt64 next = bob->sendMessage("alice", 8, "reply").parse<imgate::v1::MessageSendAck>().msg_id();
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*tablet).msg_id())); // offline when sent, not yet acknowledged by it
		CPPUNIT_ASSERT_EQUAL(next, static_cast<Poco::UInt64>(deliver(*tablet).msg_id()));
	}

	void testIdempotencyIsPerDevice()
	{
		// Two devices choose client_msg_ids independently: the same id
		// from each is two messages; a resend from one is a duplicate.
		auto phone = device("alice", "phone");
		auto laptop = device("alice", "laptop");
		Reply a = phone->sendMessage("bob", 42, "from the phone");
		Reply b = laptop->sendMessage("bob", 42, "from the laptop");
		Reply again = phone->sendMessage("bob", 42, "from the phone");
		const Poco::UInt64 idA = a.parse<imgate::v1::MessageSendAck>().msg_id();
		CPPUNIT_ASSERT(idA != b.parse<imgate::v1::MessageSendAck>().msg_id());
		CPPUNIT_ASSERT_EQUAL(idA, static_cast<Poco::UInt64>(again.parse<imgate::v1::MessageSendAck>().msg_id()));
	}

	void testSinglePolicyIgnoresCarbons()
	{
		// Under single a uid has one session: carbons has no effect, and a
		// second device takes over (protocol 1.0).
		_pServer.reset(new ServerProcess(ServerProcess::Settings{}));
		auto phone = device("alice", "phone", true);
		auto laptop = device("alice", "laptop", true);
		Reply kick;
		CPPUNIT_ASSERT(phone->receiveCommand(kick, Command::KICK, Poco::Timespan(5, 0)));
		auto bob = device("bob", "x");
		CPPUNIT_ASSERT(laptop->sendMessage("bob", 1, "hi").result() == Status::OK);
		CPPUNIT_ASSERT_EQUAL(std::string("hi"), deliver(*bob).payload());
		CPPUNIT_ASSERT(quiet(*laptop, 500));
	}

	void testOtherStoresAndSettings()
	{
		// Devices and carbons do not depend on history, nor on the store.
		const std::vector<ServerProcess::Settings> variants = {
			{{"session.devicePolicy", "perDevice"}, {"store.historyRetention", "0"}},
			{{"session.devicePolicy", "perDevice"}, {"store.type", "memory"}},
			{{"session.devicePolicy", "perDevice"}, {"store.type", "memory"}, {"store.historyRetention", "0"}}};
		for (const auto& settings: variants)
		{
			_pServer.reset(new ServerProcess(settings));
			auto phone = device("alice", "phone", true);
			auto laptop = device("alice", "laptop", true);
			auto bobPhone = device("bob", "phone");
			auto bobLaptop = device("bob", "laptop");
			const Poco::UInt64 id = laptop->sendMessage("bob", 1, "hi").parse<imgate::v1::MessageSendAck>().msg_id();
			CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*phone).msg_id()));
			CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*bobPhone).msg_id()));
			CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*bobLaptop).msg_id()));
			acknowledge(*bobPhone, id);
			CPPUNIT_ASSERT(quiet(*laptop, 300));
			// The laptop that did not acknowledge gets it again after a reconnect, the phone not.
			bobPhone.reset();
			bobLaptop.reset();
			bobLaptop = deviceWhenRoom("bob", "laptop", false);
			CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*bobLaptop).msg_id()));
			bobPhone = deviceWhenRoom("bob", "phone", false);
			CPPUNIT_ASSERT(quiet(*bobPhone, 300));
		}
	}

	void testTransientToOneself()
	{
		// A transient message to one's own uid reaches the uid's other
		// sessions (they are its recipient's), carbons or not.
		auto phone = device("alice", "phone", false);
		auto laptop = device("alice", "laptop", false);
		imgate::v1::MessageSend m;
		m.set_to_uid("alice");
		m.set_client_msg_id(1);
		m.set_payload("ring");
		m.set_transient(true);
		const Poco::UInt32 seq = laptop->nextSeq();
		laptop->send(Command::MSG_SEND, seq, m);
		Reply ack;
		CPPUNIT_ASSERT(laptop->receiveReply(ack, Command::MSG_SEND_ACK, seq, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(ack.result() == Status::OK);
		imgate::v1::MessageDeliver d = deliver(*phone);
		CPPUNIT_ASSERT(d.transient());
		CPPUNIT_ASSERT_EQUAL(std::string("ring"), d.payload());
		CPPUNIT_ASSERT(quiet(*laptop, 300));
	}

private:
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DevicesTest);
