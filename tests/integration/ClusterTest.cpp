//
// ClusterTest.cpp
//
// The cluster (cluster.enabled) end to end: real imgated nodes sharing one
// PostgreSQL database (PostgresProcess), with a Redis server of the test's
// own (RedisProcess) for presence and notices. 1:1 and group messages
// across nodes, a LOGIN on another node, a node killed mid-stream, Redis
// and PostgreSQL going away and coming back, a duplicate cluster.nodeId,
// a clean stop, the admin API's view of the cluster, Redis's password, and
// the shipped HAProxy configuration in front of three nodes.
//

#include "tests/support/AdminHttp.h"
#include "tests/support/HaproxyProcess.h"
#include "tests/support/PostgresProcess.h"
#include "tests/support/RedisProcess.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/JSON/Array.h"
#include "Poco/Redis/Array.h"
#include "Poco/Redis/Client.h"
#include "Poco/Redis/Command.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <sys/stat.h>
#include <algorithm>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ChildProcess;
using imgate::test::HaproxyProcess;
using imgate::test::Http;
using imgate::test::PostgresProcess;
using imgate::test::RedisProcess;
using imgate::test::ServerProcess;
using imgate::test::json;
using imgate::test::metricValue;
using imgate::test::request;
using imgate::test::waitUntil;

namespace {

const unsigned PRESENCE_TTL = 3; // cluster.presenceTtl: its minimum, so that waits on it stay short


PostgresProcess& postgres()
	/// One PostgreSQL server for the whole fixture (initdb takes seconds);
	/// each test gets a database of its own. Started again if a test
	/// left it stopped. Destroyed (and its folder removed) at exit.
{
	static std::unique_ptr<PostgresProcess> pPostgres;
	if (!pPostgres) pPostgres.reset(new PostgresProcess);
	if (!pPostgres->running()) pPostgres->start();
	return *pPostgres;
}


struct Delivery
	/// One MSG_DELIVER as a test checks it.
{
	Poco::UInt64 msgId = 0;
	std::string from;
	std::string group;
	Poco::UInt64 clientId = 0; /// From the payload, "FROM CLIENTID".
};


struct Sent
	/// The answers to a pipeline of MSG_SENDs, in the order they were sent.
{
	std::vector<Poco::UInt64> okIds;                  /// msg_ids acknowledged OK
	std::map<Poco::UInt64, Poco::UInt64> clientIdOf;   /// msg_id -> client_msg_id
	std::vector<std::string> refused;                 /// status names of the others

	void add(const Sent& more)
	{
		okIds.insert(okIds.end(), more.okIds.begin(), more.okIds.end());
		clientIdOf.insert(more.clientIdOf.begin(), more.clientIdOf.end());
		refused.insert(refused.end(), more.refused.begin(), more.refused.end());
	}
};


using Seqs = std::map<Poco::UInt32, Poco::UInt64>; // seq -> client_msg_id of a pipeline not yet answered


std::string payloadOf(const std::string& from, Poco::UInt64 clientId)
{
	return from + " " + std::to_string(clientId);
}


std::string joined(const std::vector<Poco::UInt64>& ids)
{
	std::string text;
	for (Poco::UInt64 id: ids) text += (text.empty() ? "" : " ") + std::to_string(id);
	return text;
}

} // namespace


class ClusterTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ClusterTest);
	CPPUNIT_TEST(testDirectMessagesAcrossNodes);
	CPPUNIT_TEST(testGroupAcrossNodes);
	CPPUNIT_TEST(testLoginOnAnotherNodeKicks);
	CPPUNIT_TEST(testNodeKilledMidStream);
	CPPUNIT_TEST(testRedisKilledAndRestarted);
	CPPUNIT_TEST(testPostgresStoppedAndStarted);
	CPPUNIT_TEST(testDuplicateNodeIdRefused);
	CPPUNIT_TEST(testCleanStopLeavesRedis);
	CPPUNIT_TEST(testAdminAcrossNodes);
	CPPUNIT_TEST(testRedisPassword);
	CPPUNIT_TEST(testOneAddressThroughHaproxy);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override;
	void tearDown() override;

	void testDirectMessagesAcrossNodes();
	void testGroupAcrossNodes();
	void testLoginOnAnotherNodeKicks();
	void testNodeKilledMidStream();
	void testRedisKilledAndRestarted();
	void testPostgresStoppedAndStarted();
	void testDuplicateNodeIdRefused();
	void testCleanStopLeavesRedis();
	void testAdminAcrossNodes();
	void testRedisPassword();
	void testOneAddressThroughHaproxy();

private:
	ServerProcess::Settings nodeSettings(const std::string& nodeId) const;
		/// The settings of node nodeId of this test's cluster.

	ServerProcess& startNode(const std::string& nodeId, const ServerProcess::Settings& extra = ServerProcess::Settings());
		/// Starts node nodeId (waits until it listens); the test owns it
		/// until tearDown().

	ServerProcess& node(const std::string& nodeId);

	std::string writeNodeConfig(const std::string& nodeId, const ServerProcess::Settings& extra);
		/// A configuration file for an imgated run by ServerProcess::run()
		/// (in this test's folder), as a ServerProcess would write it.

	Poco::Int64 redisInteger(const Poco::Redis::Array& command) const;
		/// One command on a new connection to this test's Redis (after
		/// AUTH if it has a password). Throws Poco::Redis::RedisException.

	bool nodeKeyExists(const std::string& nodeId) const;
	bool present(const std::string& uid, const std::string& nodeId) const;
		/// Whether imgate:presence:UID has the field nodeId.

	void waitPresent(const std::string& uid, const std::string& nodeId);
		/// Asserts that Redis has uid's presence on nodeId within 5 s: a
		/// message stored after it is routed there.

	std::string nodeOf(const std::string& uid, const std::vector<std::string>& nodeIds) const;
		/// The one of nodeIds where Redis has uid's presence, within 5 s;
		/// "" if none has it, or more than one.

	std::string haproxyConfig() const;
		/// etc/haproxy-cluster.cfg with its three servers moved to this
		/// test's nodes n1, n2, n3 (service and admin ports), its frontend
		/// to HaproxyProcess's, maxconn to what this machine's open-file
		/// limit allows, its log to stderr, and a stats socket added.

	static Seqs sendAll(ImgateClient& c, const std::string& toUid, const std::string& toGroup, const std::string& from,
		Poco::UInt64 firstClientId, Poco::UInt64 count);
		/// Pipelines count MSG_SENDs (client_msg_ids firstClientId...) in one
		/// write, without waiting for an answer.

	static Sent collectAcks(ImgateClient& c, const Seqs& seqs, long timeoutS = 20);
		/// The MSG_SEND_ACK of every seq in seqs; asserts that each came.

	static Sent sendAndWait(ImgateClient& c, const std::string& toUid, const std::string& toGroup, const std::string& from,
		Poco::UInt64 firstClientId, Poco::UInt64 count);

	static bool receiveOne(ImgateClient& c, Delivery& delivery, long timeoutMs, bool ack = true);
		/// The next MSG_DELIVER within timeoutMs, acknowledged at once if ack.

	static void receive(ImgateClient& c, std::vector<Delivery>& got, std::size_t until, long timeoutMs);
		/// Receives (and acknowledges) until got holds until deliveries or
		/// timeoutMs passes.

	static bool quiet(ImgateClient& c, long ms);
		/// No MSG_DELIVER for ms.

	static std::vector<Poco::UInt64> idsOf(const std::vector<Delivery>& got);

	static void assertExactly(const std::vector<Delivery>& got, std::vector<Poco::UInt64> expected, const std::string& who);
		/// got is expected (sorted), each once, in increasing msg_id
		/// order, and each sender's messages in its client_msg_id order.

	std::unique_ptr<RedisProcess> _pRedis;
	std::string _database;
	std::string _connection;     /// store.postgresql of this test's nodes
	std::string _dir;
	std::map<std::string, std::unique_ptr<ServerProcess>> _nodes;
};


