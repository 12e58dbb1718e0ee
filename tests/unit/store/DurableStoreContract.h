//
// DurableStoreContract.h
//
// The store contract (server/store/MessageStore.h) as every durable store
// keeps it, whatever its database: append, pages and acknowledgements,
// idempotency, reopening, the recipient limit, group commit, retention,
// history, devices and carbons, groups, the write queue's charge and
// commits in steps. One body per test, run against each database by a
// fixture that derives from DurableStoreContract<Backend>:
// SqliteMessageStoreTest (a temporary file) and PostgresMessageStoreTest
// (a fresh database on a PostgreSQL server of the test's own).
//

#ifndef imgate_test_DurableStoreContract_INCLUDED
#define imgate_test_DurableStoreContract_INCLUDED

#include "server/store/DurableMessageStore.h"
#include "Poco/Event.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace test {

template <class Backend>
class DurableStoreContract: public CppUnit::TestFixture
	/// The contract's tests, for a Backend that provides:
	///
	///   Store, Options        the store's class and its options (a
	///                         DurableMessageStore and its Options' subclass);
	///   setUp(), tearDown()   a new, empty database for each test, and
	///                         its removal;
	///   options()             options on that database that do not wait
	///                         for the disk at each commit (fullSync and
	///                         synchronousCommit off: the benchmark measures
	///                         that cost, not these tests);
	///   syncEachCommit(o)     (static) sets o to wait for the disk at
	///                         each commit;
	///   queryInt(sql)         the first column of the first row of sql,
	///                         on a connection of its own (SQL both
	///                         databases read alike);
	///   blockWriter()         an object that, while it lives, holds the
	///                         lock the store's writer takes at the start
	///                         of each transaction, so that what is sent
	///                         meanwhile queues (held for well under 5 s).
	///
	/// A derived fixture lists these tests with CPPUNIT_TEST_SUB_SUITE and
	/// adds its database's own.
{
	CPPUNIT_TEST_SUITE(DurableStoreContract);
	CPPUNIT_TEST(testAppendPageAcknowledge);
	CPPUNIT_TEST(testPayloadBytesRoundTrip);
	CPPUNIT_TEST(testAcknowledgedIsNotReadAgain);
	CPPUNIT_TEST(testAcknowledgeOnlyOwnMessages);
	CPPUNIT_TEST(testAcknowledgementCommitsWithoutASend);
	CPPUNIT_TEST(testIdempotencyAcrossReopen);
	CPPUNIT_TEST(testPendingSurvivesReopen);
	CPPUNIT_TEST(testIdsNeverRepeatAfterDeletes);
	CPPUNIT_TEST(testRecipientLimit);
	CPPUNIT_TEST(testGroupCommit);
	CPPUNIT_TEST(testRetention);
	CPPUNIT_TEST(testDeleteOnAcknowledge);
	CPPUNIT_TEST(testHistoryRetention);
	CPPUNIT_TEST(testSenderCopyIsNotDelivered);
	CPPUNIT_TEST(testNewDeviceStartsAtTheHighestPosition);
	CPPUNIT_TEST(testGroupChanges);
	CPPUNIT_TEST(testGroupMessages);
	CPPUNIT_TEST(testCarbons);
	CPPUNIT_TEST(testHistory);
	CPPUNIT_TEST(testGroupMessagesCountTowardsTheRecipientLimit);
	CPPUNIT_TEST(testGroupMessagesChargedPerMember);
	CPPUNIT_TEST(testLargeGroupBurstCommitsInSteps);
	CPPUNIT_TEST_SUITE_END_ABSTRACT();

public:
	using Store = typename Backend::Store;
	using Options = typename Backend::Options;
	using NewMessage = store::NewMessage;
	using StoredMessage = store::StoredMessage;
	using AppendResult = store::AppendResult;
	using InboxReader = store::InboxReader;
	using PendingPage = store::PendingPage;
	using HistoryQuery = store::HistoryQuery;
	using HistoryPage = store::HistoryPage;
	using Group = store::Group;
	using GroupChange = store::GroupChange;
	using GroupResult = store::GroupResult;
	using MessageStore = store::MessageStore;
	using DurableMessageStore = store::DurableMessageStore;
	using StoreException = store::StoreException;

	void setUp() override
	{
		_backend.setUp();
	}

	void tearDown() override
	{
		_backend.tearDown();
	}

	Options options() const
	{
		return _backend.options();
	}

	std::unique_ptr<Store> open(const Options& o)
		/// A started store on o.
	{
		std::unique_ptr<Store> p(new Store(o));
		p->start();
		return p;
	}

	std::string openError(const Options& o)
		/// The message of the StoreException that opening o throws, or
		/// "(no error)". Any other exception goes to the test.
	{
		try
		{
			Store store(o);
		}
		catch (StoreException& exc)
		{
			return exc.message();
		}
		return "(no error)";
	}

	int count(const std::string& sql)
	{
		return static_cast<int>(_backend.queryInt(sql));
	}

	static NewMessage message(const std::string& from, const std::string& to, Poco::UInt64 clientId, const std::string& payload)
	{
		NewMessage m;
		m.fromUid = from;
		m.toUid = to;
		m.clientMsgId = clientId;
		m.payload = payload;
		m.timestampMs = Poco::Timestamp().epochMicroseconds() / 1000;
		return m;
	}

	static AppendResult append(MessageStore& store, const std::string& from, const std::string& to, Poco::UInt64 clientId, const std::string& payload)
	{
		AppendResult result;
		Poco::Event done;
		int calls = 0;
		store.append(message(from, to, clientId, payload), [&](const AppendResult& r) { result = r; ++calls; done.set(); });
		CPPUNIT_ASSERT(done.tryWait(10000));
		CPPUNIT_ASSERT_EQUAL(1, calls);
		return result;
	}

	static PendingPage read(MessageStore& store, const std::string& uid, Poco::UInt64 after, std::size_t limit)
	{
		return read(store, uid, "", after, limit);
	}

	static PendingPage read(MessageStore& store, const std::string& uid, const std::string& device, Poco::UInt64 after, std::size_t limit)
	{
		PendingPage page;
		Poco::Event done;
		InboxReader reader;
		reader.uid = uid;
		reader.device = device;
		store.readPending(reader, after, limit, [&](PendingPage&& p) { page = std::move(p); done.set(); });
		CPPUNIT_ASSERT(done.tryWait(10000));
		CPPUNIT_ASSERT(page.ok);
		return page;
	}

	void testAppendPageAcknowledge()
	{
		auto store = open(options());
		std::vector<Poco::UInt64> ids;
		for (Poco::UInt64 i = 1; i <= 10; ++i)
		{
			AppendResult r = append(*store, "alice", "bob", i, "m" + std::to_string(i));
			CPPUNIT_ASSERT(r.outcome == AppendResult::STORED);
			if (!ids.empty()) CPPUNIT_ASSERT(r.msgId > ids.back());
			ids.push_back(r.msgId);
		}
		PendingPage page1 = read(*store, "bob", 0, 4);
		CPPUNIT_ASSERT_EQUAL(std::size_t(4), page1.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[0], page1.messages[0].msgId);
		CPPUNIT_ASSERT_EQUAL(std::string("m1"), page1.messages[0].payload);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), page1.messages[0].fromUid);
		PendingPage page2 = read(*store, "bob", page1.messages.back().msgId, 100);
		CPPUNIT_ASSERT_EQUAL(std::size_t(6), page2.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[4], page2.messages.front().msgId);
		CPPUNIT_ASSERT_EQUAL(ids[9], page2.messages.back().msgId);
		CPPUNIT_ASSERT(read(*store, "carol", 0, 10).messages.empty());

		// The device's position moves to ids[0]; ids[2], acknowledged
		// above it, is left out of reads but still counts as pending
		// (until the position passes it, or after a restart).
		store->acknowledge("bob", "", ids[0], {ids[0], ids[2]});
		store->flush();
		CPPUNIT_ASSERT_EQUAL(std::size_t(9), store->pendingCount("bob"));
		PendingPage rest = read(*store, "bob", 0, 100);
		CPPUNIT_ASSERT_EQUAL(std::size_t(8), rest.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[1], rest.messages[0].msgId);
		CPPUNIT_ASSERT_EQUAL(ids[3], rest.messages[1].msgId);
	}

	void testPayloadBytesRoundTrip()
	{
		auto store = open(options());
		const std::string binary("\0\x01\xff text \0 end", 14);
		append(*store, "a", "b", 1, binary);
		append(*store, "a", "b", 2, "");
		PendingPage page = read(*store, "b", 0, 10);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), page.messages.size());
		CPPUNIT_ASSERT(page.messages[0].payload == binary);
		CPPUNIT_ASSERT(page.messages[1].payload.empty());
	}

	void testAcknowledgedIsNotReadAgain()
	{
		// pending reads leave acknowledged ids out at once, before the
		// acknowledgement is committed.
		auto store = open(options());
		AppendResult r1 = append(*store, "a", "b", 1, "x");
		AppendResult r2 = append(*store, "a", "b", 2, "y");
		store->acknowledge("b", "", r1.msgId, {r1.msgId});
		PendingPage page = read(*store, "b", 0, 1);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(r2.msgId, page.messages[0].msgId);
		store->flush();
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("b"));
	}

	static bool commitsReach(DurableMessageStore& store, Poco::UInt64 commits)
	{
		// Bounded: an acknowledgement waits at most ACK_COMMIT_DELAY_MS.
		for (int i = 0; i < 500 && store.statistics().commits < commits; ++i) Poco::Thread::sleep(10);
		return store.statistics().commits >= commits;
	}

	void testAcknowledgementCommitsWithoutASend()
	{
		// An acknowledgement waits for a send to share its commit, but not
		// forever: alone, right after a write (the writer waiting for one)
		// and after the writer went idle, it is committed, and durable.
		Poco::UInt64 ids[2];
		{
			auto store = open(options());
			ids[0] = append(*store, "alice", "bob", 1, "one").msgId;
			ids[1] = append(*store, "alice", "bob", 2, "two").msgId;
			const Poco::UInt64 before = store->statistics().commits;
			store->acknowledge("bob", "", ids[0], {});
			CPPUNIT_ASSERT(commitsReach(*store, before + 1));
			Poco::Thread::sleep(3 * DurableMessageStore::ACK_COMMIT_DELAY_MS); // the writer goes idle
			store->acknowledge("bob", "", ids[1], {});
			CPPUNIT_ASSERT(commitsReach(*store, before + 2));
			CPPUNIT_ASSERT_EQUAL(Poco::UInt64(2), store->statistics().storedMessages);
			// Committed, not only left out of reads: still so after a crash
			// (the database is read by a second connection meanwhile).
			const Poco::UInt64 acked = static_cast<Poco::UInt64>(_backend.queryInt("SELECT acked FROM positions WHERE uid = 'bob'"));
			CPPUNIT_ASSERT_EQUAL(ids[1], acked);
		}
		auto store = open(options());
		CPPUNIT_ASSERT(read(*store, "bob", 0, 10).messages.empty());
	}

	void testAcknowledgeOnlyOwnMessages()
	{
		auto store = open(options());
		AppendResult r = append(*store, "a", "bob", 1, "for bob");
		store->acknowledge("mallory", "", r.msgId, {r.msgId});
		store->flush();
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("bob"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), read(*store, "bob", 0, 10).messages.size());
	}

	void testIdempotencyAcrossReopen()
	{
		AppendResult first;
		{
			auto store = open(options());
			first = append(*store, "alice", "bob", 42, "hello");
			CPPUNIT_ASSERT(first.outcome == AppendResult::STORED);
			AppendResult again = append(*store, "alice", "bob", 42, "hello");
			CPPUNIT_ASSERT(again.outcome == AppendResult::DUPLICATE);
			CPPUNIT_ASSERT_EQUAL(first.msgId, again.msgId);
			CPPUNIT_ASSERT(append(*store, "carol", "bob", 42, "other sender").outcome == AppendResult::STORED);
		}
		auto store = open(options());
		AppendResult after = append(*store, "alice", "bob", 42, "hello");
		CPPUNIT_ASSERT(after.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(first.msgId, after.msgId);
		CPPUNIT_ASSERT_EQUAL(first.timestampMs, after.timestampMs);
		// Still recognised once delivered (within store.deliveredRetention).
		store->acknowledge("bob", "", first.msgId, {first.msgId});
		store->flush();
		CPPUNIT_ASSERT(append(*store, "alice", "bob", 42, "hello").outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("bob"));
	}

	void testPendingSurvivesReopen()
	{
		std::vector<Poco::UInt64> ids;
		{
			auto store = open(options());
			for (Poco::UInt64 i = 1; i <= 50; ++i) ids.push_back(append(*store, "a", "b", i, std::to_string(i)).msgId);
			store->acknowledge("b", "", ids[0], {ids[0]});
			// close() commits the queued acknowledgement.
		}
		auto store = open(options());
		PendingPage page = read(*store, "b", 0, 100);
		CPPUNIT_ASSERT_EQUAL(std::size_t(49), page.messages.size());
		for (std::size_t i = 0; i < page.messages.size(); ++i)
		{
			CPPUNIT_ASSERT_EQUAL(ids[i + 1], page.messages[i].msgId);
			CPPUNIT_ASSERT_EQUAL(std::to_string(i + 2), page.messages[i].payload);
		}
	}

	void testIdsNeverRepeatAfterDeletes()
	{
		Options o = options();
		o.deliveredRetention = 0; // acknowledged rows are deleted
		o.historyRetention = 0;
		Poco::UInt64 last = 0;
		{
			auto store = open(o);
			for (Poco::UInt64 i = 1; i <= 5; ++i) last = append(*store, "a", "b", i, "x").msgId;
			std::vector<Poco::UInt64> all;
			for (const auto& m: read(*store, "b", 0, 10).messages) all.push_back(m.msgId);
			store->acknowledge("b", "", all.back(), all);
			store->flush();
			CPPUNIT_ASSERT_EQUAL(std::size_t(0), store->pendingCount("b"));
		}
		// The messages are gone, so the highest id issued survives only in
		// imgate_state: the transaction that deleted them saved it (a clock
		// stepped back would otherwise issue these ids again).
		CPPUNIT_ASSERT_EQUAL(0, count("SELECT count(*) FROM messages"));
		CPPUNIT_ASSERT_EQUAL(1, count("SELECT count(*) FROM imgate_state WHERE key = 'last_msg_id' AND value = " + std::to_string(last)));
		auto store = open(o);
		AppendResult next = append(*store, "a", "b", 6, "y");
		CPPUNIT_ASSERT(next.msgId > last);
		CPPUNIT_ASSERT(next.msgId < (Poco::UInt64(1) << 53));
	}

	void testRecipientLimit()
	{
		Options o = options();
		o.maxPendingPerRecipient = 3;
		auto store = open(o);
		std::vector<Poco::UInt64> ids;
		for (Poco::UInt64 i = 1; i <= 3; ++i) ids.push_back(append(*store, "a", "b", i, "x").msgId);
		CPPUNIT_ASSERT(append(*store, "a", "b", 4, "x").outcome == AppendResult::RECIPIENT_FULL);
		// A resend of a stored message is still its duplicate, full or not.
		AppendResult resent = append(*store, "a", "b", 2, "x");
		CPPUNIT_ASSERT(resent.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(ids[1], resent.msgId);
		CPPUNIT_ASSERT(append(*store, "a", "c", 4, "x").outcome == AppendResult::STORED);
		store->acknowledge("b", "", ids[0], {ids[0]});
		CPPUNIT_ASSERT(append(*store, "a", "b", 5, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), store->pendingCount("b"));
	}

	void testGroupMessagesCountTowardsTheRecipientLimit()
	{
		// Group messages are never refused for a full member, but they
		// count: a 1:1 message after them finds the member full.
		Options o = options();
		o.maxPendingPerRecipient = 3;
		auto store = open(o);
		CPPUNIT_ASSERT(change(*store, put("team", {"a", "b", "c"})).outcome == GroupResult::OK);
		CPPUNIT_ASSERT(append(*store, "a", "b", 1, "1:1").outcome == AppendResult::STORED); // b's count is now known: 1
		for (Poco::UInt64 i = 2; i <= 4; ++i) CPPUNIT_ASSERT(appendToGroup(*store, "c", "team", i, "group").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(4), store->pendingCount("b"));
		CPPUNIT_ASSERT(append(*store, "a", "b", 5, "1:1").outcome == AppendResult::RECIPIENT_FULL);
	}

	void testGroupCommit()
	{
		// Appends submitted together are committed together: far fewer
		// commits than messages, and every callback after its commit.
		Options o = options();
		Backend::syncEachCommit(o);
		auto store = open(o);
		const int n = 2000;
		std::atomic<int> stored(0);
		Poco::Event all;
		for (int i = 1; i <= n; ++i)
		{
			store->append(message("s" + std::to_string(i % 100), "r" + std::to_string(i % 7), static_cast<Poco::UInt64>(i), "payload"),
				[&](const AppendResult& r)
				{
					if (r.outcome == AppendResult::STORED && ++stored == n) all.set();
				});
		}
		CPPUNIT_ASSERT(all.tryWait(30000));
		DurableMessageStore::Statistics st = store->statistics();
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(n), st.storedMessages);
		CPPUNIT_ASSERT_MESSAGE(std::to_string(st.commits) + " commits for " + std::to_string(n) + " messages", st.commits * 4 <= st.storedMessages);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(0), st.failedCommits);
	}

	void testRetention()
	{
		Options o = options();
		o.retention = 3600;
		o.deliveredRetention = 600;
		o.historyRetention = 0; // protocol 1.0's retention (testHistoryRetention: with history)
		auto store = open(o);
		const Poco::Int64 now = Poco::Timestamp().epochMicroseconds() / 1000;
		AppendResult delivered = append(*store, "a", "b", 1, "delivered");
		AppendResult undelivered = append(*store, "a", "b", 2, "undelivered");
		store->acknowledge("b", "", delivered.msgId, {delivered.msgId});
		store->flush();

		store->cleanup(now + 300 * 1000); // nothing is old enough yet
		CPPUNIT_ASSERT(append(*store, "a", "b", 1, "delivered").outcome == AppendResult::DUPLICATE);

		store->cleanup(now + 700 * 1000); // the delivered one is gone, and with it its idempotency record
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("b"));
		CPPUNIT_ASSERT(append(*store, "a", "b", 2, "undelivered").outcome == AppendResult::DUPLICATE);
		AppendResult again = append(*store, "a", "b", 1, "delivered");
		CPPUNIT_ASSERT(again.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(0), store->statistics().expiredMessages);

		store->cleanup(now + 3700 * 1000); // everything sent before now + 100 s expires
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store->pendingCount("b"));
		CPPUNIT_ASSERT(read(*store, "b", 0, 10).messages.empty());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(2), store->statistics().expiredMessages);
		CPPUNIT_ASSERT(append(*store, "a", "b", 3, "new").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("b"));
		(void) undelivered;
	}

	void testDeleteOnAcknowledge()
	{
		Options o = options();
		o.deliveredRetention = 0;
		o.historyRetention = 0;
		auto store = open(o);
		AppendResult r = append(*store, "a", "b", 1, "x");
		store->acknowledge("b", "", r.msgId, {r.msgId});
		store->flush();
		const int rows = count("SELECT count(*) FROM messages");
		CPPUNIT_ASSERT_EQUAL(0, rows);
	}

	void testHistoryRetention()
	{
		// With history, an acknowledged message stays (with the sender's
		// copy) for store.historyRetention, then goes with every row.
		Options o = options();
		o.retention = 3600;
		o.deliveredRetention = 0; // no effect with history
		o.historyRetention = 600;
		auto store = open(o);
		const Poco::Int64 now = Poco::Timestamp().epochMicroseconds() / 1000;
		AppendResult r = append(*store, "alice", "bob", 1, "x");
		AppendResult pending = append(*store, "alice", "bob", 2, "y");
		store->acknowledge("bob", "", r.msgId, {r.msgId});
		store->flush();
		CPPUNIT_ASSERT_EQUAL(2, count("SELECT count(*) FROM messages"));
		CPPUNIT_ASSERT_EQUAL(4, count("SELECT count(*) FROM inbox"));
		CPPUNIT_ASSERT_EQUAL(2, count("SELECT count(*) FROM inbox WHERE uid = 'alice' AND sent = TRUE"));

		store->cleanup(now + 300 * 1000); // within history: nothing goes
		CPPUNIT_ASSERT_EQUAL(4, count("SELECT count(*) FROM inbox"));
		CPPUNIT_ASSERT(append(*store, "alice", "bob", 1, "x").outcome == AppendResult::DUPLICATE);

		// Past history: bob's acknowledged row goes; alice's copy stays
		// while alice has no position (a first device of hers would still
		// get it as a carbon), and with it the message.
		store->cleanup(now + 700 * 1000);
		CPPUNIT_ASSERT_EQUAL(0, count("SELECT count(*) FROM inbox WHERE uid = 'bob' AND msg_id = " + std::to_string(r.msgId)));
		CPPUNIT_ASSERT_EQUAL(1, count("SELECT count(*) FROM messages WHERE msg_id = " + std::to_string(r.msgId)));
		// Once alice's device has passed it, it goes, and the message with it.
		store->acknowledge("alice", "", pending.msgId, {});
		store->flush();
		store->cleanup(now + 700 * 1000);
		CPPUNIT_ASSERT_EQUAL(0, count("SELECT count(*) FROM messages WHERE msg_id = " + std::to_string(r.msgId)));
		CPPUNIT_ASSERT_EQUAL(0, count("SELECT count(*) FROM inbox WHERE msg_id = " + std::to_string(r.msgId)));
		// The pending one stays until store.retention.
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("bob"));
		CPPUNIT_ASSERT_EQUAL(pending.msgId, read(*store, "bob", 0, 10).messages.at(0).msgId);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(0), store->statistics().expiredMessages);
	}

	void testSenderCopyIsNotDelivered()
	{
		auto store = open(options());
		AppendResult toBob = append(*store, "alice", "bob", 1, "for bob");
		append(*store, "alice", "alice", 2, "note to self");
		PendingPage alice = read(*store, "alice", 0, 10);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), alice.messages.size());
		CPPUNIT_ASSERT_EQUAL(std::string("note to self"), alice.messages[0].payload);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), alice.messages[0].toUid);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->pendingCount("alice"));
		PendingPage bob = read(*store, "bob", 0, 10);
		CPPUNIT_ASSERT_EQUAL(toBob.msgId, bob.messages.at(0).msgId);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), bob.messages[0].toUid);
		// A message to oneself has one row; one to another, two.
		CPPUNIT_ASSERT_EQUAL(3, count("SELECT count(*) FROM inbox"));
	}

	void testNewDeviceStartsAtTheHighestPosition()
	{
		auto store = open(options());
		std::vector<Poco::UInt64> ids;
		for (Poco::UInt64 i = 1; i <= 4; ++i) ids.push_back(append(*store, "a", "b", i, "x").msgId);
		// A first device ever gets everything.
		CPPUNIT_ASSERT_EQUAL(std::size_t(4), read(*store, "b", 0, 10).messages.size());
		store->acknowledge("b", "phone", ids[1], {ids[0], ids[1]});
		store->acknowledge("b", "laptop", ids[0], {ids[0]});
		store->flush();
		// Each device reads from its own position...
		CPPUNIT_ASSERT_EQUAL(ids[2], read(*store, "b", "phone", 0, 10).messages.at(0).msgId);
		CPPUNIT_ASSERT_EQUAL(ids[1], read(*store, "b", "laptop", 0, 10).messages.at(0).msgId);
		// ... a new one from the highest of them.
		CPPUNIT_ASSERT_EQUAL(ids[2], read(*store, "b", "tablet", 0, 10).messages.at(0).msgId);
		// Pending: what no device has acknowledged.
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store->pendingCount("b"));
	}

	void testGroupMessagesChargedPerMember()
	{
		// A group message waiting for the writer is charged a row per
		// member (the group's size as last changed or written), so store.maxQueuedBytes
		// bounds the work queued, not just the payloads.
		Options o = options();
		o.maxQueuedBytes = 64 * 1024;
		auto store = open(o);
		std::vector<std::string> members;
		for (int i = 0; i < 600; ++i) members.push_back("m" + std::to_string(i));
		CPPUNIT_ASSERT(change(*store, put("big", members)).outcome == GroupResult::OK); // the queue knows its size from here
		std::vector<AppendResult> results(4);
		Poco::Event done[4];
		{
			auto lock = _backend.blockWriter(); // the writer waits: everything below queues
			store->append(message("m1", "m2", 1, "first, 1:1"), [&](const AppendResult& r) { results[0] = r; done[0].set(); });
			NewMessage g = message("m1", "", 2, "599 rows more: 38 KiB charged");
			g.toGroup = "big";
			store->append(g, [&](const AppendResult& r) { results[1] = r; done[1].set(); });
			g.clientMsgId = 3;
			store->append(g, [&](const AppendResult& r) { results[2] = r; done[2].set(); });
			CPPUNIT_ASSERT(done[2].tryWait(1000)); // refused at once
			CPPUNIT_ASSERT_MESSAGE(std::to_string(results[2].outcome), results[2].outcome == AppendResult::STORE_FULL);
			store->append(message("m1", "m2", 4, "a 1:1 message still fits"), [&](const AppendResult& r) { results[3] = r; done[3].set(); });
		}
		for (int i: {0, 1, 3}) CPPUNIT_ASSERT(done[i].tryWait(10000)); // (done[2] was waited for)
		CPPUNIT_ASSERT(results[0].outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(results[1].outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(600), results[1].members.size());
		CPPUNIT_ASSERT(results[3].outcome == AppendResult::STORED);
	}

	void testLargeGroupBurstCommitsInSteps()
	{
		// At most maxRowsPerCommit inbox rows per commit: five messages to
		// a group of 4 with a limit of 8 rows commit two at a time, in
		// order, and flush() waits for all of them.
		Options o = options();
		o.maxRowsPerCommit = 8;
		auto store = open(o);
		change(*store, put("team", {"a", "b", "c", "d"}));
		CPPUNIT_ASSERT(appendToGroup(*store, "a", "team", 1, "learn the size").outcome == AppendResult::STORED);
		const Poco::UInt64 commitsBefore = store->statistics().commits;
		std::vector<AppendResult> results(5);
		std::atomic<int> answered{0};
		{
			auto lock = _backend.blockWriter();
			for (Poco::UInt64 i = 0; i < 5; ++i)
			{
				NewMessage g = message("a", "", 10 + i, "burst " + std::to_string(i));
				g.toGroup = "team";
				store->append(g, [&results, &answered, i](const AppendResult& r) { results[i] = r; ++answered; });
			}
		}
		store->flush();
		CPPUNIT_ASSERT_EQUAL(5, answered.load());
		for (std::size_t i = 0; i < 5; ++i)
		{
			CPPUNIT_ASSERT(results[i].outcome == AppendResult::STORED);
			if (i > 0) CPPUNIT_ASSERT(results[i].msgId > results[i - 1].msgId);
		}
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(3), store->statistics().commits - commitsBefore);
	}

	static GroupResult change(MessageStore& store, GroupChange c)
	{
		GroupResult result;
		Poco::Event done;
		store.changeGroup(c, [&](const GroupResult& r) { result = r; done.set(); });
		CPPUNIT_ASSERT(done.tryWait(10000));
		return result;
	}

	static GroupChange put(const std::string& gid, const std::vector<std::string>& members)
	{
		GroupChange c;
		c.kind = GroupChange::PUT;
		c.gid = gid;
		c.members = members;
		c.nowMs = 1000;
		return c;
	}

	static AppendResult appendToGroup(MessageStore& store, const std::string& from, const std::string& gid, Poco::UInt64 clientId, const std::string& payload)
	{
		NewMessage m = message(from, "", clientId, payload);
		m.toGroup = gid;
		AppendResult result;
		Poco::Event done;
		store.append(m, [&](const AppendResult& r) { result = r; done.set(); });
		CPPUNIT_ASSERT(done.tryWait(10000));
		return result;
	}

	static HistoryPage history(MessageStore& store, HistoryQuery q)
	{
		HistoryPage page;
		Poco::Event done;
		store.readHistory(q, [&](HistoryPage&& p) { page = std::move(p); done.set(); });
		CPPUNIT_ASSERT(done.tryWait(10000));
		CPPUNIT_ASSERT(page.ok);
		return page;
	}

	void testGroupChanges()
	{
		auto store = open(options());
		GroupResult r = change(*store, put("g1", {"carol", "alice", "bob", "alice"}));
		CPPUNIT_ASSERT(r.outcome == GroupResult::OK);
		CPPUNIT_ASSERT(r.group.members == std::vector<std::string>({"alice", "bob", "carol"}));
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(1000), r.group.createdMs);
		GroupChange tooMany = put("g2", {"a", "b", "c"});
		tooMany.maxMembers = 2;
		r = change(*store, tooMany);
		CPPUNIT_ASSERT(r.outcome == GroupResult::TOO_MANY_MEMBERS);
		CPPUNIT_ASSERT(r.error.find("group.maxMembers is 2") != std::string::npos);
		Group g;
		CPPUNIT_ASSERT(!store->findGroup("g2", g));
		GroupChange modify;
		modify.kind = GroupChange::MODIFY;
		modify.gid = "g1";
		modify.add = {"dave"};
		modify.remove = {"bob"};
		r = change(*store, modify);
		CPPUNIT_ASSERT(r.outcome == GroupResult::OK);
		CPPUNIT_ASSERT(r.group.members == std::vector<std::string>({"alice", "carol", "dave"}));
		// PUT of an existing group keeps its created time.
		GroupChange again = put("g1", {"alice"});
		again.nowMs = 5000;
		CPPUNIT_ASSERT_EQUAL(Poco::Int64(1000), change(*store, again).group.createdMs);
		CPPUNIT_ASSERT(store->findGroup("g1", g));
		CPPUNIT_ASSERT(g.members == std::vector<std::string>({"alice"}));
		modify.gid = "nope";
		CPPUNIT_ASSERT(change(*store, modify).outcome == GroupResult::NOT_FOUND);
		change(*store, put("g0", {"x"}));
		change(*store, put("h1", {"x"}));
		bool truncated = true;
		CPPUNIT_ASSERT(store->listGroups("g", 10, truncated) == std::vector<std::string>({"g0", "g1"}));
		CPPUNIT_ASSERT(!truncated);
		CPPUNIT_ASSERT(store->listGroups("", 2, truncated) == std::vector<std::string>({"g0", "g1"}));
		CPPUNIT_ASSERT(truncated);
		GroupChange remove;
		remove.kind = GroupChange::REMOVE;
		remove.gid = "g1";
		CPPUNIT_ASSERT(change(*store, remove).outcome == GroupResult::OK);
		CPPUNIT_ASSERT(!store->findGroup("g1", g));
		CPPUNIT_ASSERT(change(*store, remove).outcome == GroupResult::NOT_FOUND);
		// Durable like messages.
		store->close();
		auto reopened = open(options());
		CPPUNIT_ASSERT(reopened->findGroup("h1", g));
		CPPUNIT_ASSERT(g.members == std::vector<std::string>({"x"}));
	}

	void testGroupMessages()
	{
		auto store = open(options());
		change(*store, put("team", {"alice", "bob", "carol"}));
		CPPUNIT_ASSERT(appendToGroup(*store, "mallory", "team", 1, "x").outcome == AppendResult::NOT_MEMBER);
		CPPUNIT_ASSERT(appendToGroup(*store, "alice", "nope", 1, "x").outcome == AppendResult::NOT_MEMBER);
		AppendResult first = appendToGroup(*store, "alice", "team", 1, "hello team");
		CPPUNIT_ASSERT(first.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(first.members == std::vector<std::string>({"alice", "bob", "carol"}));
		CPPUNIT_ASSERT(appendToGroup(*store, "alice", "team", 1, "hello team").outcome == AppendResult::DUPLICATE);
		// One msg_id, one payload, a row for each member.
		CPPUNIT_ASSERT_EQUAL(1, count("SELECT count(*) FROM messages"));
		CPPUNIT_ASSERT_EQUAL(3, count("SELECT count(*) FROM inbox"));
		for (const char* uid: {"bob", "carol"})
		{
			PendingPage page = read(*store, uid, 0, 10);
			CPPUNIT_ASSERT_EQUAL(std::size_t(1), page.messages.size());
			CPPUNIT_ASSERT_EQUAL(first.msgId, page.messages[0].msgId);
			CPPUNIT_ASSERT_EQUAL(std::string("team"), page.messages[0].groupId);
			CPPUNIT_ASSERT_EQUAL(std::string(""), page.messages[0].toUid);
			CPPUNIT_ASSERT_EQUAL(std::string("alice"), page.messages[0].fromUid);
		}
		CPPUNIT_ASSERT(read(*store, "alice", 0, 10).messages.empty()); // her own, without carbons
		// Membership changes apply to later messages only.
		GroupChange swap;
		swap.kind = GroupChange::MODIFY;
		swap.gid = "team";
		swap.add = {"dave"};
		swap.remove = {"bob"};
		change(*store, swap);
		AppendResult second = appendToGroup(*store, "carol", "team", 1, "after");
		CPPUNIT_ASSERT(second.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), read(*store, "bob", 0, 10).messages.size());
		PendingPage dave = read(*store, "dave", 0, 10);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), dave.messages.size());
		CPPUNIT_ASSERT_EQUAL(second.msgId, dave.messages[0].msgId);
		CPPUNIT_ASSERT(appendToGroup(*store, "bob", "team", 2, "x").outcome == AppendResult::NOT_MEMBER);
	}

	void testCarbons()
	{
		Options o = options();
		auto store = open(o);
		NewMessage m = message("alice", "bob", 1, "from the phone");
		m.fromDevice = "phone";
		Poco::Event done;
		AppendResult r;
		store->append(m, [&](const AppendResult& result) { r = result; done.set(); });
		CPPUNIT_ASSERT(done.tryWait(10000));
		auto carbonsOf = [&](const std::string& device, bool carbons)
		{
			InboxReader reader;
			reader.uid = "alice";
			reader.device = device;
			reader.carbons = carbons;
			PendingPage page;
			Poco::Event read;
			store->readPending(reader, 0, 10, [&](PendingPage&& p) { page = std::move(p); read.set(); });
			CPPUNIT_ASSERT(read.tryWait(10000));
			return page.messages;
		};
		std::vector<StoredMessage> laptop = carbonsOf("laptop", true);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), laptop.size());
		CPPUNIT_ASSERT(laptop[0].sent);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), laptop[0].toUid);
		CPPUNIT_ASSERT_EQUAL(std::string("phone"), laptop[0].fromDevice);
		CPPUNIT_ASSERT(carbonsOf("laptop", false).empty());
		CPPUNIT_ASSERT(carbonsOf("phone", true).empty()); // the sending device never gets its own
	}

	void testHistory()
	{
		auto store = open(options());
		change(*store, put("team", {"alice", "bob"}));
		std::vector<Poco::UInt64> ids;
		ids.push_back(append(*store, "alice", "bob", 1, "a->b 1").msgId);
		ids.push_back(append(*store, "bob", "alice", 2, "b->a 2").msgId);
		ids.push_back(append(*store, "carol", "alice", 3, "c->a 3").msgId);
		ids.push_back(appendToGroup(*store, "bob", "team", 4, "team 4").msgId);
		ids.push_back(append(*store, "alice", "carol", 5, "a->c 5").msgId);
		HistoryQuery q;
		q.uid = "alice";
		q.limit = 2;
		HistoryPage page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[4], page.messages[0].msgId); // newest first, sent ones included
		CPPUNIT_ASSERT(page.messages[0].sent);
		CPPUNIT_ASSERT_EQUAL(ids[3], page.messages[1].msgId);
		CPPUNIT_ASSERT_EQUAL(std::string("team"), page.messages[1].groupId);
		CPPUNIT_ASSERT(page.more);
		q.beforeMsgId = ids[3];
		q.limit = 10;
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[0], page.messages[2].msgId);
		CPPUNIT_ASSERT(!page.more);
		// The conversation with bob: both directions, no group, no carol.
		q = HistoryQuery();
		q.uid = "alice";
		q.withUid = "bob";
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[1], page.messages[0].msgId);
		CPPUNIT_ASSERT_EQUAL(ids[0], page.messages[1].msgId);
		// Paged: both directions merged in order below before_msg_id.
		q.limit = 1;
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(ids[1], page.messages.at(0).msgId);
		CPPUNIT_ASSERT(page.more);
		q.beforeMsgId = ids[1];
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(ids[0], page.messages.at(0).msgId);
		CPPUNIT_ASSERT(!page.more);
		// Notes to oneself: once each, in the conversation with oneself.
		const Poco::UInt64 note = append(*store, "alice", "alice", 6, "a->a 6").msgId;
		q = HistoryQuery();
		q.uid = "alice";
		q.withUid = "alice";
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(note, page.messages[0].msgId);
		q.withUid = "nobody";
		CPPUNIT_ASSERT(history(*store, q).messages.empty());
		// The group, for a member; NOT_MEMBER for others.
		q = HistoryQuery();
		q.uid = "alice";
		q.groupId = "team";
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), page.messages.size());
		CPPUNIT_ASSERT_EQUAL(ids[3], page.messages[0].msgId);
		q.uid = "carol";
		CPPUNIT_ASSERT(history(*store, q).notMember);
		// Only what fits: the first entry always, then none beyond maxBytes.
		q = HistoryQuery();
		q.uid = "alice";
		q.maxBytes = 1;
		page = history(*store, q);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), page.messages.size());
		CPPUNIT_ASSERT(page.more);
		// Nothing sent before sinceMs.
		q = HistoryQuery();
		q.uid = "alice";
		q.sinceMs = Poco::Timestamp().epochMicroseconds() / 1000 + 60000;
		page = history(*store, q);
		CPPUNIT_ASSERT(page.messages.empty());
		CPPUNIT_ASSERT(!page.more);
	}

protected:
	Backend _backend;
};

} } // namespace imgate::test

#endif // imgate_test_DurableStoreContract_INCLUDED
