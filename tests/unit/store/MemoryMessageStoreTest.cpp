//
// MemoryMessageStoreTest.cpp
//

#include "server/store/MemoryMessageStore.h"
#include <cppunit/extensions/HelperMacros.h>
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace imgate::store;

class MemoryMessageStoreTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(MemoryMessageStoreTest);
	CPPUNIT_TEST(testAppendAndPendingInOrder);
	CPPUNIT_TEST(testPaging);
	CPPUNIT_TEST(testAcknowledge);
	CPPUNIT_TEST(testAcknowledgeOnlyOwnMessages);
	CPPUNIT_TEST(testIdempotentResend);
	CPPUNIT_TEST(testSameClientIdFromOtherSenderIsNew);
	CPPUNIT_TEST(testRecipientLimit);
	CPPUNIT_TEST(testByteLimit);
	CPPUNIT_TEST(testIdsIncreaseAcrossRecipients);
	CPPUNIT_TEST(testIdempotencyMemoryIsBounded);
	CPPUNIT_TEST(testIdsIncreaseAcrossRestarts);
	CPPUNIT_TEST(testShardedIdempotencyIsBounded);
	CPPUNIT_TEST(testConcurrentAppendsAcrossShards);
	CPPUNIT_TEST(testPayloadStoredOnce);
	CPPUNIT_TEST(testEachDeviceHasItsPosition);
	CPPUNIT_TEST(testAcknowledgedAboveIsPerDevice);
	CPPUNIT_TEST(testKnownDeviceStaysKnownWhenInboxEmpties);
	CPPUNIT_TEST(testOpenDevice);
	CPPUNIT_TEST(testGapsAreTrimmed);
	CPPUNIT_TEST(testCarbons);
	CPPUNIT_TEST(testNoSentRowsWithoutRecordSent);
	CPPUNIT_TEST(testIdempotencyPerDevice);
	CPPUNIT_TEST(testGroupChanges);
	CPPUNIT_TEST(testListGroups);
	CPPUNIT_TEST(testGroupAppend);
	CPPUNIT_TEST(testNotMember);
	CPPUNIT_TEST(testMembershipAppliesToLaterMessages);
	CPPUNIT_TEST(testGroupMessageNotRefusedForFullMember);
	CPPUNIT_TEST(testGroupOrderUnderConcurrentSenders);
	CPPUNIT_TEST(testHistoryPaging);
	CPPUNIT_TEST(testHistoryConversationFilter);
	CPPUNIT_TEST(testHistoryGroupFilter);
	CPPUNIT_TEST(testHistorySince);
	CPPUNIT_TEST(testHistoryByteBound);
	CPPUNIT_TEST(testHistoryRetention);
	CPPUNIT_TEST(testHistoryPrunedByAppends);
	CPPUNIT_TEST(testRetentionExpiresUnacknowledged);
	CPPUNIT_TEST(testHistoryGivesWayToNewMessages);
	CPPUNIT_TEST(testFullStoreReclaimsExpiredHistory);
	CPPUNIT_TEST(testGroupsCountAgainstByteLimit);
	CPPUNIT_TEST_SUITE_END();