void ClusterTest::setUp()
{
	static int databases = 0;
	_database = "cluster" + std::to_string(++databases);
	postgres().execute("CREATE DATABASE " + _database + " OWNER imgate");
	_connection = postgres().connectionString(_database);
	_pRedis.reset(new RedisProcess);
	_dir = ServerProcess::makeTempDir();
}


void ClusterTest::tearDown()
{
	// Nodes first (SIGKILL for those still running), then the engines.
	_nodes.clear();
	_pRedis.reset();
	try
	{
		Poco::File(_dir).remove(true);
	}
	catch (Poco::Exception&)
	{
	}
}


ServerProcess::Settings ClusterTest::nodeSettings(const std::string& nodeId) const
{
	return ServerProcess::Settings{
		{"store.type", "postgresql"},
		{"store.postgresql", _connection},
		{"cluster.enabled", "true"},
		{"cluster.nodeId", nodeId},
		{"cluster.redis", "127.0.0.1:" + std::to_string(_pRedis->port())},
		{"cluster.presenceTtl", std::to_string(PRESENCE_TTL)},
		{"auth.allowAnonymous", "true"},
		{"admin.allowNoToken", "true"},
		{"server.drainTime", "0"}};
}


ServerProcess& ClusterTest::startNode(const std::string& nodeId, const ServerProcess::Settings& extra)
{
	ServerProcess::Settings settings = nodeSettings(nodeId);
	for (const auto& kv: extra) settings[kv.first] = kv.second;
	std::unique_ptr<ServerProcess>& pNode = _nodes[nodeId];
	pNode.reset();
	pNode.reset(new ServerProcess(settings));
	CPPUNIT_ASSERT(pNode->adminPort() != 0);
	return *pNode;
}


ServerProcess& ClusterTest::node(const std::string& nodeId)
{
	auto it = _nodes.find(nodeId);
	if (it == _nodes.end() || !it->second) throw Poco::NotFoundException("node " + nodeId + " was not started");
	return *it->second;
}


std::string ClusterTest::writeNodeConfig(const std::string& nodeId, const ServerProcess::Settings& extra)
{
	ServerProcess::Settings settings = nodeSettings(nodeId);
	settings["server.address"] = "127.0.0.1";
	settings["server.port"] = "0";
	settings["admin.port"] = "0";
	settings["server.ioThreads"] = "2";
	settings["store.path"] = _dir + nodeId + ".db";
	for (const auto& kv: extra) settings[kv.first] = kv.second;
	std::string text;
	for (const auto& kv: settings) text += kv.first + " = " + kv.second + "\n";
	const std::string path = _dir + nodeId + "-" + std::to_string(Poco::Timestamp().epochMicroseconds()) + ".properties";
	ServerProcess::writeFile(path, text);
	return path;
}


Poco::Int64 ClusterTest::redisInteger(const Poco::Redis::Array& command) const
{
	Poco::Redis::Client redis;
	redis.connect("127.0.0.1", _pRedis->port(), Poco::Timespan(2, 0));
	if (!_pRedis->password().empty())
	{
		Poco::Redis::Array auth;
		auth << "AUTH" << _pRedis->password();
		redis.execute<std::string>(auth);
	}
	const Poco::Int64 value = redis.execute<Poco::Int64>(command);
	redis.disconnect();
	return value;
}


bool ClusterTest::nodeKeyExists(const std::string& nodeId) const
{
	return redisInteger(Poco::Redis::Command::exists("imgate:node:" + nodeId)) > 0;
}


bool ClusterTest::present(const std::string& uid, const std::string& nodeId) const
{
	return redisInteger(Poco::Redis::Command::hexists("imgate:presence:" + uid, nodeId)) > 0;
}


void ClusterTest::waitPresent(const std::string& uid, const std::string& nodeId)
{
	CPPUNIT_ASSERT_MESSAGE(uid + " has no presence on " + nodeId + " in Redis",
		waitUntil([&]() { return present(uid, nodeId); }, 5000));
}


std::string ClusterTest::nodeOf(const std::string& uid, const std::vector<std::string>& nodeIds) const
{
	std::string found;
	waitUntil([&]()
	{
		found.clear();
		for (const std::string& nodeId: nodeIds)
		{
			if (!present(uid, nodeId)) continue;
			if (!found.empty()) return false;
			found = nodeId;
		}
		return !found.empty();
	}, 5000);
	return found;
}


std::string ClusterTest::haproxyConfig() const
{
	std::string text = ChildProcess::readFile(std::string(IMGATE_SOURCE_DIR) + "/etc/haproxy-cluster.cfg");
	const auto replace = [&text](const std::string& from, const std::string& to)
	{
		const std::size_t at = text.find(from);
		CPPUNIT_ASSERT_MESSAGE("etc/haproxy-cluster.cfg has no \"" + from + "\"", at != std::string::npos && text.find(from, at + 1) == std::string::npos);
		text.replace(at, from.size(), to);
	};
	replace("\tlog /dev/log local0\n", "\tlog stderr format raw local0\n\tstats socket ${STATS} mode 600 level admin\n");
	// Each connection costs HAProxy two files; this machine allows 20,000.
	replace("\tmaxconn 200000\n", "\tmaxconn 1000\n");
	replace("\tbind :7700\n", "\tbind ${FRONTEND}\n");
	for (const std::string nodeId: {"n1", "n2", "n3"})
	{
		const ServerProcess& n = *_nodes.at(nodeId);
		replace("10.0.0.1" + nodeId.substr(1) + ":7700 check port 7780",
			"127.0.0.1:" + std::to_string(n.port()) + " check port " + std::to_string(n.adminPort()));
	}
	return text;
}


