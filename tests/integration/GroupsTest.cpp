//
// GroupsTest.cpp
//
// Protocol 1.1, sections 4 to 6, on a real imgated with the sqlite store:
// the admin API's /v1/groups, group messages, transient messages and
// HISTORY.
//

#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include "server/protocol/FrameEncoder.h"
#include "Poco/File.h"
#include "Poco/JSON/Array.h"
#include "Poco/Thread.h"
#include <cppunit/extensions/HelperMacros.h>
#include <algorithm>
#include <map>
#include <set>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::Http;
using imgate::test::json;
using imgate::test::request;
using imgate::test::ServerProcess;

class GroupsTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(GroupsTest);
	CPPUNIT_TEST(testAdminEndpoints);
	CPPUNIT_TEST(testGroupMessage);
	CPPUNIT_TEST(testSendRules);
	CPPUNIT_TEST(testSameOrderForEveryMember);
	CPPUNIT_TEST(testMembershipChangesApplyToLaterMessages);
	CPPUNIT_TEST(testTransient);
	CPPUNIT_TEST(testTransientToGroup);
	CPPUNIT_TEST(testHistory);
	CPPUNIT_TEST(testHistoryRules);
	CPPUNIT_TEST(testCli);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = ServerProcess::makeTempDir();
		_settings = ServerProcess::Settings{{"admin.allowNoToken", "true"}, {"group.maxMembers", "5"}, {"store.path", _dir + "imgate.db"}};
		_pServer.reset(new ServerProcess(_settings));
		CPPUNIT_ASSERT(_pServer->adminPort() != 0);
	}

	void tearDown() override
	{
		_pServer.reset();
		Poco::File(_dir).remove(true);
	}

	Http admin(const std::string& method, const std::string& path, const std::string& body = "")
	{
		return request(_pServer->adminPort(), method, path, "", body, method == "PUT" || method == "POST");
	}

	void makeGroup(const std::string& gid, const std::string& members)
	{
		Http h = admin("PUT", "/v1/groups/" + gid, "{\"members\": [" + members + "]}");
		CPPUNIT_ASSERT_EQUAL_MESSAGE(h.body, 200, h.status);
	}

	static Reply send(ImgateClient& c, const std::string& toUid, const std::string& toGroup, Poco::UInt64 clientId, const std::string& payload, bool transient = false)
	{
		imgate::v1::MessageSend m;
		m.set_to_uid(toUid);
		m.set_to_group(toGroup);
		m.set_client_msg_id(clientId);
		m.set_payload(payload);
		m.set_transient(transient);
		const Poco::UInt32 seq = c.nextSeq();
		c.send(Command::MSG_SEND, seq, m);
		Reply r;
		CPPUNIT_ASSERT(c.receiveReply(r, Command::MSG_SEND_ACK, seq, Poco::Timespan(5, 0)));
		return r;
	}

	static imgate::v1::MessageDeliver deliver(ImgateClient& c)
	{
		Reply r;
		CPPUNIT_ASSERT_MESSAGE("no MSG_DELIVER", c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		return r.parse<imgate::v1::MessageDeliver>();
	}

	static bool quiet(ImgateClient& c, long ms)
	{
		Reply r;
		return !c.receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(ms * 1000));
	}

	static Reply history(ImgateClient& c, const imgate::v1::HistoryRequest& h)
	{
		const Poco::UInt32 seq = c.nextSeq();
		c.send(Command::HISTORY, seq, h);
		Reply r;
		CPPUNIT_ASSERT(c.receiveReply(r, Command::HISTORY_RESP, seq, Poco::Timespan(5, 0)));
		return r;
	}

	static std::vector<std::string> members(const Http& h)
	{
		std::vector<std::string> out;
		Poco::JSON::Array::Ptr pArray = json(h.body)->getArray("members");
		for (std::size_t i = 0; i < pArray->size(); ++i) out.push_back(pArray->getElement<std::string>(static_cast<unsigned>(i)));
		return out;
	}

	void testAdminEndpoints()
	{
		Http put = admin("PUT", "/v1/groups/team", "{\"members\": [\"carol\", \"alice\", \"bob\", \"alice\"]}");
		CPPUNIT_ASSERT_EQUAL_MESSAGE(put.body, 200, put.status);
		CPPUNIT_ASSERT(members(put) == std::vector<std::string>({"alice", "bob", "carol"}));
		CPPUNIT_ASSERT_EQUAL(std::string("team"), json(put.body)->getValue<std::string>("gid"));
		const Poco::Int64 created = json(put.body)->getValue<Poco::Int64>("created_ms");
		CPPUNIT_ASSERT(created > 0);
		Http get = admin("GET", "/v1/groups/team");
		CPPUNIT_ASSERT_EQUAL(200, get.status);
		CPPUNIT_ASSERT(members(get) == members(put));
		CPPUNIT_ASSERT_EQUAL(404, admin("GET", "/v1/groups/nope").status);
		Http change = admin("POST", "/v1/groups/team/members", "{\"add\": [\"dave\"], \"remove\": [\"bob\"]}");
		CPPUNIT_ASSERT_EQUAL_MESSAGE(change.body, 200, change.status);
		CPPUNIT_ASSERT(members(change) == std::vector<std::string>({"alice", "carol", "dave"}));
		CPPUNIT_ASSERT_EQUAL(404, admin("POST", "/v1/groups/nope/members", "{\"add\": [\"x\"]}").status);
		// Replacing keeps created_ms.
		Http replaced = admin("PUT", "/v1/groups/team", "{\"members\": [\"alice\"]}");
		CPPUNIT_ASSERT_EQUAL(created, json(replaced.body)->getValue<Poco::Int64>("created_ms"));
		// group.maxMembers (5 here), malformed gids and uids: 400 naming the problem.
		Http tooMany = admin("PUT", "/v1/groups/big", "{\"members\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}");
		CPPUNIT_ASSERT_EQUAL(400, tooMany.status);
		CPPUNIT_ASSERT_MESSAGE(tooMany.body, tooMany.body.find("group.maxMembers") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(404, admin("GET", "/v1/groups/big").status); // nothing was created
		CPPUNIT_ASSERT_EQUAL(400, admin("GET", "/v1/groups/bad%20gid").status);
		Http badMember = admin("PUT", "/v1/groups/g2", "{\"members\": [\"ok\", \"not ok\"]}");
		CPPUNIT_ASSERT_EQUAL(400, badMember.status);
		CPPUNIT_ASSERT_MESSAGE(badMember.body, badMember.body.find("members[1]") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(400, admin("PUT", "/v1/groups/g2", "{\"members\": \"alice\"}").status);
		CPPUNIT_ASSERT_EQUAL(400, admin("PUT", "/v1/groups/g2", "{\"owners\": []}").status);
		// List with a prefix and a limit.
		makeGroup("team2", "\"alice\"");
		makeGroup("other", "\"alice\"");
		Http list = admin("GET", "/v1/groups?prefix=team&limit=1");
		CPPUNIT_ASSERT_EQUAL(200, list.status);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), json(list.body)->getArray("groups")->size());
		CPPUNIT_ASSERT(json(list.body)->getValue<bool>("truncated"));
		list = admin("GET", "/v1/groups?prefix=team");
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), json(list.body)->getArray("groups")->size());
		CPPUNIT_ASSERT(!json(list.body)->getValue<bool>("truncated"));
		// DELETE: 204 without a body, then 404.
		Http removed = admin("DELETE", "/v1/groups/team2");
		CPPUNIT_ASSERT_EQUAL(204, removed.status);
		CPPUNIT_ASSERT(removed.body.empty());
		CPPUNIT_ASSERT(!removed.hasContentLength);
		CPPUNIT_ASSERT_EQUAL(404, admin("DELETE", "/v1/groups/team2").status);
		CPPUNIT_ASSERT_EQUAL(405, admin("PATCH", "/v1/groups/team").status);
		// Durable: a restart keeps them.
		_pServer.reset();
		_pServer.reset(new ServerProcess(_settings));
		CPPUNIT_ASSERT(members(admin("GET", "/v1/groups/team")) == std::vector<std::string>({"alice"}));
	}

	void testGroupMessage()
	{
		makeGroup("team", "\"alice\", \"bob\", \"carol\"");
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		Reply ack = send(*alice, "", "team", 1, "hello team");
		CPPUNIT_ASSERT(ack.result() == Status::OK);
		const Poco::UInt64 id = ack.parse<imgate::v1::MessageSendAck>().msg_id();
		imgate::v1::MessageDeliver d = deliver(*bob);
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(d.msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("team"), d.group_id());
		CPPUNIT_ASSERT_EQUAL(std::string(""), d.to_uid());
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), d.from_uid());
		CPPUNIT_ASSERT(quiet(*alice, 300)); // the sender's own session never gets it
		// Carol was offline: the same message, same id, on her login.
		auto carol = _pServer->login("carol");
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(deliver(*carol).msg_id()));
		// A resend is the same message.
		CPPUNIT_ASSERT_EQUAL(id, static_cast<Poco::UInt64>(send(*alice, "", "team", 1, "hello team").parse<imgate::v1::MessageSendAck>().msg_id()));
		// Metrics: one group message of 3 members (the resend is no new
		// one); three uids online with one session each.
		const std::string metrics = admin("GET", "/metrics").body;
		CPPUNIT_ASSERT_MESSAGE(metrics, metrics.find("\nimgate_group_fanout_members_bucket{le=\"2\"} 0\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_group_fanout_members_bucket{le=\"5\"} 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_group_fanout_members_sum 3\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_group_fanout_members_count 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_uids_online_by_devices{devices=\"1\"} 3\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_uids_online_by_devices{devices=\"8+\"} 0\n") != std::string::npos);
	}

	void testSendRules()
	{
		makeGroup("team", "\"alice\", \"bob\"");
		auto mallory = _pServer->login("mallory");
		CPPUNIT_ASSERT(send(*mallory, "", "team", 1, "x").result() == Status::NOT_MEMBER);
		CPPUNIT_ASSERT(send(*mallory, "", "nosuchgroup", 2, "x").result() == Status::NOT_MEMBER);
		CPPUNIT_ASSERT(send(*mallory, "", "bad group", 3, "x").result() == Status::RECIPIENT_INVALID);
		CPPUNIT_ASSERT(send(*mallory, "bob", "team", 4, "x").result() == Status::BAD_REQUEST);
		CPPUNIT_ASSERT(send(*mallory, "", "", 5, "x").result() == Status::RECIPIENT_INVALID);
	}

	void testSameOrderForEveryMember()
	{
		// Three members send at once; every member sees the group's
		// messages in one order, the order of their acks' msg_ids.
		makeGroup("team", "\"a\", \"b\", \"c\", \"d\"");
		std::vector<std::unique_ptr<ImgateClient>> senders;
		for (const char* uid: {"a", "b", "c"}) senders.push_back(_pServer->login(uid));
		auto d = _pServer->login("d");
		const int each = 30;
		std::string wire[3];
		for (int s = 0; s < 3; ++s)
		{
			for (int i = 1; i <= each; ++i)
			{
				imgate::v1::MessageSend m;
				m.set_to_group("team");
				m.set_client_msg_id(static_cast<Poco::UInt64>(i));
				m.set_payload(std::to_string(s) + ":" + std::to_string(i));
				protocol::FrameEncoder::append(wire[s], Command::MSG_SEND, Status::OK, senders[s]->nextSeq(), m);
			}
		}
		for (int s = 0; s < 3; ++s) senders[s]->sendRaw(wire[s]);
		// d gets all 90 in msg_id order; each sender gets the other 60 in the same order.
		std::vector<Poco::UInt64> seenByD;
		for (int i = 0; i < 3 * each; ++i)
		{
			imgate::v1::MessageDeliver m = deliver(*d);
			seenByD.push_back(m.msg_id());
			d->ackDeliveries({m.msg_id()});
		}
		for (std::size_t i = 1; i < seenByD.size(); ++i) CPPUNIT_ASSERT(seenByD[i - 1] < seenByD[i]);
		for (int s = 0; s < 3; ++s)
		{
			std::vector<Poco::UInt64> seen;
			for (int i = 0; i < 2 * each; ++i)
			{
				Reply r;
				CPPUNIT_ASSERT(senders[s]->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
				const Poco::UInt64 id = r.parse<imgate::v1::MessageDeliver>().msg_id();
				seen.push_back(id);
				senders[s]->ackDeliveries({id});
			}
			std::vector<Poco::UInt64> expected;
			for (Poco::UInt64 id: seenByD) if (std::find(seen.begin(), seen.end(), id) != seen.end()) expected.push_back(id);
			CPPUNIT_ASSERT(seen == expected);
		}
	}

	void testMembershipChangesApplyToLaterMessages()
	{
		makeGroup("team", "\"alice\", \"bob\"");
		auto alice = _pServer->login("alice");
		CPPUNIT_ASSERT(send(*alice, "", "team", 1, "before").result() == Status::OK);
		Http h = admin("POST", "/v1/groups/team/members", "{\"add\": [\"carol\"], \"remove\": [\"bob\"]}");
		CPPUNIT_ASSERT_EQUAL(200, h.status);
		CPPUNIT_ASSERT(send(*alice, "", "team", 2, "after").result() == Status::OK);
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT_EQUAL(std::string("before"), deliver(*bob).payload());
		CPPUNIT_ASSERT(quiet(*bob, 500));
		auto carol = _pServer->login("carol");
		CPPUNIT_ASSERT_EQUAL(std::string("after"), deliver(*carol).payload());
		CPPUNIT_ASSERT(quiet(*carol, 300));
		// A removed member can no longer send to it.
		CPPUNIT_ASSERT(send(*bob, "", "team", 3, "x").result() == Status::NOT_MEMBER);
	}

	void testTransient()
	{
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		Reply ack = send(*alice, "bob", "", 1, "typing", true);
		CPPUNIT_ASSERT(ack.result() == Status::OK);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(0), static_cast<Poco::UInt64>(ack.parse<imgate::v1::MessageSendAck>().msg_id()));
		imgate::v1::MessageDeliver d = deliver(*bob);
		CPPUNIT_ASSERT(d.transient());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(0), static_cast<Poco::UInt64>(d.msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("typing"), d.payload());
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), d.to_uid());
		// Never retransmitted (an ack is not needed), never stored: an
		// offline recipient never gets it; the client_msg_id is not remembered.
		CPPUNIT_ASSERT(send(*alice, "carol", "", 1, "typing", true).result() == Status::OK);
		CPPUNIT_ASSERT(send(*alice, "carol", "", 1, "typing again", true).result() == Status::OK);
		auto carol = _pServer->login("carol");
		CPPUNIT_ASSERT(quiet(*carol, 500));
		CPPUNIT_ASSERT(quiet(*bob, 1));
		imgate::v1::HistoryRequest all;
		Reply h = history(*bob, all);
		CPPUNIT_ASSERT(h.result() == Status::OK);
		CPPUNIT_ASSERT_EQUAL(0, h.parse<imgate::v1::HistoryResponse>().messages_size());
		// Counted: one transient delivery (bob's), one history page.
		const std::string metrics = admin("GET", "/metrics").body;
		CPPUNIT_ASSERT_MESSAGE(metrics, metrics.find("\nimgate_transient_deliveries_total 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_history_requests_total 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_history_duration_seconds_count 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("\nimgate_history_duration_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
		CPPUNIT_ASSERT(metrics.find("imgate_errors_total{status=\"NOT_MEMBER\"} 0") != std::string::npos);
	}

	void testTransientToGroup()
	{
		makeGroup("team", "\"alice\", \"bob\", \"carol\"");
		auto alice = _pServer->login("alice");
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT(send(*alice, "", "team", 1, "ping", true).result() == Status::OK);
		imgate::v1::MessageDeliver d = deliver(*bob);
		CPPUNIT_ASSERT(d.transient());
		CPPUNIT_ASSERT_EQUAL(std::string("team"), d.group_id());
		CPPUNIT_ASSERT(quiet(*alice, 300));
		auto mallory = _pServer->login("mallory");
		CPPUNIT_ASSERT(send(*mallory, "", "team", 1, "ping", true).result() == Status::NOT_MEMBER);
	}

	void testHistory()
	{
		makeGroup("team", "\"alice\", \"bob\"");
		auto alice = _pServer->login("alice");
		std::vector<Poco::UInt64> ids;
		auto id = [](const Reply& r) { return static_cast<Poco::UInt64>(r.parse<imgate::v1::MessageSendAck>().msg_id()); };
		ids.push_back(id(send(*alice, "bob", "", 1, "to bob 1")));
		ids.push_back(id(send(*alice, "", "team", 2, "to team")));
		ids.push_back(id(send(*alice, "carol", "", 3, "to carol")));
		auto bob = _pServer->login("bob");
		ids.push_back(id(send(*bob, "alice", "", 1, "to alice")));
		// Unfiltered, newest first, sent and received, paged with before_msg_id.
		imgate::v1::HistoryRequest q;
		q.set_limit(2);
		Reply r = history(*alice, q);
		CPPUNIT_ASSERT(r.result() == Status::OK);
		imgate::v1::HistoryResponse page = r.parse<imgate::v1::HistoryResponse>();
		CPPUNIT_ASSERT_EQUAL(2, page.messages_size());
		CPPUNIT_ASSERT_EQUAL(ids[3], static_cast<Poco::UInt64>(page.messages(0).msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), page.messages(0).to_uid());
		CPPUNIT_ASSERT_EQUAL(ids[2], static_cast<Poco::UInt64>(page.messages(1).msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("carol"), page.messages(1).to_uid()); // her own message, with its recipient
		CPPUNIT_ASSERT(page.more());
		q.set_before_msg_id(page.messages(1).msg_id());
		q.set_limit(0); // 50
		page = history(*alice, q).parse<imgate::v1::HistoryResponse>();
		CPPUNIT_ASSERT_EQUAL(2, page.messages_size());
		CPPUNIT_ASSERT_EQUAL(std::string("team"), page.messages(0).group_id());
		CPPUNIT_ASSERT_EQUAL(ids[0], static_cast<Poco::UInt64>(page.messages(1).msg_id()));
		CPPUNIT_ASSERT(!page.more());
		// The conversation with bob, and the group.
		imgate::v1::HistoryRequest withBob;
		withBob.set_with_uid("bob");
		page = history(*alice, withBob).parse<imgate::v1::HistoryResponse>();
		CPPUNIT_ASSERT_EQUAL(2, page.messages_size());
		CPPUNIT_ASSERT_EQUAL(ids[3], static_cast<Poco::UInt64>(page.messages(0).msg_id()));
		CPPUNIT_ASSERT_EQUAL(ids[0], static_cast<Poco::UInt64>(page.messages(1).msg_id()));
		imgate::v1::HistoryRequest team;
		team.set_group_id("team");
		page = history(*bob, team).parse<imgate::v1::HistoryResponse>();
		CPPUNIT_ASSERT_EQUAL(1, page.messages_size());
		CPPUNIT_ASSERT_EQUAL(ids[1], static_cast<Poco::UInt64>(page.messages(0).msg_id()));
		// HISTORY moves no position: bob still gets both pending messages.
		std::set<Poco::UInt64> delivered;
		delivered.insert(deliver(*bob).msg_id());
		delivered.insert(deliver(*bob).msg_id());
		CPPUNIT_ASSERT(delivered == std::set<Poco::UInt64>({ids[0], ids[1]}));
	}

	void testHistoryRules()
	{
		makeGroup("team", "\"alice\"");
		auto mallory = _pServer->login("mallory");
		imgate::v1::HistoryRequest team;
		team.set_group_id("team");
		CPPUNIT_ASSERT(history(*mallory, team).result() == Status::NOT_MEMBER);
		imgate::v1::HistoryRequest both;
		both.set_group_id("team");
		both.set_with_uid("alice");
		CPPUNIT_ASSERT(history(*mallory, both).result() == Status::BAD_REQUEST);
		// At most two HISTORY requests wait for the store at a time: ten in
		// one write get two pages and eight RATE_LIMITED.
		{
			std::string wire;
			std::vector<Poco::UInt32> seqs;
			for (int i = 0; i < 10; ++i)
			{
				seqs.push_back(mallory->nextSeq());
				protocol::FrameEncoder::append(wire, Command::HISTORY, Status::OK, seqs.back(), imgate::v1::HistoryRequest());
			}
			mallory->sendRaw(wire);
			std::map<Status, int> statuses;
			for (Poco::UInt32 seq: seqs)
			{
				Reply r;
				CPPUNIT_ASSERT(mallory->receiveReply(r, Command::HISTORY_RESP, seq, Poco::Timespan(5, 0)));
				++statuses[r.result()];
			}
			CPPUNIT_ASSERT_EQUAL(2, statuses[Status::OK]);
			CPPUNIT_ASSERT_EQUAL(8, statuses[Status::RATE_LIMITED]);
			CPPUNIT_ASSERT(history(*mallory, imgate::v1::HistoryRequest()).result() == Status::OK); // answered ones free their place
		}
		// Before LOGIN: NOT_LOGGED_IN, with HISTORY_RESP.
		auto anonymous = _pServer->connect();
		CPPUNIT_ASSERT(history(*anonymous, imgate::v1::HistoryRequest()).result() == Status::NOT_LOGGED_IN);
		// The page stops before the frame limit (protocol.maxBodySize).
		_pServer.reset(new ServerProcess(ServerProcess::Settings{{"protocol.maxBodySize", "4096"}, {"message.maxPayloadSize", "3000"}}));
		auto alice = _pServer->login("alice");
		for (Poco::UInt64 i = 1; i <= 5; ++i) CPPUNIT_ASSERT(alice->sendMessage("bob", i, std::string(1500, 'x')).result() == Status::OK);
		imgate::v1::HistoryResponse page = history(*alice, imgate::v1::HistoryRequest()).parse<imgate::v1::HistoryResponse>();
		CPPUNIT_ASSERT_EQUAL(2, page.messages_size());
		CPPUNIT_ASSERT(page.more());
	}

	void testCli()
	{
		const std::string admin = std::to_string(_pServer->adminPort());
		const std::string port = std::to_string(_pServer->port());
		auto cli = [&](std::vector<std::string> args, std::string& out)
		{
			return ServerProcess::runProgram(IMGATE_CLI_PATH, args, out, 10000);
		};
		std::string out;
		CPPUNIT_ASSERT_EQUAL(0, cli({"admin", "--admin-port", admin, "group", "create", "team", "bob", "alice"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("group team: 2 members\nalice\nbob\n"), out);
		CPPUNIT_ASSERT_EQUAL(0, cli({"admin", "--admin-port", admin, "group", "add", "team", "carol"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("group team: 3 members\nalice\nbob\ncarol\n"), out);
		CPPUNIT_ASSERT_EQUAL(0, cli({"admin", "--admin-port", admin, "group", "remove", "team", "carol"}, out));
		CPPUNIT_ASSERT_EQUAL(0, cli({"admin", "--admin-port", admin, "group", "show", "team"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("group team: 2 members\nalice\nbob\n"), out);
		CPPUNIT_ASSERT_EQUAL(0, cli({"admin", "--admin-port", admin, "group", "list", "--prefix", "te"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("team\n1 groups\n"), out);
		CPPUNIT_ASSERT_EQUAL(1, cli({"admin", "--admin-port", admin, "group", "show", "nope"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("404") != std::string::npos);
		// A group message, a transient one, and history.
		auto bob = _pServer->login("bob");
		CPPUNIT_ASSERT_EQUAL(0, cli({"--port", port, "--uid", "alice", "send", "--group", "team", "hello team"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("sent msg_id=") == 0 && out.find(" group=team\n") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(std::string("team"), deliver(*bob).group_id());
		CPPUNIT_ASSERT_EQUAL(0, cli({"--port", port, "--uid", "alice", "send", "--transient", "bob", "typing"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("sent transient to=bob\n"), out);
		CPPUNIT_ASSERT(deliver(*bob).transient());
		CPPUNIT_ASSERT_EQUAL(1, cli({"--port", port, "--uid", "mallory", "send", "--group", "team", "x"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find("NOT_MEMBER") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(0, cli({"--port", port, "--uid", "bob", "history", "--group", "team", "--limit", "5"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find(" from=alice group=team: hello team\n") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(2, cli({"--port", port, "--uid", "bob", "history", "--group", "team", "--with", "alice"}, out));
		// listen: a 1:1 message as in protocol 1.0 ("from=UID: TEXT"), a group one with its group.
		CPPUNIT_ASSERT_EQUAL(0, cli({"--port", port, "--uid", "alice", "send", "carol", "hi carol"}, out));
		CPPUNIT_ASSERT_EQUAL(0, cli({"--port", port, "--uid", "carol", "listen", "--count", "1", "--seconds", "5"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find(" from=alice: hi carol\n") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(0, cli({"--port", port, "--uid", "alice", "history", "--with", "carol"}, out));
		CPPUNIT_ASSERT_MESSAGE(out, out.find(" from=alice to=carol: hi carol\n") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(0, cli({"admin", "--admin-port", admin, "group", "delete", "team"}, out));
		CPPUNIT_ASSERT_EQUAL(std::string("deleted group team\n"), out);
	}

private:
	std::string _dir;
	ServerProcess::Settings _settings;
	std::unique_ptr<ServerProcess> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(GroupsTest);