public:
	static AppendResult append(MessageStore& store, const std::string& from, const std::string& to, Poco::UInt64 clientId, const std::string& payload)
	{
		NewMessage m;
		m.fromUid = from;
		m.toUid = to;
		m.clientMsgId = clientId;
		m.payload = payload;
		m.timestampMs = 1000 + static_cast<Poco::Int64>(clientId);
		AppendResult result;
		int calls = 0;
		store.append(std::move(m), [&](const AppendResult& r) { result = r; ++calls; });
		CPPUNIT_ASSERT_EQUAL(1, calls);
		return result;
	}

	void testAppendAndPendingInOrder()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		for (Poco::UInt64 i = 1; i <= 5; ++i)
		{
			AppendResult r = append(store, "alice", "bob", i, "m" + std::to_string(i));
			CPPUNIT_ASSERT(r.outcome == AppendResult::STORED);
			CPPUNIT_ASSERT_EQUAL(i, r.msgId);
		}
		auto pending = store.pending("bob", 0, 100);
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), pending.size());
		for (std::size_t i = 0; i < 5; ++i)
		{
			CPPUNIT_ASSERT_EQUAL(Poco::UInt64(i + 1), pending[i].msgId);
			CPPUNIT_ASSERT_EQUAL("m" + std::to_string(i + 1), pending[i].payload);
			CPPUNIT_ASSERT_EQUAL(std::string("alice"), pending[i].fromUid);
		}
		CPPUNIT_ASSERT(store.pending("alice", 0, 100).empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), store.pendingCount("bob"));
	}

	void testPaging()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		for (Poco::UInt64 i = 1; i <= 10; ++i) append(store, "a", "b", i, "x");
		auto page1 = store.pending("b", 0, 4);
		CPPUNIT_ASSERT_EQUAL(std::size_t(4), page1.size());
		auto page2 = store.pending("b", page1.back().msgId, 4);
		CPPUNIT_ASSERT_EQUAL(std::size_t(4), page2.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(5), page2.front().msgId);
		auto page3 = store.pending("b", page2.back().msgId, 4);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), page3.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(10), page3.back().msgId);
	}

	void testAcknowledge()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		for (Poco::UInt64 i = 1; i <= 3; ++i) append(store, "a", "b", i, "x");
		// Position 1, and 3 above it (99 is no message of b's).
		store.acknowledge("b", "", 1, {1, 3, 99});
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("b"));
		auto pending = store.pending("b", 0, 10);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), pending.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(2), pending[0].msgId);
		store.acknowledge("b", "", 3, {2});
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("b"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.bytes());
	}

	void testAcknowledgeOnlyOwnMessages()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		AppendResult r = append(store, "a", "bob", 1, "for bob");
		store.acknowledge("mallory", "", r.msgId, {r.msgId});
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("bob"));
	}

	void testIdempotentResend()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		AppendResult first = append(store, "alice", "bob", 42, "hello");
		AppendResult again = append(store, "alice", "bob", 42, "hello");
		CPPUNIT_ASSERT(again.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(first.msgId, again.msgId);
		CPPUNIT_ASSERT_EQUAL(first.timestampMs, again.timestampMs);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("bob"));
		// Still a duplicate after delivery was acknowledged.
		store.acknowledge("bob", "", first.msgId, {first.msgId});
		CPPUNIT_ASSERT(append(store, "alice", "bob", 42, "hello").outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("bob"));
	}

	void testSameClientIdFromOtherSenderIsNew()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		AppendResult a = append(store, "alice", "bob", 7, "x");
		AppendResult c = append(store, "carol", "bob", 7, "y");
		CPPUNIT_ASSERT(c.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(a.msgId != c.msgId);
	}

	void testRecipientLimit()
	{
		MemoryMessageStore::Limits limits;
		limits.maxPendingPerRecipient = 3;
		MemoryMessageStore store(limits, 1);
		for (Poco::UInt64 i = 1; i <= 3; ++i) CPPUNIT_ASSERT(append(store, "a", "b", i, "x").outcome == AppendResult::STORED);
		AppendResult full = append(store, "a", "b", 4, "x");
		CPPUNIT_ASSERT(full.outcome == AppendResult::RECIPIENT_FULL);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), store.pendingCount("b"));
		// A refused send is not remembered: the resend after space frees up is stored.
		store.acknowledge("b", "", 1, {1});
		CPPUNIT_ASSERT(append(store, "a", "b", 4, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(append(store, "a", "other", 5, "x").outcome == AppendResult::STORED);
	}

	void testByteLimit()
	{
		MemoryMessageStore::Limits limits;
		limits.maxBytes = 4096;
		MemoryMessageStore store(limits, 1);
		CPPUNIT_ASSERT(append(store, "a", "b", 1, std::string(2000, 'x')).outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(append(store, "a", "c", 2, std::string(3000, 'x')).outcome == AppendResult::STORE_FULL);
		CPPUNIT_ASSERT(store.bytes() <= limits.maxBytes);
		store.acknowledge("b", "", 1, {1});
		CPPUNIT_ASSERT(append(store, "a", "c", 2, std::string(3000, 'x')).outcome == AppendResult::STORED);
	}

	void testIdempotencyMemoryIsBounded()
	{
		MemoryMessageStore::Limits limits;
		limits.idempotencyEntries = 100;
		limits.shards = 1; // exact: one FIFO
		MemoryMessageStore store(limits, 1);
		for (Poco::UInt64 i = 1; i <= 500; ++i)
		{
			// A new sender uid for every message, each acknowledged at once.
			AppendResult r = append(store, "sender" + std::to_string(i), "b", i, "x");
			store.acknowledge("b", "", r.msgId, {r.msgId});
		}
		CPPUNIT_ASSERT_EQUAL(std::size_t(100), store.idempotencyEntries());
		// The newest are still remembered, the oldest forgotten.
		CPPUNIT_ASSERT(append(store, "sender500", "b", 500, "x").outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT(append(store, "sender1", "b", 1, "x").outcome == AppendResult::STORED);
	}

	void testIdsIncreaseAcrossRestarts()
	{
		// A process started at T issues 1000 ids; one restarted a millisecond
		// later starts above all of them.
		Poco::Timestamp t0;
		Poco::Timestamp t1 = t0 + 1000;
		Poco::UInt64 last = 0;
		{
			MemoryMessageStore first(MemoryMessageStore::Limits(), MemoryMessageStore::initialMsgId(t0));
			for (Poco::UInt64 i = 1; i <= 1000; ++i) last = append(first, "a", "b", i, "x").msgId;
		}
		MemoryMessageStore restarted(MemoryMessageStore::Limits(), MemoryMessageStore::initialMsgId(t1));
		CPPUNIT_ASSERT(append(restarted, "a", "b", 1, "x").msgId > last);
		CPPUNIT_ASSERT(MemoryMessageStore::initialMsgId(t1) > MemoryMessageStore::initialMsgId(t0));
		CPPUNIT_ASSERT(MemoryMessageStore::initialMsgId() < (Poco::UInt64(1) << 53));
		// The default store starts there too.
		MemoryMessageStore byDefault{MemoryMessageStore::Limits()};
		CPPUNIT_ASSERT(append(byDefault, "a", "b", 1, "x").msgId >= MemoryMessageStore::initialMsgId(t0));
	}

	void testShardedIdempotencyIsBounded()
	{
		// Each of 4 shards keeps its newest 25.
		MemoryMessageStore::Limits limits;
		limits.idempotencyEntries = 100;
		limits.shards = 4;
		MemoryMessageStore store(limits, 1);
		for (Poco::UInt64 i = 1; i <= 1000; ++i)
		{
			AppendResult r = append(store, "sender" + std::to_string(i), "b", i, "x");
			store.acknowledge("b", "", r.msgId, {r.msgId});
		}
		CPPUNIT_ASSERT(store.idempotencyEntries() <= 100);
		CPPUNIT_ASSERT(store.idempotencyEntries() >= 100 - 3);
		CPPUNIT_ASSERT(append(store, "sender1000", "b", 1000, "x").outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT(append(store, "sender1", "b", 1, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("b"));
	}

	void testConcurrentAppendsAcrossShards()
	{
		// Two threads send the same 2,000 (sender, client_msg_id) pairs to
		// recipients all over the shards: each pair is stored exactly once,
		// both threads see the same msgId for it, and every recipient's
		// pending messages come back in increasing msgId order.
		MemoryMessageStore::Limits limits;
		limits.shards = 8;
		MemoryMessageStore store(limits, 1);
		const int n = 2000;
		std::vector<AppendResult> results[2];
		auto work = [&](int t)
		{
			for (int i = 0; i < n; ++i)
			{
				NewMessage m;
				m.fromUid = "s" + std::to_string(i % 37);
				m.toUid = "r" + std::to_string(i % 53);
				m.clientMsgId = static_cast<Poco::UInt64>(i);
				m.payload = "p";
				store.append(std::move(m), [&, t](const AppendResult& r) { results[t].push_back(r); });
			}
		};
		std::thread other(work, 1);
		work(0);
		other.join();
		std::size_t stored = 0;
		for (int i = 0; i < n; ++i)
		{
			const AppendResult& a = results[0][static_cast<std::size_t>(i)];
			const AppendResult& b = results[1][static_cast<std::size_t>(i)];
			CPPUNIT_ASSERT_EQUAL(a.msgId, b.msgId);
			stored += (a.outcome == AppendResult::STORED) + (b.outcome == AppendResult::STORED);
			CPPUNIT_ASSERT((a.outcome == AppendResult::STORED) != (b.outcome == AppendResult::STORED));
		}
		CPPUNIT_ASSERT_EQUAL(std::size_t(n), stored);
		std::size_t pending = 0;
		for (int r = 0; r < 53; ++r)
		{
			auto page = store.pending("r" + std::to_string(r), 0, 10000);
			for (std::size_t i = 1; i < page.size(); ++i) CPPUNIT_ASSERT(page[i - 1].msgId < page[i].msgId);
			pending += page.size();
		}
		CPPUNIT_ASSERT_EQUAL(std::size_t(n), pending);
	}

	void testIdsIncreaseAcrossRecipients()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		Poco::UInt64 last = 0;
		for (Poco::UInt64 i = 1; i <= 20; ++i)
		{
			AppendResult r = append(store, "a", i % 2 ? "b" : "c", i, "x");
			CPPUNIT_ASSERT(r.msgId > last);
			last = r.msgId;
		}
	}

	// Protocol 1.1: devices, carbons, groups, history, retention.

	static MemoryMessageStore::Limits withHistory(unsigned seconds = 600)
	{
		MemoryMessageStore::Limits limits;
		limits.historyRetention = seconds;
		limits.recordSent = true;
		return limits;
	}

	static NewMessage message(const std::string& from, const std::string& fromDevice, const std::string& to, Poco::UInt64 clientId,
		const std::string& payload, Poco::Int64 timestampMs = 1000)
	{
		NewMessage m;
		m.fromUid = from;
		m.fromDevice = fromDevice;
		m.toUid = to;
		m.clientMsgId = clientId;
		m.payload = payload;
		m.timestampMs = timestampMs;
		return m;
	}

	static NewMessage toGroup(const std::string& from, const std::string& fromDevice, const std::string& gid, Poco::UInt64 clientId,
		const std::string& payload, Poco::Int64 timestampMs = 1000)
	{
		NewMessage m = message(from, fromDevice, "", clientId, payload, timestampMs);
		m.toGroup = gid;
		return m;
	}

	static AppendResult send(MessageStore& store, NewMessage m)
	{
		AppendResult result;
		int calls = 0;
		store.append(std::move(m), [&](const AppendResult& r) { result = r; ++calls; });
		CPPUNIT_ASSERT_EQUAL(1, calls);
		return result;
	}

	static std::vector<StoredMessage> read(MessageStore& store, const std::string& uid, const std::string& device, bool carbons,
		Poco::UInt64 after = 0, std::size_t limit = 100000)
	{
		InboxReader reader;
		reader.uid = uid;
		reader.device = device;
		reader.carbons = carbons;
		PendingPage page;
		int calls = 0;
		store.readPending(reader, after, limit, [&](PendingPage&& p) { page = std::move(p); ++calls; });
		CPPUNIT_ASSERT_EQUAL(1, calls);
		CPPUNIT_ASSERT(page.ok);
		return std::move(page.messages);
	}

	static HistoryQuery query(const std::string& uid, std::size_t limit = 100000)
	{
		HistoryQuery q;
		q.uid = uid;
		q.limit = limit;
		return q;
	}

	static HistoryPage history(MessageStore& store, const HistoryQuery& q)
	{
		HistoryPage page;
		int calls = 0;
		store.readHistory(q, [&](HistoryPage&& p) { page = std::move(p); ++calls; });
		CPPUNIT_ASSERT_EQUAL(1, calls);
		CPPUNIT_ASSERT(page.ok);
		return page;
	}

	static GroupResult change(MessageStore& store, const GroupChange& c)
	{
		GroupResult result;
		int calls = 0;
		store.changeGroup(c, [&](const GroupResult& r) { result = r; ++calls; });
		CPPUNIT_ASSERT_EQUAL(1, calls);
		return result;
	}

	static GroupResult put(MessageStore& store, const std::string& gid, const std::vector<std::string>& members,
		std::size_t maxMembers = 1000, Poco::Int64 nowMs = 1)
	{
		GroupChange c;
		c.kind = GroupChange::PUT;
		c.gid = gid;
		c.members = members;
		c.maxMembers = maxMembers;
		c.nowMs = nowMs;
		return change(store, c);
	}

	static GroupResult modify(MessageStore& store, const std::string& gid, const std::vector<std::string>& add,
		const std::vector<std::string>& remove, std::size_t maxMembers = 1000)
	{
		GroupChange c;
		c.kind = GroupChange::MODIFY;
		c.gid = gid;
		c.add = add;
		c.remove = remove;
		c.maxMembers = maxMembers;
		return change(store, c);
	}

	static GroupResult removeGroup(MessageStore& store, const std::string& gid)
	{
		GroupChange c;
		c.kind = GroupChange::REMOVE;
		c.gid = gid;
		return change(store, c);
	}

	static std::vector<Poco::UInt64> ids(const std::vector<StoredMessage>& messages)
	{
		std::vector<Poco::UInt64> result;
		for (const StoredMessage& m: messages) result.push_back(m.msgId);
		return result;
	}

	using Ids = std::vector<Poco::UInt64>;

	void testPayloadStoredOnce()
	{
		// A group message to 200 members and its sender's copy: the
		// payload is kept once, whatever the number of rows.
		MemoryMessageStore store(withHistory(), 1);
		std::vector<std::string> members;
		for (int i = 0; i < 200; ++i) members.push_back("member" + std::to_string(i));
		CPPUNIT_ASSERT(put(store, "g", members).outcome == GroupResult::OK);
		const std::size_t before = store.bytes();
		const std::string payload(65536, 'p');
		CPPUNIT_ASSERT(send(store, toGroup("member0", "", "g", 1, payload)).outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(store.bytes() - before > payload.size());
		CPPUNIT_ASSERT(store.bytes() - before < 2 * payload.size());
		CPPUNIT_ASSERT_EQUAL(payload, read(store, "member199", "", false).at(0).payload);
	}

	void testEachDeviceHasItsPosition()
	{
		// As SqliteMessageStoreTest::testNewDeviceStartsAtTheHighestPosition
		// (with history: without, the phone's first acknowledgement would
		// drop what it acknowledged before the laptop was known).
		MemoryMessageStore store(withHistory(), 1);
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 4; ++i) sent.push_back(append(store, "a", "b", i, "x").msgId);
		// A first device ever gets everything.
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == sent);
		store.acknowledge("b", "phone", sent[1], {sent[0], sent[1]});
		store.acknowledge("b", "laptop", sent[0], {sent[0]});
		// Each device reads from its own position...
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == Ids({sent[2], sent[3]}));
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({sent[1], sent[2], sent[3]}));
		// ... and above afterMsgId; a new one from the highest of them.
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false, sent[2])) == Ids({sent[3]}));
		CPPUNIT_ASSERT(ids(read(store, "b", "tablet", false)) == Ids({sent[2], sent[3]}));
		// Pending: what no device has acknowledged.
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.pendingCount("b"));
		store.acknowledge("b", "laptop", sent[2], {});
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("b"));
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({sent[3]}));
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == Ids({sent[2], sent[3]}));
		// A position never moves back.
		store.acknowledge("b", "phone", sent[3], {});
		store.acknowledge("b", "phone", sent[0], {});
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("b"));
		CPPUNIT_ASSERT(read(store, "b", "phone", false).empty());
		CPPUNIT_ASSERT(read(store, "b", "tablet", false).empty());
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({sent[3]}));
	}

	void testAcknowledgedAboveIsPerDevice()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 3; ++i) sent.push_back(append(store, "a", "b", i, "x").msgId);
		store.acknowledge("b", "laptop", 0, {});
		store.acknowledge("b", "phone", sent[0], {sent[2]});
		// The phone's acknowledgement above its position hides that
		// message from the phone only.
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == Ids({sent[1]}));
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == sent);
		// Pending: acknowledged by no device, by position or by id.
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("b"));
		store.acknowledge("b", "laptop", 0, {sent[1]});
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("b"));
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == Ids({sent[1]}));
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({sent[0], sent[2]}));
		store.acknowledge("b", "laptop", sent[2], {});
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == Ids({sent[1]}));
		CPPUNIT_ASSERT(read(store, "b", "laptop", false).empty());
		store.acknowledge("b", "phone", sent[1], {});
		CPPUNIT_ASSERT(read(store, "b", "phone", false).empty());
		// Without history, acknowledged by both: gone.
		CPPUNIT_ASSERT(history(store, query("b")).messages.empty());
	}

	void testKnownDeviceStaysKnownWhenInboxEmpties()
	{
		// Without history both devices' acknowledgements empty the inbox;
		// the laptop must still read from its own position afterwards, not
		// start as a new device at the phone's (it would miss m2).
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		const Poco::UInt64 m1 = append(store, "a", "b", 1, "x").msgId;
		store.acknowledge("b", "phone", m1, {});
		store.acknowledge("b", "laptop", m1, {});
		CPPUNIT_ASSERT(read(store, "b", "laptop", false).empty());
		CPPUNIT_ASSERT(history(store, query("b")).messages.empty());
		const Poco::UInt64 m2 = append(store, "a", "b", 2, "x").msgId;
		store.acknowledge("b", "phone", m2, {});
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({m2}));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("b"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), history(store, query("b")).messages.size());
	}

	void testOpenDevice()
	{
		MemoryMessageStore::Limits limits;
		limits.maxPendingPerRecipient = 2;
		MemoryMessageStore store(limits, 1);
		// Two devices log in before b has any message: both are known.
		store.openDevice("b", "phone");
		store.openDevice("b", "laptop");
		const Poco::UInt64 m1 = append(store, "a", "b", 1, "x").msgId;
		store.acknowledge("b", "phone", m1, {});
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({m1}));
		// A device that logs in now starts after what the others acknowledged
		// before, not after what they acknowledge later.
		const Poco::UInt64 m2 = append(store, "a", "b", 2, "x").msgId;
		store.openDevice("b", "tablet");
		store.openDevice("b", "tablet"); // a second login changes nothing
		store.acknowledge("b", "phone", m2, {});
		CPPUNIT_ASSERT(ids(read(store, "b", "tablet", false)) == Ids({m2}));
		CPPUNIT_ASSERT(read(store, "b", "watch", false).empty());
		// A device that never comes back (the laptop) does not make b full.
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("b"));
		for (Poco::UInt64 i = 3; i <= 4; ++i)
		{
			const Poco::UInt64 id = append(store, "a", "b", i, "x").msgId;
			store.acknowledge("b", "phone", id, {});
		}
		CPPUNIT_ASSERT(append(store, "a", "b", 5, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), read(store, "b", "laptop", false).size());
		// Under devicePolicy single, a uid with nothing stored keeps nothing.
		const std::size_t bytes = store.bytes();
		store.openDevice("nobody", "");
		CPPUNIT_ASSERT_EQUAL(bytes, store.bytes());
	}

	void testGapsAreTrimmed()
	{
		// Without history, messages both devices acknowledged by id go at
		// once, even between ones still waiting; once the positions pass
		// the rest, every byte of the messages is given back.
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		store.openDevice("b", "phone");
		store.openDevice("b", "laptop");
		const std::size_t devices = store.bytes();
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 10; ++i) sent.push_back(append(store, "a", "b", i, std::string(100, 'x')).msgId);
		const std::size_t full = store.bytes();
		const Ids middle(sent.begin() + 2, sent.begin() + 7);
		store.acknowledge("b", "phone", 0, middle);
		// Nothing goes yet (the phone's acknowledgements even take room).
		CPPUNIT_ASSERT(store.bytes() > full);
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == sent);
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), store.pendingCount("b"));
		store.acknowledge("b", "laptop", 0, middle);
		CPPUNIT_ASSERT(store.bytes() < full);
		const Ids rest({sent[0], sent[1], sent[7], sent[8], sent[9]});
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false)) == rest);
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == rest);
		CPPUNIT_ASSERT(ids(history(store, query("b")).messages) == Ids({sent[9], sent[8], sent[7], sent[1], sent[0]}));
		HistoryQuery before = query("b");
		before.beforeMsgId = sent[6];
		CPPUNIT_ASSERT(ids(history(store, before).messages) == Ids({sent[1], sent[0]}));
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), store.pendingCount("b"));
		// A new message after the gaps.
		const Poco::UInt64 last = append(store, "a", "b", 11, "x").msgId;
		CPPUNIT_ASSERT(ids(read(store, "b", "phone", false, sent[1])) == Ids({sent[7], sent[8], sent[9], last}));
		store.acknowledge("b", "phone", last, {});
		store.acknowledge("b", "laptop", sent[8], {});
		CPPUNIT_ASSERT(ids(read(store, "b", "laptop", false)) == Ids({sent[9], last}));
		store.acknowledge("b", "laptop", last, {});
		CPPUNIT_ASSERT(history(store, query("b")).messages.empty());
		CPPUNIT_ASSERT_EQUAL(devices, store.bytes());
	}

	void testCarbons()
	{
		MemoryMessageStore store(withHistory(), 1);
		const Poco::UInt64 c1 = send(store, message("alice", "phone", "bob", 1, "from the phone")).msgId;
		const Poco::UInt64 c2 = send(store, message("alice", "laptop", "bob", 1, "from the laptop")).msgId;
		const Poco::UInt64 c3 = send(store, message("bob", "", "alice", 1, "to alice")).msgId;
		const Poco::UInt64 c4 = send(store, message("alice", "phone", "alice", 2, "note to self")).msgId;
		// With carbons: what the uid sent from other devices, never from this one.
		std::vector<StoredMessage> laptop = read(store, "alice", "laptop", true);
		CPPUNIT_ASSERT(ids(laptop) == Ids({c1, c3, c4}));
		CPPUNIT_ASSERT(laptop[0].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), laptop[0].toUid);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), laptop[0].fromUid);
		CPPUNIT_ASSERT_EQUAL(std::string("phone"), laptop[0].fromDevice);
		CPPUNIT_ASSERT_EQUAL(std::string("from the phone"), laptop[0].payload);
		CPPUNIT_ASSERT(!laptop[1].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), laptop[1].toUid);
		// A 1:1 message to one's own uid is received, even by the device that sent it.
		CPPUNIT_ASSERT(!laptop[2].sent);
		CPPUNIT_ASSERT(ids(read(store, "alice", "phone", true)) == Ids({c2, c3, c4}));
		// Without carbons: only what it received.
		CPPUNIT_ASSERT(ids(read(store, "alice", "tablet", false)) == Ids({c3, c4}));
		CPPUNIT_ASSERT(ids(read(store, "bob", "", false)) == Ids({c1, c2}));
		CPPUNIT_ASSERT(ids(read(store, "bob", "", true)) == Ids({c1, c2})); // c3 came from bob's device ""
		CPPUNIT_ASSERT(ids(read(store, "bob", "tablet", true)) == Ids({c1, c2, c3}));
		// Sent rows are nobody's pending messages.
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.pendingCount("alice"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.pendingCount("bob"));
		// A carbon acknowledged by the laptop is left out of its next read only.
		store.acknowledge("alice", "laptop", c1, {c4});
		CPPUNIT_ASSERT(ids(read(store, "alice", "laptop", true)) == Ids({c3}));
		CPPUNIT_ASSERT(ids(read(store, "alice", "phone", true)) == Ids({c2, c3, c4}));
	}

	void testNoSentRowsWithoutRecordSent()
	{
		// Protocol 1.0's cost: no row for the sender, so no carbons and no
		// history of what one sent.
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		send(store, message("alice", "phone", "bob", 1, "x"));
		CPPUNIT_ASSERT(read(store, "alice", "laptop", true).empty());
		CPPUNIT_ASSERT(history(store, query("alice")).messages.empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), history(store, query("bob")).messages.size());
	}

	void testIdempotencyPerDevice()
	{
		// Two devices choose their client_msg_ids independently.
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		AppendResult phone = send(store, message("alice", "phone", "bob", 7, "x"));
		AppendResult laptop = send(store, message("alice", "laptop", "bob", 7, "y"));
		CPPUNIT_ASSERT(phone.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(laptop.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(phone.msgId != laptop.msgId);
		AppendResult again = send(store, message("alice", "phone", "bob", 7, "x"));
		CPPUNIT_ASSERT(again.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(phone.msgId, again.msgId);
		// A group message's resend too, even once the sender has left the group.
		CPPUNIT_ASSERT(put(store, "g", {"alice", "bob"}).outcome == GroupResult::OK);
		AppendResult first = send(store, toGroup("alice", "phone", "g", 8, "x"));
		CPPUNIT_ASSERT(first.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(modify(store, "g", {}, {"alice"}).outcome == GroupResult::OK);
		AppendResult resent = send(store, toGroup("alice", "phone", "g", 8, "x"));
		CPPUNIT_ASSERT(resent.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(first.msgId, resent.msgId);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), store.pendingCount("bob"));
	}

	void testGroupChanges()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		GroupResult created = put(store, "g", {"carol", "alice", "bob", "alice"}, 1000, 5);
		CPPUNIT_ASSERT(created.outcome == GroupResult::OK);
		CPPUNIT_ASSERT_EQUAL(std::string("g"), created.group.gid);
		CPPUNIT_ASSERT(created.group.members == std::vector<std::string>({"alice", "bob", "carol"}));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(5), created.group.createdMs);
		// PUT replaces the members and keeps the created time.
		GroupResult replaced = put(store, "g", {"dave", "alice"}, 1000, 9);
		CPPUNIT_ASSERT(replaced.group.members == std::vector<std::string>({"alice", "dave"}));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(5), replaced.group.createdMs);
		// MODIFY adds, then removes.
		GroupResult modified = modify(store, "g", {"erin", "bob", "alice", "frank"}, {"dave", "xavier", "frank"});
		CPPUNIT_ASSERT(modified.outcome == GroupResult::OK);
		CPPUNIT_ASSERT(modified.group.members == std::vector<std::string>({"alice", "bob", "erin"}));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(5), modified.group.createdMs);
		Group found;
		CPPUNIT_ASSERT(store.findGroup("g", found));
		CPPUNIT_ASSERT(found.members == modified.group.members);
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(5), found.createdMs);
		CPPUNIT_ASSERT(!store.findGroup("h", found));
		// Unknown groups.
		CPPUNIT_ASSERT(modify(store, "h", {"alice"}, {}).outcome == GroupResult::NOT_FOUND);
		CPPUNIT_ASSERT(removeGroup(store, "h").outcome == GroupResult::NOT_FOUND);
		CPPUNIT_ASSERT(!store.findGroup("h", found));
		// Too many members changes nothing (duplicates count once).
		CPPUNIT_ASSERT(put(store, "g", {"a", "b", "c", "a"}, 3).outcome == GroupResult::OK);
		CPPUNIT_ASSERT(put(store, "g", {"a", "b", "c", "d"}, 3).outcome == GroupResult::TOO_MANY_MEMBERS);
		CPPUNIT_ASSERT(modify(store, "g", {"d"}, {}, 3).outcome == GroupResult::TOO_MANY_MEMBERS);
		CPPUNIT_ASSERT(modify(store, "g", {"d"}, {"a"}, 3).outcome == GroupResult::OK);
		CPPUNIT_ASSERT(put(store, "h", {"a", "b"}, 1).outcome == GroupResult::TOO_MANY_MEMBERS);
		CPPUNIT_ASSERT(!store.findGroup("h", found));
		CPPUNIT_ASSERT(store.findGroup("g", found));
		CPPUNIT_ASSERT(found.members == std::vector<std::string>({"b", "c", "d"}));
		// REMOVE: gone, and its messages refused.
		GroupResult removed = removeGroup(store, "g");
		CPPUNIT_ASSERT(removed.outcome == GroupResult::OK);
		CPPUNIT_ASSERT(removed.group.members.empty());
		CPPUNIT_ASSERT(!store.findGroup("g", found));
		CPPUNIT_ASSERT(send(store, toGroup("b", "", "g", 1, "x")).outcome == AppendResult::NOT_MEMBER);
		// Created again: a new group, with a new created time.
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(11), put(store, "g", {"b", "c"}, 1000, 11).group.createdMs);
		CPPUNIT_ASSERT(send(store, toGroup("b", "", "g", 1, "x")).outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("c"));
	}

	void testListGroups()
	{
		MemoryMessageStore store(MemoryMessageStore::Limits(), 1);
		for (const char* gid: {"team-2", "other", "team-1", "team-3", "tea"}) put(store, gid, {"a"});
		bool truncated = false;
		CPPUNIT_ASSERT(store.listGroups("team-", 2, truncated) == std::vector<std::string>({"team-1", "team-2"}));
		CPPUNIT_ASSERT(truncated);
		CPPUNIT_ASSERT(store.listGroups("team-", 3, truncated) == std::vector<std::string>({"team-1", "team-2", "team-3"}));
		CPPUNIT_ASSERT(!truncated);
		CPPUNIT_ASSERT(store.listGroups("", 10, truncated) == std::vector<std::string>({"other", "tea", "team-1", "team-2", "team-3"}));
		CPPUNIT_ASSERT(!truncated);
		CPPUNIT_ASSERT(store.listGroups("zzz", 10, truncated).empty());
		CPPUNIT_ASSERT(!truncated);
		CPPUNIT_ASSERT(store.listGroups("t", 0, truncated).empty());
		CPPUNIT_ASSERT(truncated);
		removeGroup(store, "team-2");
		CPPUNIT_ASSERT(store.listGroups("team-", 2, truncated) == std::vector<std::string>({"team-1", "team-3"}));
		CPPUNIT_ASSERT(!truncated);
	}

	void testGroupAppend()
	{
		MemoryMessageStore store(withHistory(), 1);
		CPPUNIT_ASSERT(put(store, "g", {"carol", "bob", "alice"}).outcome == GroupResult::OK);
		AppendResult r = send(store, toGroup("alice", "phone", "g", 1, "hello group"));
		CPPUNIT_ASSERT(r.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(r.members == std::vector<std::string>({"alice", "bob", "carol"}));
		// One msgId for every member.
		for (const char* uid: {"bob", "carol"})
		{
			std::vector<StoredMessage> got = read(store, uid, "", false);
			CPPUNIT_ASSERT_EQUAL(std::size_t(1), got.size());
			CPPUNIT_ASSERT_EQUAL(r.msgId, got[0].msgId);
			CPPUNIT_ASSERT_EQUAL(std::string("g"), got[0].groupId);
			CPPUNIT_ASSERT_EQUAL(std::string(), got[0].toUid);
			CPPUNIT_ASSERT_EQUAL(std::string("alice"), got[0].fromUid);
			CPPUNIT_ASSERT_EQUAL(std::string("hello group"), got[0].payload);
			CPPUNIT_ASSERT(!got[0].sent);
			CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount(uid));
		}
		// The sender's row is a sent one: a carbon for its other devices.
		std::vector<StoredMessage> laptop = read(store, "alice", "laptop", true);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), laptop.size());
		CPPUNIT_ASSERT(laptop[0].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("g"), laptop[0].groupId);
		CPPUNIT_ASSERT(read(store, "alice", "phone", true).empty());
		CPPUNIT_ASSERT(read(store, "alice", "laptop", false).empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("alice"));

		// Without recordSent the sender gets no row; members all the same.
		MemoryMessageStore plain(MemoryMessageStore::Limits(), 1);
		put(plain, "g", {"alice", "bob"});
		AppendResult p = send(plain, toGroup("alice", "phone", "g", 1, "x"));
		CPPUNIT_ASSERT(p.members == std::vector<std::string>({"alice", "bob"}));
		CPPUNIT_ASSERT(read(plain, "alice", "laptop", true).empty());
		CPPUNIT_ASSERT(ids(read(plain, "bob", "", false)) == Ids({p.msgId}));
	}

	void testNotMember()
	{
		MemoryMessageStore store(withHistory(), 1);
		AppendResult unknown = send(store, toGroup("alice", "", "nope", 1, "x"));
		CPPUNIT_ASSERT(unknown.outcome == AppendResult::NOT_MEMBER);
		CPPUNIT_ASSERT(unknown.members.empty());
		put(store, "g", {"bob", "carol"});
		CPPUNIT_ASSERT(send(store, toGroup("alice", "", "g", 1, "x")).outcome == AppendResult::NOT_MEMBER);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("bob"));
		CPPUNIT_ASSERT(history(store, query("alice")).messages.empty());
		// A refused send is not remembered: once a member, the same id is stored.
		modify(store, "g", {"alice"}, {});
		CPPUNIT_ASSERT(send(store, toGroup("alice", "", "g", 1, "x")).outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("bob"));
	}

	void testMembershipAppliesToLaterMessages()
	{
		MemoryMessageStore store(withHistory(), 1);
		put(store, "g", {"alice", "bob"});
		AppendResult m1 = send(store, toGroup("alice", "", "g", 1, "1"));
		modify(store, "g", {"carol"}, {});
		AppendResult m2 = send(store, toGroup("alice", "", "g", 2, "2"));
		modify(store, "g", {}, {"bob"});
		AppendResult m3 = send(store, toGroup("alice", "", "g", 3, "3"));
		CPPUNIT_ASSERT(m1.members == std::vector<std::string>({"alice", "bob"}));
		CPPUNIT_ASSERT(m2.members == std::vector<std::string>({"alice", "bob", "carol"}));
		CPPUNIT_ASSERT(m3.members == std::vector<std::string>({"alice", "carol"}));
		// A removed member keeps what was accepted before; a new one gets what came after it joined.
		CPPUNIT_ASSERT(ids(read(store, "bob", "", false)) == Ids({m1.msgId, m2.msgId}));
		CPPUNIT_ASSERT(ids(read(store, "carol", "", false)) == Ids({m2.msgId, m3.msgId}));
		CPPUNIT_ASSERT(ids(history(store, query("alice")).messages) == Ids({m3.msgId, m2.msgId, m1.msgId}));
		CPPUNIT_ASSERT(ids(history(store, query("bob")).messages) == Ids({m2.msgId, m1.msgId}));
		// A non-member's send after removal.
		CPPUNIT_ASSERT(send(store, toGroup("bob", "", "g", 1, "x")).outcome == AppendResult::NOT_MEMBER);
	}

	void testGroupMessageNotRefusedForFullMember()
	{
		MemoryMessageStore::Limits limits;
		limits.maxPendingPerRecipient = 2;
		MemoryMessageStore store(limits, 1);
		put(store, "g", {"alice", "bob"});
		CPPUNIT_ASSERT(append(store, "carol", "bob", 1, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(append(store, "carol", "bob", 2, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(append(store, "carol", "bob", 3, "x").outcome == AppendResult::RECIPIENT_FULL);
		AppendResult group = send(store, toGroup("alice", "", "g", 1, "x"));
		CPPUNIT_ASSERT(group.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(group.msgId, read(store, "bob", "", false).back().msgId);
		// It counts: bob is fuller than before.
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), store.pendingCount("bob"));
		CPPUNIT_ASSERT(append(store, "carol", "bob", 3, "x").outcome == AppendResult::RECIPIENT_FULL);
		store.acknowledge("bob", "", group.msgId, {});
		CPPUNIT_ASSERT(append(store, "carol", "bob", 3, "x").outcome == AppendResult::STORED);
	}

	void testGroupOrderUnderConcurrentSenders()
	{
		// Four threads send to three groups that share members (over four
		// shards, so appends to different groups contend for the same
		// locks), while a fifth adds and removes a member of g1 and a sixth
		// reads one member's inbox as it fills. Every member must hold
		// exactly the messages whose members included it, in the same
		// (msgId) order; the reader must never see an id below one it has
		// already read (the ordering contract); nothing may deadlock.
		MemoryMessageStore::Limits limits = withHistory();
		limits.shards = 4;
		MemoryMessageStore store(limits, 1);
		std::vector<std::string> uids;
		std::map<std::string, std::vector<std::string>> groups;
		for (int i = 0; i < 12; ++i)
		{
			const std::string uid = "u" + std::to_string(i);
			uids.push_back(uid);
			if (i < 8) groups["g1"].push_back(uid);
			if (i >= 4) groups["g2"].push_back(uid);
			if (i % 3 == 0) groups["g3"].push_back(uid);
		}
		for (const auto& g: groups) CPPUNIT_ASSERT(put(store, g.first, g.second).outcome == GroupResult::OK);
		const int perThread = 400;
		struct Sent
		{
			std::string gid;
			AppendResult result;
		};
		std::vector<Sent> sent[4];
		std::atomic<bool> sending(true);
		std::atomic<int> appended(0);
		auto sender = [&](int t)
		{
			for (int i = 0; i < perThread; ++i)
			{
				const int g = (i + t) % 3;
				const std::string gid = "g" + std::to_string(g + 1);
				// A member of each group that never leaves it.
				const std::string from = "u" + std::to_string(g == 0 ? t : g == 1 ? 4 + t : 3 * t);
				NewMessage m = toGroup(from, "d", gid, static_cast<Poco::UInt64>(t * 100000 + i), "p");
				store.append(std::move(m), [&, t, gid](const AppendResult& r) { sent[t].push_back(Sent{gid, r}); ++appended; });
			}
		};
		// floater is in g1 for at least the first 50 sends, then comes and goes.
		modify(store, "g1", {"floater"}, {});
		auto toggler = [&]()
		{
			while (appended < 50 && sending) std::this_thread::yield();
			for (int i = 0; i < 400 && sending; ++i)
			{
				if (i % 2 == 0) modify(store, "g1", {}, {"floater"});
				else modify(store, "g1", {"floater"}, {});
				std::this_thread::yield();
			}
		};
		Ids seen;
		bool ordered = true;
		auto reader = [&]()
		{
			for (;;)
			{
				const bool last = !sending;
				std::vector<StoredMessage> page = read(store, "u4", "r", true, seen.empty() ? 0 : seen.back(), 7);
				for (const StoredMessage& m: page)
				{
					if (!seen.empty() && m.msgId <= seen.back()) ordered = false;
					seen.push_back(m.msgId);
				}
				if (last && page.empty()) break;
			}
		};
		std::thread threads[] = {std::thread(sender, 1), std::thread(sender, 2), std::thread(sender, 3), std::thread(toggler), std::thread(reader)};
		sender(0);
		for (int i = 0; i < 4; ++i) threads[i].join();
		sending = false;
		threads[4].join();

		std::map<std::string, Ids> expected; // per uid, what its inbox must hold
		std::set<Poco::UInt64> all;
		for (int t = 0; t < 4; ++t)
		{
			CPPUNIT_ASSERT_EQUAL(std::size_t(perThread), sent[t].size());
			Poco::UInt64 previous = 0;
			for (const Sent& s: sent[t])
			{
				CPPUNIT_ASSERT(s.result.outcome == AppendResult::STORED);
				CPPUNIT_ASSERT(s.result.msgId > previous);
				previous = s.result.msgId;
				CPPUNIT_ASSERT(all.insert(s.result.msgId).second);
				for (const std::string& uid: s.result.members) expected[uid].push_back(s.result.msgId);
			}
		}
		CPPUNIT_ASSERT(expected.count("floater") > 0);
		uids.push_back("floater");
		std::map<std::string, Ids> perGroup[3];
		for (const std::string& uid: uids)
		{
			std::vector<StoredMessage> inbox = history(store, query(uid)).messages;
			std::reverse(inbox.begin(), inbox.end());
			Ids got = ids(inbox);
			Ids want = expected[uid];
			std::sort(want.begin(), want.end());
			CPPUNIT_ASSERT_MESSAGE(uid, got == want);
			for (const StoredMessage& m: inbox) perGroup[m.groupId[1] - '1'][uid].push_back(m.msgId);
		}
		// Every member that never left sees each group's messages in the same order.
		for (int g = 0; g < 3; ++g)
		{
			const Ids* pFirst = nullptr;
			for (const std::string& uid: groups["g" + std::to_string(g + 1)])
			{
				const Ids& sequence = perGroup[g][uid];
				if (!pFirst) pFirst = &sequence;
				CPPUNIT_ASSERT(sequence == *pFirst);
			}
			CPPUNIT_ASSERT(pFirst && !pFirst->empty());
		}
		CPPUNIT_ASSERT(ordered);
		std::sort(expected["u4"].begin(), expected["u4"].end());
		CPPUNIT_ASSERT(seen == expected["u4"]);
	}

	void testHistoryPaging()
	{
		MemoryMessageStore store(withHistory(), 1);
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 10; ++i)
		{
			const bool fromAlice = i % 2 == 1;
			sent.push_back(send(store, message(fromAlice ? "alice" : "bob", "", fromAlice ? "bob" : "alice", i, "m" + std::to_string(i))).msgId);
		}
		HistoryQuery q = query("alice", 4);
		HistoryPage page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[9], sent[8], sent[7], sent[6]}));
		CPPUNIT_ASSERT(page.more);
		CPPUNIT_ASSERT(!page.notMember);
		// Received and sent alike, as they were delivered.
		CPPUNIT_ASSERT(!page.messages[0].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), page.messages[0].fromUid);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), page.messages[0].toUid);
		CPPUNIT_ASSERT(page.messages[1].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), page.messages[1].fromUid);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), page.messages[1].toUid);
		CPPUNIT_ASSERT_EQUAL(std::string("m9"), page.messages[1].payload);
		q.beforeMsgId = page.messages.back().msgId;
		page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[5], sent[4], sent[3], sent[2]}));
		CPPUNIT_ASSERT(page.more);
		q.beforeMsgId = page.messages.back().msgId;
		page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[1], sent[0]}));
		CPPUNIT_ASSERT(!page.more);
		// Exactly a page left: no more.
		q.beforeMsgId = sent[4];
		page = history(store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(4), page.messages.size());
		CPPUNIT_ASSERT(!page.more);
		// HISTORY moves no position: everything is still pending.
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), store.pendingCount("alice"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(5), read(store, "alice", "", false).size());
		// Acknowledged messages stay readable (with history).
		store.acknowledge("alice", "", sent[9], {});
		CPPUNIT_ASSERT_EQUAL(std::size_t(10), history(store, query("alice")).messages.size());
		CPPUNIT_ASSERT(history(store, query("nobody")).messages.empty());
		CPPUNIT_ASSERT(!history(store, query("nobody")).more);
	}

	void testHistoryConversationFilter()
	{
		MemoryMessageStore store(withHistory(), 1);
		put(store, "g", {"alice", "bob"});
		const Poco::UInt64 a1 = send(store, message("alice", "", "bob", 1, "x")).msgId;
		send(store, message("alice", "", "carol", 2, "x"));
		const Poco::UInt64 b1 = send(store, message("bob", "", "alice", 1, "x")).msgId;
		send(store, toGroup("bob", "", "g", 2, "x"));
		const Poco::UInt64 self = send(store, message("alice", "", "alice", 3, "x")).msgId;
		send(store, message("carol", "", "alice", 1, "x"));
		const Poco::UInt64 a2 = send(store, message("alice", "", "bob", 4, "x")).msgId;
		send(store, message("carol", "", "bob", 2, "x"));
		HistoryQuery q = query("alice", 2);
		q.withUid = "bob";
		HistoryPage page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({a2, b1}));
		CPPUNIT_ASSERT(page.more);
		q.beforeMsgId = b1;
		page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({a1}));
		CPPUNIT_ASSERT(!page.more);
		// Both directions from bob's side too; the conversation with oneself.
		q = query("bob");
		q.withUid = "alice";
		CPPUNIT_ASSERT(ids(history(store, q).messages) == Ids({a2, b1, a1}));
		q = query("alice");
		q.withUid = "alice";
		CPPUNIT_ASSERT(ids(history(store, q).messages) == Ids({self}));
		// Unfiltered: all seven of alice's rows (carol's message to bob is not hers).
		CPPUNIT_ASSERT_EQUAL(std::size_t(7), history(store, query("alice")).messages.size());
	}

	void testHistoryGroupFilter()
	{
		MemoryMessageStore store(withHistory(), 1);
		put(store, "g", {"alice", "bob"});
		put(store, "h", {"alice", "carol"});
		const Poco::UInt64 g1 = send(store, toGroup("bob", "", "g", 1, "x")).msgId;
		send(store, toGroup("carol", "", "h", 1, "x"));
		send(store, message("bob", "", "alice", 2, "x"));
		const Poco::UInt64 g2 = send(store, toGroup("alice", "", "g", 1, "x")).msgId;
		HistoryQuery q = query("alice");
		q.groupId = "g";
		HistoryPage page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({g2, g1}));
		CPPUNIT_ASSERT(!page.notMember);
		CPPUNIT_ASSERT(page.messages[0].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("g"), page.messages[1].groupId);
		// Only for current members.
		q.uid = "carol";
		page = history(store, q);
		CPPUNIT_ASSERT(page.notMember);
		CPPUNIT_ASSERT(page.messages.empty());
		q.uid = "alice";
		q.groupId = "nope";
		CPPUNIT_ASSERT(history(store, q).notMember);
		modify(store, "g", {}, {"bob"});
		q.uid = "bob";
		q.groupId = "g";
		CPPUNIT_ASSERT(history(store, q).notMember);
		// Unfiltered, bob still reads what it received while a member.
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), history(store, query("bob")).messages.size());
	}

	void testHistorySince()
	{
		MemoryMessageStore store(withHistory(), 1);
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 4; ++i) sent.push_back(send(store, message("a", "", "b", i, "x", static_cast<Poco::Int64>(i) * 1000)).msgId);
		HistoryQuery q = query("b", 1);
		q.sinceMs = 2500;
		HistoryPage page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[3]}));
		CPPUNIT_ASSERT(page.more);
		q.limit = 2;
		page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[3], sent[2]}));
		// Older ones exist, but none that may be shown.
		CPPUNIT_ASSERT(!page.more);
		q.sinceMs = 3000; // at or after
		CPPUNIT_ASSERT(ids(history(store, q).messages) == Ids({sent[3], sent[2]}));
	}

	void testHistoryByteBound()
	{
		MemoryMessageStore store(withHistory(), 1);
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 5; ++i) sent.push_back(send(store, message("a", "", "b", i, std::string(100, 'x'))).msgId);
		// Each entry: 100 payload bytes, "a" and "b", and the entry's framing.
		const std::size_t entry = 102 + MemoryMessageStore::HISTORY_ENTRY_OVERHEAD;
		HistoryQuery q = query("b");
		q.maxBytes = 3 * entry;
		HistoryPage page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[4], sent[3], sent[2]}));
		CPPUNIT_ASSERT(page.more);
		q.maxBytes = 3 * entry - 1;
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), history(store, q).messages.size());
		// At least one, however small the room.
		q.maxBytes = 10;
		page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[4]}));
		CPPUNIT_ASSERT(page.more);
		q.beforeMsgId = sent[1];
		page = history(store, q);
		CPPUNIT_ASSERT(ids(page.messages) == Ids({sent[0]}));
		CPPUNIT_ASSERT(!page.more);
	}

	void testHistoryRetention()
	{
		// As SqliteMessageStoreTest::testHistoryRetention: an acknowledged
		// message stays (with the sender's copy) for historyRetention, then
		// goes with every row.
		MemoryMessageStore store(withHistory(600), 1);
		const Poco::Int64 now = 1800000000000;
		AppendResult r = send(store, message("alice", "", "bob", 1, "x", now));
		AppendResult pending = send(store, message("alice", "", "bob", 2, "y", now));
		store.acknowledge("bob", "", r.msgId, {r.msgId});
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), history(store, query("bob")).messages.size());
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), history(store, query("alice")).messages.size());

		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.cleanup(now + 300 * 1000)); // within history: nothing goes
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), history(store, query("bob")).messages.size());

		// Past history: bob's acknowledged row goes; alice's copies stay
		// while alice has no position (a first device of hers would still
		// get them as carbons).
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.cleanup(now + 700 * 1000));
		CPPUNIT_ASSERT(ids(history(store, query("bob")).messages) == Ids({pending.msgId}));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), history(store, query("alice")).messages.size());
		// Once alice's device has passed them, they go.
		store.acknowledge("alice", "", pending.msgId, {});
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.cleanup(now + 700 * 1000));
		CPPUNIT_ASSERT(history(store, query("alice")).messages.empty());
		// The pending one stays: no retention without Limits::retention.
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("bob"));
		CPPUNIT_ASSERT(ids(read(store, "bob", "", false)) == Ids({pending.msgId}));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.cleanup(now + 100000 * 1000));
		// Acknowledged, it goes too, and with it every byte.
		store.acknowledge("bob", "", pending.msgId, {});
		CPPUNIT_ASSERT(store.bytes() > 0);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.cleanup(now + 700 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.bytes());
	}

	void testHistoryPrunedByAppends()
	{
		// Appends remove expired history at the front of the inboxes they
		// write to, on the message's clock: without any cleanup() call.
		MemoryMessageStore store(withHistory(600), 1);
		const Poco::Int64 now = 1800000000000;
		AppendResult old = send(store, message("alice", "", "bob", 1, "x", now));
		store.acknowledge("bob", "", old.msgId, {});
		store.acknowledge("alice", "", old.msgId, {});
		send(store, message("alice", "", "bob", 2, "y", now + 500 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), history(store, query("bob")).messages.size());
		AppendResult later = send(store, message("alice", "", "bob", 3, "z", now + 700 * 1000));
		HistoryPage bob = history(store, query("bob"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), bob.messages.size());
		CPPUNIT_ASSERT_EQUAL(later.msgId, bob.messages[0].msgId);
		CPPUNIT_ASSERT(ids(history(store, query("alice")).messages) == ids(bob.messages));
	}

	void testRetentionExpiresUnacknowledged()
	{
		MemoryMessageStore::Limits limits;
		limits.retention = 3600;
		MemoryMessageStore store(limits, 1);
		const Poco::Int64 now = 1800000000000;
		send(store, message("a", "", "b", 1, "x", now));
		send(store, message("a", "", "b", 2, "x", now + 200 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.cleanup(now + 3000 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.pendingCount("b"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.cleanup(now + 3700 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("b"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.cleanup(now + 3900 * 1000));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.pendingCount("b"));
		CPPUNIT_ASSERT(read(store, "b", "", false).empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.bytes());
	}

	void testHistoryGivesWayToNewMessages()
	{
		// With history, acknowledged messages take room; a send that finds
		// the store full drops the oldest history (never a pending message)
		// and is stored.
		MemoryMessageStore::Limits limits = withHistory(600);
		limits.maxBytes = 16384;
		MemoryMessageStore store(limits, 1);
		const Poco::Int64 now = 1800000000000;
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 20; ++i)
		{
			AppendResult r = send(store, message("alice", "", "bob", i, std::string(3000, 'x'), now + static_cast<Poco::Int64>(i) * 60000));
			if (r.outcome != AppendResult::STORED)
			{
				CPPUNIT_ASSERT(r.outcome == AppendResult::STORE_FULL); // all pending: nothing may go
				break;
			}
			sent.push_back(r.msgId);
		}
		CPPUNIT_ASSERT(sent.size() >= 3 && sent.size() < 6);
		CPPUNIT_ASSERT(store.bytes() <= limits.maxBytes);
		store.acknowledge("bob", "", sent.back(), {});
		store.acknowledge("alice", "", sent.back(), {});
		CPPUNIT_ASSERT_EQUAL(sent.size(), history(store, query("bob")).messages.size());
		// A second after the refused send (a reclaim runs at most once a
		// second, by the senders' clock), the history a minute apart from
		// 61 s to 301 s old: kept a quarter of the 600 s (150 s), the
		// older rows go and the younger stay.
		const Poco::Int64 later = now + static_cast<Poco::Int64>(sent.size() + 1) * 60000 + 1000;
		AppendResult r = send(store, message("carol", "", "bob", 1, std::string(3000, 'x'), later));
		CPPUNIT_ASSERT(r.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(store.bytes() <= limits.maxBytes);
		HistoryPage page = history(store, query("bob"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(r.msgId, page.messages[0].msgId);          // the new one, pending
		CPPUNIT_ASSERT_EQUAL(sent[sent.size() - 1], page.messages[1].msgId); // 61 s old
		CPPUNIT_ASSERT_EQUAL(sent[sent.size() - 2], page.messages[2].msgId); // 121 s old
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("bob"));
	}

	void testFullStoreReclaimsExpiredHistory()
	{
		// No cleanup() call: a send that finds the store full removes what
		// has expired by its own clock and is stored.
		MemoryMessageStore::Limits limits = withHistory(600);
		limits.maxBytes = 16384;
		MemoryMessageStore store(limits, 1);
		const Poco::Int64 now = 1800000000000;
		Ids sent;
		for (Poco::UInt64 i = 1; i <= 20; ++i)
		{
			AppendResult r = send(store, message("alice", "", "bob", i, std::string(3000, 'x'), now));
			if (r.outcome != AppendResult::STORED) break;
			sent.push_back(r.msgId);
		}
		store.acknowledge("bob", "", sent.back(), {});
		store.acknowledge("alice", "", sent.back(), {});
		// An unrelated pair: its inboxes hold nothing that could go; by
		// the send's clock the others' history has expired.
		CPPUNIT_ASSERT(send(store, message("carol", "", "dave", 1, std::string(3000, 'x'), now + 601 * 1000)).outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(history(store, query("bob")).messages.empty());
		CPPUNIT_ASSERT(history(store, query("alice")).messages.empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.pendingCount("dave"));
	}

	void testGroupsCountAgainstByteLimit()
	{
		MemoryMessageStore::Limits limits;
		limits.maxBytes = 4096;
		MemoryMessageStore store(limits, 1);
		std::vector<std::string> many;
		for (int i = 0; i < 100; ++i) many.push_back(std::string(40, 'u') + std::to_string(i));
		GroupResult full = put(store, "g", many);
		CPPUNIT_ASSERT(full.outcome == GroupResult::STORE_FULL);
		Group found;
		CPPUNIT_ASSERT(!store.findGroup("g", found));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.bytes());
		CPPUNIT_ASSERT(put(store, "g", {"alice", "bob"}).outcome == GroupResult::OK);
		const std::size_t small = store.bytes();
		CPPUNIT_ASSERT(small > 0);
		CPPUNIT_ASSERT(modify(store, "g", many, {}).outcome == GroupResult::STORE_FULL);
		CPPUNIT_ASSERT_EQUAL(small, store.bytes());
		CPPUNIT_ASSERT(modify(store, "g", {"carol"}, {}).outcome == GroupResult::OK);
		CPPUNIT_ASSERT(store.bytes() > small);
		CPPUNIT_ASSERT(removeGroup(store, "g").outcome == GroupResult::OK);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.bytes());
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(MemoryMessageStoreTest);