Seqs ClusterTest::sendAll(ImgateClient& c, const std::string& toUid, const std::string& toGroup, const std::string& from,
	Poco::UInt64 firstClientId, Poco::UInt64 count)
{
	std::string wire;
	Seqs seqs;
	for (Poco::UInt64 i = firstClientId; i < firstClientId + count; ++i)
	{
		imgate::v1::MessageSend m;
		m.set_to_uid(toUid);
		m.set_to_group(toGroup);
		m.set_client_msg_id(i);
		m.set_payload(payloadOf(from, i));
		const Poco::UInt32 seq = c.nextSeq();
		seqs[seq] = i;
		protocol::FrameEncoder::append(wire, Command::MSG_SEND, Status::OK, seq, m);
	}
	c.sendRaw(wire);
	return seqs;
}


Sent ClusterTest::collectAcks(ImgateClient& c, const Seqs& seqs, long timeoutS)
{
	Sent sent;
	for (const auto& kv: seqs) // seq order: the order sent
	{
		Reply r;
		CPPUNIT_ASSERT_MESSAGE("no MSG_SEND_ACK for client_msg_id " + std::to_string(kv.second),
			c.receiveReply(r, Command::MSG_SEND_ACK, kv.first, Poco::Timespan(timeoutS, 0)));
		CPPUNIT_ASSERT(r.command() == Command::MSG_SEND_ACK);
		const auto ack = r.parse<imgate::v1::MessageSendAck>();
		if (r.result() == Status::OK)
		{
			CPPUNIT_ASSERT_EQUAL(kv.second, static_cast<Poco::UInt64>(ack.client_msg_id()));
			sent.okIds.push_back(ack.msg_id());
			sent.clientIdOf[ack.msg_id()] = kv.second;
		}
		else
		{
			sent.refused.push_back(protocol::statusName(r.status));
		}
	}
	return sent;
}


Sent ClusterTest::sendAndWait(ImgateClient& c, const std::string& toUid, const std::string& toGroup, const std::string& from,
	Poco::UInt64 firstClientId, Poco::UInt64 count)
{
	return collectAcks(c, sendAll(c, toUid, toGroup, from, firstClientId, count));
}


bool ClusterTest::receiveOne(ImgateClient& c, Delivery& delivery, long timeoutMs, bool ack)
{
	Reply r;
	if (!c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(timeoutMs * 1000))) return false;
	const auto d = r.parse<imgate::v1::MessageDeliver>();
	delivery.msgId = d.msg_id();
	delivery.from = d.from_uid();
	delivery.group = d.group_id();
	const std::string payload = d.payload();
	const std::size_t space = payload.rfind(' ');
	CPPUNIT_ASSERT_MESSAGE("payload " + payload, space != std::string::npos && payload.substr(0, space) == delivery.from);
	delivery.clientId = std::stoull(payload.substr(space + 1));
	if (ack) c.ackDeliveries({delivery.msgId});
	return true;
}


void ClusterTest::receive(ImgateClient& c, std::vector<Delivery>& got, std::size_t until, long timeoutMs)
{
	Poco::Timestamp start;
	while (got.size() < until)
	{
		const long left = timeoutMs - static_cast<long>(start.elapsed() / 1000);
		if (left <= 0) return;
		Delivery d;
		if (!receiveOne(c, d, left)) return;
		got.push_back(d);
	}
}


bool ClusterTest::quiet(ImgateClient& c, long ms)
{
	Reply r;
	return !c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(ms * 1000));
}


std::vector<Poco::UInt64> ClusterTest::idsOf(const std::vector<Delivery>& got)
{
	std::vector<Poco::UInt64> ids;
	for (const Delivery& d: got) ids.push_back(d.msgId);
	return ids;
}


void ClusterTest::assertExactly(const std::vector<Delivery>& got, std::vector<Poco::UInt64> expected, const std::string& who)
{
	std::sort(expected.begin(), expected.end());
	const std::vector<Poco::UInt64> ids = idsOf(got);
	CPPUNIT_ASSERT_MESSAGE(who + " got " + std::to_string(ids.size()) + " of " + std::to_string(expected.size())
		+ " messages (or others): " + joined(ids), ids == expected);
	std::map<std::string, Poco::UInt64> lastClientId;
	for (std::size_t i = 0; i < got.size(); ++i)
	{
		// ids == expected (sorted, from distinct acks): strictly increasing.
		if (i > 0) CPPUNIT_ASSERT(got[i].msgId > got[i - 1].msgId);
		Poco::UInt64& last = lastClientId[got[i].from];
		CPPUNIT_ASSERT_MESSAGE(who + ": " + got[i].from + "'s message " + std::to_string(got[i].clientId) + " after its " + std::to_string(last),
			got[i].clientId > last);
		last = got[i].clientId;
	}
}


void ClusterTest::testDirectMessagesAcrossNodes()
{
	// Two senders on two nodes write into one inbox on a third at once:
	// the shared store gives one msg_id order, and the recipient's node
	// reads it in that order.
	startNode("n1");
	startNode("n2");
	startNode("n3");
	auto bob = node("n2").login("bob");
	auto alice = node("n1").login("alice");
	auto carol = node("n3").login("carol");
	waitPresent("bob", "n2");
	const Poco::UInt64 n = 200;
	const Seqs aliceSeqs = sendAll(*alice, "bob", "", "alice", 1, n);
	const Seqs carolSeqs = sendAll(*carol, "bob", "", "carol", 1, n);
	std::vector<Delivery> got;
	receive(*bob, got, 2 * n, 60000);
	const Sent fromAlice = collectAcks(*alice, aliceSeqs);
	const Sent fromCarol = collectAcks(*carol, carolSeqs);
	CPPUNIT_ASSERT_EQUAL(std::size_t(n), fromAlice.okIds.size());
	CPPUNIT_ASSERT_EQUAL(std::size_t(n), fromCarol.okIds.size());
	for (const Sent* pSent: {&fromAlice, &fromCarol})
	{
		// One session's sends are committed in the order sent.
		CPPUNIT_ASSERT(std::is_sorted(pSent->okIds.begin(), pSent->okIds.end()));
	}
	std::vector<Poco::UInt64> expected = fromAlice.okIds;
	expected.insert(expected.end(), fromCarol.okIds.begin(), fromCarol.okIds.end());
	assertExactly(got, expected, "bob");
	for (const Delivery& d: got)
	{
		const Sent& from = d.from == "alice" ? fromAlice : fromCarol;
		CPPUNIT_ASSERT(d.from == "alice" || d.from == "carol");
		CPPUNIT_ASSERT_EQUAL(from.clientIdOf.at(d.msgId), d.clientId);
	}
	CPPUNIT_ASSERT(quiet(*bob, 1000));
	// The routing went through Redis: n1 and n3 each told n2.
	const std::string metrics = request(node("n2").adminPort(), "GET", "/metrics").body;
	CPPUNIT_ASSERT_MESSAGE(metrics, metricValue(metrics, "imgate_cluster_notices_received_total{node=\"n2\"}") > 0);
	CPPUNIT_ASSERT(metricValue(request(node("n1").adminPort(), "GET", "/metrics").body, "imgate_cluster_notices_sent_total{node=\"n1\"}") > 0);
}


