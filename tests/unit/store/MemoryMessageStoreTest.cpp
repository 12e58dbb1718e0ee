//
// MemoryMessageStoreTest.cpp
//

#include "server/store/MemoryMessageStore.h"
#include <cppunit/extensions/HelperMacros.h>
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(MemoryMessageStoreTest);