void ClusterTest::testGroupAcrossNodes()
{
	startNode("n1");
	startNode("n2");
	startNode("n3");
	Http put = request(node("n2").adminPort(), "PUT", "/v1/groups/team", "", "{\"members\": [\"alice\", \"bob\", \"carol\", \"dave\"]}", true);
	CPPUNIT_ASSERT_EQUAL_MESSAGE(put.body, 200, put.status);
	std::map<std::string, std::unique_ptr<ImgateClient>> members;
	const std::map<std::string, std::string> nodeOf{{"alice", "n1"}, {"bob", "n2"}, {"carol", "n3"}, {"dave", "n1"}, {"erin", "n2"}};
	for (const auto& kv: nodeOf) members[kv.first] = node(kv.second).login(kv.first);
	for (const auto& kv: nodeOf) waitPresent(kv.first, kv.second);
	// Two members on two nodes send at once.
	const Poco::UInt64 n = 30;
	const Seqs aliceSeqs = sendAll(*members["alice"], "", "team", "alice", 1, n);
	const Seqs carolSeqs = sendAll(*members["carol"], "", "team", "carol", 1, n);
	const Sent fromAlice = collectAcks(*members["alice"], aliceSeqs);
	const Sent fromCarol = collectAcks(*members["carol"], carolSeqs);
	CPPUNIT_ASSERT_EQUAL(std::size_t(n), fromAlice.okIds.size());
	CPPUNIT_ASSERT_EQUAL(std::size_t(n), fromCarol.okIds.size());
	std::vector<Poco::UInt64> all = fromAlice.okIds;
	all.insert(all.end(), fromCarol.okIds.begin(), fromCarol.okIds.end());
	const std::map<std::string, std::vector<Poco::UInt64>> expected{
		{"alice", fromCarol.okIds}, {"bob", all}, {"carol", fromAlice.okIds}, {"dave", all}}; // a sender never gets its own
	for (const auto& kv: expected)
	{
		std::vector<Delivery> got;
		receive(*members[kv.first], got, kv.second.size(), 30000);
		assertExactly(got, kv.second, kv.first);
		for (const Delivery& d: got) CPPUNIT_ASSERT_EQUAL(std::string("team"), d.group);
	}
	// erin, not a member, got nothing.
	CPPUNIT_ASSERT(quiet(*members["erin"], 300));
	// A member added through n3's admin API gets the next message sent on n1.
	Http add = request(node("n3").adminPort(), "POST", "/v1/groups/team/members", "", "{\"add\": [\"erin\"]}", true);
	CPPUNIT_ASSERT_EQUAL_MESSAGE(add.body, 200, add.status);
	const Sent next = sendAndWait(*members["alice"], "", "team", "alice", n + 1, 1);
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), next.okIds.size());
	for (const std::string uid: {"bob", "carol", "dave", "erin"})
	{
		std::vector<Delivery> got;
		receive(*members[uid], got, 1, 10000);
		assertExactly(got, next.okIds, uid);
		CPPUNIT_ASSERT_EQUAL(n + 1, got.front().clientId);
	}
	for (const auto& kv: members) CPPUNIT_ASSERT_MESSAGE(kv.first + " got more", quiet(*kv.second, kv.first == "alice" ? 500 : 100));
}


void ClusterTest::testLoginOnAnotherNodeKicks()
{
	startNode("n1");
	startNode("n2");
	auto first = node("n1").login("bob");
	auto alice = node("n1").login("alice");
	waitPresent("bob", "n1");
	Poco::Timestamp loggedIn;
	auto second = node("n2").login("bob");
	Reply kick;
	CPPUNIT_ASSERT_MESSAGE(node("n1").log(), first->receiveCommand(kick, Command::KICK, Poco::Timespan(5, 0)));
	CPPUNIT_ASSERT_EQUAL(Poco::UInt32(1), kick.parse<imgate::v1::Kick>().reason()); // DUPLICATE_LOGIN
	CPPUNIT_ASSERT_EQUAL(std::string("logged in on another node"), kick.parse<imgate::v1::Kick>().message());
	CPPUNIT_ASSERT(first->waitClosed(Poco::Timespan(5, 0)));
	CPPUNIT_ASSERT(!loggedIn.isElapsed(5000000));
	// n1, where the kicked session was, now routes bob's messages to n2.
	waitPresent("bob", "n2");
	const Sent sent = sendAndWait(*alice, "bob", "", "alice", 1, 1);
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), sent.okIds.size());
	std::vector<Delivery> got;
	receive(*second, got, 1, 10000);
	assertExactly(got, sent.okIds, "bob on n2");
	CPPUNIT_ASSERT(!second->closed());
	Reply none;
	CPPUNIT_ASSERT(!second->receiveCommand(none, Command::KICK, Poco::Timespan(300000)));
}


void ClusterTest::testNodeKilledMidStream()
{
	startNode("n1");
	startNode("n2");
	startNode("n3");
	auto alice = node("n1").login("alice");
	auto bob = node("n2").login("bob");
	waitPresent("bob", "n2");
	Sent sent;
	std::vector<Delivery> onN2;
	Poco::UInt64 next = 1;
	while (onN2.size() < 100)
	{
		sent.add(sendAndWait(*alice, "bob", "", "alice", next, 20));
		next += 20;
		receive(*bob, onN2, sent.okIds.size(), 10000);
		CPPUNIT_ASSERT_EQUAL_MESSAGE("bob on n2 fell behind", sent.okIds.size(), onN2.size());
	}
	// A batch on its way to bob when n2 dies.
	const Seqs inFlight = sendAll(*alice, "bob", "", "alice", next, 60);
	next += 60;
	receive(*bob, onN2, onN2.size() + 10, 2000);
	node("n2").signal(SIGKILL);
	CPPUNIT_ASSERT_EQUAL(128 + SIGKILL, node("n2").waitExit(10000));
	bob.reset();
	sent.add(collectAcks(*alice, inFlight));
	// The stream goes on while bob is away.
	sent.add(sendAndWait(*alice, "bob", "", "alice", next, 40));
	next += 40;
	CPPUNIT_ASSERT_MESSAGE("refused: " + std::to_string(sent.refused.size()), sent.refused.empty());
	CPPUNIT_ASSERT(std::is_sorted(sent.okIds.begin(), sent.okIds.end()));
	// What n2 delivered was the start of the stream, in order.
	const std::vector<Poco::UInt64> idsOnN2 = idsOf(onN2);
	CPPUNIT_ASSERT(idsOnN2.size() <= sent.okIds.size());
	CPPUNIT_ASSERT(std::equal(idsOnN2.begin(), idsOnN2.end(), sent.okIds.begin()));

	// bob logs in on n3: every acknowledged message he has not got, in
	// order; a redelivery only of a tail of what n2 delivered (acks n2
	// had not committed when it died).
	auto bob3 = node("n3").login("bob");
	std::vector<Delivery> onN3;
	Poco::Timestamp start;
	while (onN3.empty() || onN3.back().msgId < sent.okIds.back())
	{
		Delivery d;
		CPPUNIT_ASSERT_MESSAGE("bob on n3 got only " + joined(idsOf(onN3)) + " of " + joined(sent.okIds),
			receiveOne(*bob3, d, 15000));
		onN3.push_back(d);
		CPPUNIT_ASSERT(!start.isElapsed(60000000));
	}
	CPPUNIT_ASSERT(quiet(*bob3, 1000));
	const std::vector<Poco::UInt64> idsOnN3 = idsOf(onN3);
	auto from = std::find(sent.okIds.begin(), sent.okIds.end(), idsOnN3.front());
	CPPUNIT_ASSERT(from != sent.okIds.end());
	CPPUNIT_ASSERT_MESSAGE("n3 delivered " + joined(idsOnN3) + "; acknowledged: " + joined(sent.okIds),
		std::vector<Poco::UInt64>(from, sent.okIds.end()) == idsOnN3);
	CPPUNIT_ASSERT_MESSAGE("a message neither node delivered", static_cast<std::size_t>(from - sent.okIds.begin()) <= idsOnN2.size());
	for (const Delivery& d: onN3) CPPUNIT_ASSERT_EQUAL(sent.clientIdOf.at(d.msgId), d.clientId);

	// A message sent now reaches bob on n3 (at the latest once n2's
	// presence has expired).
	const Sent after = sendAndWait(*alice, "bob", "", "alice", next, 1);
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), after.okIds.size());
	std::vector<Delivery> last;
	receive(*bob3, last, 1, (PRESENCE_TTL + 7) * 1000);
	assertExactly(last, after.okIds, "bob on n3 after the kill");
}


void ClusterTest::testRedisKilledAndRestarted()
{
	ServerProcess& n1 = startNode("n1");
	startNode("n2");
	auto alice = n1.login("alice");
	auto bob = node("n2").login("bob");
	waitPresent("bob", "n2");
	const std::string upSeries = "imgate_cluster_redis_up{node=\"n1\"}";
	CPPUNIT_ASSERT_EQUAL(1.0, metricValue(request(n1.adminPort(), "GET", "/metrics").body, upSeries));
	const Sent before = sendAndWait(*alice, "bob", "", "alice", 1, 30);
	CPPUNIT_ASSERT_EQUAL(std::size_t(30), before.okIds.size());
	std::vector<Delivery> got;
	receive(*bob, got, 30, 10000);
	assertExactly(got, before.okIds, "bob before Redis died");

	_pRedis->kill();
	// Sends still succeed: the messages are in PostgreSQL.
	const Sent during = sendAndWait(*alice, "bob", "", "alice", 31, 30);
	CPPUNIT_ASSERT_MESSAGE(during.refused.empty() ? "" : during.refused.front(), during.refused.empty());
	Http ready;
	CPPUNIT_ASSERT_MESSAGE(ready.body, waitUntil([&]()
	{
		ready = request(n1.adminPort(), "GET", "/readyz");
		return ready.body.find("degraded") != std::string::npos;
	}, 10000, 100));
	CPPUNIT_ASSERT_EQUAL(200, ready.status);
	CPPUNIT_ASSERT_MESSAGE(ready.body, ready.body.compare(0, 25, "ready, degraded: cluster:") == 0);
	CPPUNIT_ASSERT_EQUAL(0.0, metricValue(request(n1.adminPort(), "GET", "/metrics").body, upSeries));
	Poco::JSON::Object::Ptr pStats = json(request(n1.adminPort(), "GET", "/v1/stats").body);
	CPPUNIT_ASSERT(!pStats->getValue<bool>("cluster_redis_up"));
	CPPUNIT_ASSERT_EQUAL(std::string("n1"), pStats->getValue<std::string>("node"));
	// Local sessions still work without Redis.
	auto carol = n1.login("carol");
	const Sent local = sendAndWait(*alice, "carol", "", "alice", 1000, 1);
	std::vector<Delivery> carolGot;
	receive(*carol, carolGot, 1, 10000);
	assertExactly(carolGot, local.okIds, "carol on n1 without Redis");

	_pRedis->start();
	// The nodes register again and bob's node reads what he missed.
	receive(*bob, got, 60, 20000);
	std::vector<Poco::UInt64> all = before.okIds;
	all.insert(all.end(), during.okIds.begin(), during.okIds.end());
	assertExactly(got, all, "bob after Redis came back");
	CPPUNIT_ASSERT(quiet(*bob, 500));
	for (const std::string id: {"n1", "n2"})
	{
		CPPUNIT_ASSERT_MESSAGE(id + " still degraded", waitUntil([&]()
		{
			Http h = request(node(id).adminPort(), "GET", "/readyz");
			return h.status == 200 && h.body == "ready\n";
		}, 10000, 100));
		CPPUNIT_ASSERT_MESSAGE(id, waitUntil([&]()
		{
			return metricValue(request(node(id).adminPort(), "GET", "/metrics").body, "imgate_cluster_redis_up{node=\"" + id + "\"}") == 1.0;
		}, 5000, 100));
		CPPUNIT_ASSERT(nodeKeyExists(id));
	}
	waitPresent("bob", "n2");
	waitPresent("alice", "n1");
	// Routing works again at once.
	const Sent after = sendAndWait(*alice, "bob", "", "alice", 61, 5);
	std::vector<Delivery> latest;
	receive(*bob, latest, 5, 10000);
	assertExactly(latest, after.okIds, "bob after Redis came back");
}


void ClusterTest::testPostgresStoppedAndStarted()
{
	ServerProcess& n1 = startNode("n1");
	ServerProcess& n2 = startNode("n2");
	auto alice = n1.login("alice");
	auto carol = n2.login("carol"); // idle on n2 through the outage
	const Sent before = sendAndWait(*alice, "bob", "", "alice", 1, 20);
	CPPUNIT_ASSERT_EQUAL(std::size_t(20), before.okIds.size());
	const Sent forDave = sendAndWait(*alice, "dave", "", "alice", 101, 5); // client_msg_ids are alice's, whoever they go to
	CPPUNIT_ASSERT_EQUAL(std::size_t(5), forDave.okIds.size());

	PostgresProcess& pg = postgres(); // postgres() itself would start it again
	pg.stop();
	const Sent refused = sendAndWait(*alice, "bob", "", "alice", 21, 1);
	CPPUNIT_ASSERT(refused.okIds.empty());
	CPPUNIT_ASSERT_EQUAL(std::string("SERVER_BUSY"), refused.refused.at(0));
	Http ready;
	CPPUNIT_ASSERT_MESSAGE(ready.body, waitUntil([&]()
	{
		ready = request(n1.adminPort(), "GET", "/readyz");
		return ready.status == 503;
	}, 10000, 100));
	CPPUNIT_ASSERT_MESSAGE(ready.body, ready.body.compare(0, 7, "store: ") == 0 || ready.body.find("\nstore: ") != std::string::npos);
	// Still refused, never lost silently.
	const Sent again = sendAndWait(*alice, "bob", "", "alice", 22, 3);
	CPPUNIT_ASSERT(again.okIds.empty());
	for (const std::string& status: again.refused) CPPUNIT_ASSERT_EQUAL(std::string("SERVER_BUSY"), status);
	// dave logs in meanwhile: his messages cannot be read yet.
	auto dave = n1.login("dave");
	CPPUNIT_ASSERT(quiet(*dave, 500));

	pg.start();
	CPPUNIT_ASSERT_MESSAGE(ready.body, waitUntil([&]()
	{
		ready = request(n1.adminPort(), "GET", "/readyz");
		return ready.status == 200;
	}, 30000, 200));
	CPPUNIT_ASSERT_EQUAL(std::string("ready\n"), ready.body);
	CPPUNIT_ASSERT_EQUAL(200, request(n2.adminPort(), "GET", "/readyz").status);
	// Both nodes write and read again: n2's connections, idle through the
	// outage, broke as well.
	const Sent fromCarol = sendAndWait(*carol, "alice", "", "carol", 1, 1);
	CPPUNIT_ASSERT_EQUAL_MESSAGE("carol's send on n2: " + (fromCarol.refused.empty() ? std::string() : fromCarol.refused.front())
		+ "\n" + n2.log(), std::size_t(1), fromCarol.okIds.size());
	std::vector<Delivery> aliceGot;
	receive(*alice, aliceGot, 1, 10000);
	CPPUNIT_ASSERT_MESSAGE(n1.log(), aliceGot.size() == 1);
	assertExactly(aliceGot, fromCarol.okIds, "alice on n1");
	const Sent after = sendAndWait(*alice, "bob", "", "alice", 30, 5);
	CPPUNIT_ASSERT_MESSAGE(after.refused.empty() ? "" : after.refused.front(), after.refused.empty());
	// dave gets his without logging in again, and without a new message.
	std::vector<Delivery> daveGot;
	receive(*dave, daveGot, 5, 10000);
	CPPUNIT_ASSERT_MESSAGE(n1.log(), daveGot.size() == 5);
	assertExactly(daveGot, forDave.okIds, "dave, logged in during the outage");
	// bob, on n2, gets every acknowledged message once, in order.
	auto bob = n2.login("bob");
	std::vector<Delivery> got;
	receive(*bob, got, 25, 20000);
	CPPUNIT_ASSERT_MESSAGE(n2.log(), got.size() == 25);
	std::vector<Poco::UInt64> all = before.okIds;
	all.insert(all.end(), after.okIds.begin(), after.okIds.end());
	assertExactly(got, all, "bob after PostgreSQL came back");
	CPPUNIT_ASSERT(quiet(*bob, 500));
}


void ClusterTest::testDuplicateNodeIdRefused()
{
	ServerProcess& n1 = startNode("n1");
	startNode("n2");
	auto bob = n1.login("bob");
	auto alice = node("n2").login("alice");
	waitPresent("bob", "n1");
	// A second node with id n1: refused after waiting out the TTL.
	const std::string config = writeNodeConfig("n1", ServerProcess::Settings());
	std::string output;
	Poco::Timestamp started;
	const int code = ServerProcess::run({"--config=" + config}, output, 30000);
	const Poco::Timestamp::TimeDiff tookMs = started.elapsed() / 1000;
	CPPUNIT_ASSERT_EQUAL_MESSAGE(output, 69, code);
	CPPUNIT_ASSERT_MESSAGE(output, output.find("cluster: cluster.nodeId n1 is in use by a running node") != std::string::npos);
	CPPUNIT_ASSERT_MESSAGE(std::to_string(tookMs), tookMs >= (PRESENCE_TTL - 1) * 1000);
	// The running n1 keeps its id and its users.
	CPPUNIT_ASSERT(nodeKeyExists("n1"));
	CPPUNIT_ASSERT(present("bob", "n1"));
	const Sent sent = sendAndWait(*alice, "bob", "", "alice", 1, 3);
	CPPUNIT_ASSERT_EQUAL(std::size_t(3), sent.okIds.size());
	std::vector<Delivery> got;
	receive(*bob, got, 3, 10000);
	assertExactly(got, sent.okIds, "bob on n1");
	CPPUNIT_ASSERT_MESSAGE(n1.log(), n1.log().find("another node holds") == std::string::npos);
	CPPUNIT_ASSERT_EQUAL(200, request(n1.adminPort(), "GET", "/readyz").status);
}


void ClusterTest::testCleanStopLeavesRedis()
{
	startNode("n1");
	ServerProcess& n2 = startNode("n2");
	auto alice = node("n1").login("alice");
	auto bob = n2.login("bob");
	waitPresent("bob", "n2");
	waitPresent("alice", "n1");
	CPPUNIT_ASSERT(nodeKeyExists("n2"));
	n2.signal(SIGTERM);
	CPPUNIT_ASSERT_EQUAL_MESSAGE(n2.log(), 0, n2.waitExit(15000));
	Poco::Timestamp exited;
	CPPUNIT_ASSERT_MESSAGE("imgate:node:n2 still in Redis", waitUntil([&]() { return !nodeKeyExists("n2"); }, 1000));
	CPPUNIT_ASSERT_MESSAGE("bob's presence still names n2", waitUntil([&]() { return !present("bob", "n2"); }, 1000));
	CPPUNIT_ASSERT(!exited.isElapsed(1500000));
	// n1 and its users are untouched.
	CPPUNIT_ASSERT(nodeKeyExists("n1"));
	CPPUNIT_ASSERT(present("alice", "n1"));
	CPPUNIT_ASSERT_EQUAL(404, request(node("n1").adminPort(), "GET", "/v1/sessions/bob").status);
}


void ClusterTest::testAdminAcrossNodes()
{
	ServerProcess& n1 = startNode("n1");
	ServerProcess& n2 = startNode("n2");
	auto bob = n2.login("bob");
	waitPresent("bob", "n2");
	Http found = request(n1.adminPort(), "GET", "/v1/sessions/bob");
	CPPUNIT_ASSERT_EQUAL_MESSAGE(found.body, 200, found.status);
	Poco::JSON::Object::Ptr pFound = json(found.body);
	CPPUNIT_ASSERT_EQUAL(std::string("bob"), pFound->getValue<std::string>("uid"));
	CPPUNIT_ASSERT_EQUAL(std::string("n2"), pFound->getValue<std::string>("node"));
	CPPUNIT_ASSERT(!pFound->getValue<bool>("local"));
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), pFound->getArray("nodes")->size());
	CPPUNIT_ASSERT_EQUAL(std::string("n2"), pFound->getArray("nodes")->getElement<std::string>(0));
	Http local = request(n2.adminPort(), "GET", "/v1/sessions/bob");
	CPPUNIT_ASSERT_EQUAL_MESSAGE(local.body, 200, local.status);
	CPPUNIT_ASSERT(json(local.body)->getValue<bool>("local"));
	CPPUNIT_ASSERT_EQUAL(std::string("n2"), json(local.body)->getValue<std::string>("node"));
	CPPUNIT_ASSERT_EQUAL(404, request(n1.adminPort(), "GET", "/v1/sessions/nobody").status);
	// The node is named in /v1/stats and /metrics.
	Poco::JSON::Object::Ptr pStats = json(request(n1.adminPort(), "GET", "/v1/stats").body);
	CPPUNIT_ASSERT_EQUAL(std::string("n1"), pStats->getValue<std::string>("node"));
	CPPUNIT_ASSERT(pStats->getValue<bool>("cluster_redis_up"));
	const std::string metrics = request(n1.adminPort(), "GET", "/metrics").body;
	CPPUNIT_ASSERT_MESSAGE(metrics, metrics.find("\nimgate_build_info{version=\"") != std::string::npos);
	CPPUNIT_ASSERT(metrics.find("\",node=\"n1\"} 1\n") != std::string::npos);

	// A kick asked of n1 reaches bob on n2.
	Http kicked = request(n1.adminPort(), "POST", "/v1/sessions/bob/kick", "", "", true);
	CPPUNIT_ASSERT_EQUAL_MESSAGE(kicked.body, 200, kicked.status);
	Poco::JSON::Object::Ptr pKicked = json(kicked.body);
	CPPUNIT_ASSERT(pKicked->getValue<bool>("kicked"));
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), pKicked->getArray("nodes")->size());
	CPPUNIT_ASSERT_EQUAL(std::string("n2"), pKicked->getArray("nodes")->getElement<std::string>(0));
	Reply kick;
	CPPUNIT_ASSERT_MESSAGE(n2.log(), bob->receiveCommand(kick, Command::KICK, Poco::Timespan(5, 0)));
	CPPUNIT_ASSERT_EQUAL(Poco::UInt32(2), kick.parse<imgate::v1::Kick>().reason()); // ADMIN
	CPPUNIT_ASSERT(bob->waitClosed(Poco::Timespan(5, 0)));
	// Gone everywhere.
	CPPUNIT_ASSERT(waitUntil([&]() { return request(n1.adminPort(), "GET", "/v1/sessions/bob").status == 404; }, 5000, 50));
	CPPUNIT_ASSERT_EQUAL(404, request(n1.adminPort(), "POST", "/v1/sessions/bob/kick", "", "", true).status);
}


void ClusterTest::testRedisPassword()
{
	const std::string password = "cluster-secret-7f3a9";
	_pRedis.reset();
	_pRedis.reset(new RedisProcess(password));
	const std::string good = _dir + "redis.pass";
	const std::string wrong = _dir + "wrong.pass";
	const std::string open = _dir + "open.pass";
	ServerProcess::writeFile(good, password + "\n");
	ServerProcess::writeFile(wrong, "not-the-password\n");
	ServerProcess::writeFile(open, password + "\n");
	CPPUNIT_ASSERT_EQUAL(0, ::chmod(good.c_str(), 0600));
	CPPUNIT_ASSERT_EQUAL(0, ::chmod(wrong.c_str(), 0600));
	CPPUNIT_ASSERT_EQUAL(0, ::chmod(open.c_str(), 0644));

	// The right password: nodes join and route through Redis.
	ServerProcess& n1 = startNode("n1", {{"cluster.redisPasswordFile", good}});
	ServerProcess& n2 = startNode("n2", {{"cluster.redisPasswordFile", good}});
	auto alice = n1.login("alice");
	auto bob = n2.login("bob");
	waitPresent("bob", "n2");
	const Sent sent = sendAndWait(*alice, "bob", "", "alice", 1, 3);
	std::vector<Delivery> got;
	receive(*bob, got, 3, 10000);
	assertExactly(got, sent.okIds, "bob");
	CPPUNIT_ASSERT(n1.log().find(password) == std::string::npos);

	// A wrong password: refused by Redis, named, not logged.
	std::string output;
	int code = ServerProcess::run({"--config=" + writeNodeConfig("n3", {{"cluster.redisPasswordFile", wrong}})}, output, 20000);
	CPPUNIT_ASSERT_MESSAGE(output, code != 0 && code != -1);
	CPPUNIT_ASSERT_MESSAGE(output, output.find("Redis") != std::string::npos);
	CPPUNIT_ASSERT_MESSAGE(output, output.find("refused the password") != std::string::npos);
	CPPUNIT_ASSERT_MESSAGE(output, output.find("not-the-password") == std::string::npos);
	CPPUNIT_ASSERT(!nodeKeyExists("n3"));

	// A password file other users may read: refused before Redis is asked.
	code = ServerProcess::run({"--config=" + writeNodeConfig("n4", {{"cluster.redisPasswordFile", open}})}, output, 20000);
	CPPUNIT_ASSERT_EQUAL_MESSAGE(output, 78, code);
	CPPUNIT_ASSERT_MESSAGE(output, output.find(open) != std::string::npos);
	CPPUNIT_ASSERT_MESSAGE(output, output.find(password) == std::string::npos);
	CPPUNIT_ASSERT(!nodeKeyExists("n4"));
}


void ClusterTest::testOneAddressThroughHaproxy()
{
	// etc/haproxy-cluster.cfg as shipped is valid; run with its servers
	// moved to this test's nodes, it gives clients one address: leastconn
	// spreads them, they talk across nodes, and HAProxy's HTTP check reads
	// each node's /readyz. A node that cannot write (PostgreSQL refuses its
	// role) answers 503 and gets no new client until it writes again. A
	// node that drains kicks its clients, and they come back through the
	// same address to the other nodes at once, with what was sent to them
	// meanwhile.
	const std::string BACKEND = "imgate_nodes";
	std::string output;
	CPPUNIT_ASSERT_EQUAL_MESSAGE(output, 0, ServerProcess::runProgram(HaproxyProcess::findBinary(),
		{"-c", "-f", std::string(IMGATE_SOURCE_DIR) + "/etc/haproxy-cluster.cfg"}, output, 10000));
	// n3 connects to PostgreSQL as a role of its own, which the test can
	// turn away without touching the other nodes.
	const std::string role = "imgate_" + _database;
	postgres().execute("CREATE ROLE " + role + " LOGIN IN ROLE imgate");
	std::string n3Connection = _connection;
	n3Connection.replace(n3Connection.find("user=imgate "), 12, "user=" + role + " ");
	const std::vector<std::string> nodes{"n1", "n2", "n3"};
	startNode("n1");
	ServerProcess& n2 = startNode("n2");
	ServerProcess& n3 = startNode("n3", {{"store.postgresql", n3Connection}});
	HaproxyProcess proxy(haproxyConfig());
	const auto ready = [&](const std::string& nodeId)
	{
		return proxy.serverStatus(BACKEND, nodeId) == "UP" && proxy.checkStatus(BACKEND, nodeId) == "L7OK";
	};
	CPPUNIT_ASSERT_MESSAGE(proxy.log(), waitUntil([&]() { return ready("n1") && ready("n2") && ready("n3"); }, 10000));
	const auto loginThrough = [&](const std::string& uid)
	{
		std::unique_ptr<ImgateClient> pClient(new ImgateClient("127.0.0.1", proxy.port()));
		std::string status;
		try
		{
			status = protocol::statusName(pClient->login(uid, "", "phone").result());
		}
		catch (Poco::Exception& exc)
		{
			status = exc.displayText();
		}
		CPPUNIT_ASSERT_EQUAL_MESSAGE(uid + " through HAProxy:\n" + proxy.log(), std::string("OK"), status);
		return pClient;
	};

	// Six clients, two on each node, all through one address.
	std::map<std::string, std::unique_ptr<ImgateClient>> clients;
	std::map<std::string, std::vector<std::string>> on; // node -> its uids
	for (int i = 0; i < 6; ++i)
	{
		const std::string uid = "u" + std::to_string(i);
		clients[uid] = loginThrough(uid);
		on[nodeOf(uid, nodes)].push_back(uid);
	}
	for (const std::string& nodeId: nodes)
		CPPUNIT_ASSERT_EQUAL_MESSAGE(nodeId + ":\n" + proxy.log(), std::size_t(2), on[nodeId].size());
	const std::string sender = on["n1"].front();
	Poco::UInt64 next = 1;
	for (const auto& kv: clients)
	{
		if (kv.first == sender) continue;
		const Sent sent = sendAndWait(*clients[sender], kv.first, "", sender, next++, 1);
		std::vector<Delivery> got;
		receive(*kv.second, got, 1, 10000);
		assertExactly(got, sent.okIds, kv.first);
	}

	// PostgreSQL turns n3 away: its sends are refused as busy, its
	// /readyz answers 503, and HAProxy takes it out.
	const std::string writer = on["n3"].front();
	postgres().execute("ALTER ROLE " + role + " NOLOGIN");
	const std::string backends = "FROM pg_stat_activity WHERE usename = '" + role + "'";
	postgres().queryOne("SELECT count(pg_terminate_backend(pid)) " + backends);
	CPPUNIT_ASSERT(waitUntil([&]() { return postgres().queryOne("SELECT count(*) " + backends) == "0"; }, 5000));
	const Sent refused = sendAndWait(*clients[writer], sender, "", writer, 1, 1);
	CPPUNIT_ASSERT(refused.okIds.empty());
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), refused.refused.size());
	CPPUNIT_ASSERT_EQUAL(std::string("SERVER_BUSY"), refused.refused.front());
	CPPUNIT_ASSERT_EQUAL(503, request(n3.adminPort(), "GET", "/readyz").status);
	CPPUNIT_ASSERT_MESSAGE(proxy.log(), waitUntil([&]() { return proxy.serverStatus(BACKEND, "n3") == "DOWN"; }, 10000));
	CPPUNIT_ASSERT_EQUAL(std::string("L7STS"), proxy.checkStatus(BACKEND, "n3")); // the 503, not a refused connection
	for (int i = 0; i < 3; ++i)
	{
		const std::string uid = "v" + std::to_string(i);
		clients[uid] = loginThrough(uid);
		const std::string at = nodeOf(uid, nodes);
		CPPUNIT_ASSERT_MESSAGE(uid + " is on \"" + at + "\"", at == "n1" || at == "n2");
	}

	// Let in again: n3 writes (its next probe), says ready, HAProxy puts
	// it back; the refused send, sent again, is stored and delivered.
	postgres().execute("ALTER ROLE " + role + " LOGIN");
	CPPUNIT_ASSERT_MESSAGE(proxy.log(), waitUntil([&]() { return ready("n3"); }, 15000));
	const Sent resent = sendAndWait(*clients[writer], sender, "", writer, 1, 1);
	CPPUNIT_ASSERT_EQUAL(std::size_t(1), resent.okIds.size());
	std::vector<Delivery> got;
	receive(*clients[sender], got, 1, 10000);
	assertExactly(got, resent.okIds, sender);

	// n2 drains (SIGTERM, drainTime 0): its clients are kicked and log in
	// again through the same address at once. HAProxy still counts n2 up
	// and, by leastconn, tries it first: refused, the retry goes to another
	// node (option redispatch). They get what was sent to them meanwhile.
	n2.signal(SIGTERM);
	std::map<std::string, Poco::UInt64> sentWhileAway;
	for (const std::string& uid: on["n2"])
	{
		Reply kick;
		CPPUNIT_ASSERT_MESSAGE(uid, clients[uid]->receiveCommand(kick, Command::KICK, Poco::Timespan(10, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(4), kick.parse<imgate::v1::Kick>().reason()); // SHUTDOWN
		CPPUNIT_ASSERT(clients[uid]->waitClosed(Poco::Timespan(5, 0)));
		const Sent sent = sendAndWait(*clients[sender], uid, "", sender, next++, 1);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), sent.okIds.size());
		sentWhileAway[uid] = sent.okIds.front();
		clients[uid] = loginThrough(uid);
	}
	for (const std::string& uid: on["n2"])
	{
		CPPUNIT_ASSERT_MESSAGE(uid + " is on no node but n2", !nodeOf(uid, {"n1", "n3"}).empty());
		std::vector<Delivery> got;
		receive(*clients[uid], got, 1, 10000);
		assertExactly(got, {sentWhileAway[uid]}, uid);
	}
	CPPUNIT_ASSERT_EQUAL_MESSAGE(n2.log(), 0, n2.waitExit(10000));
}


CPPUNIT_TEST_SUITE_REGISTRATION(ClusterTest);
