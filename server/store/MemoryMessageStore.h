//
// MemoryMessageStore.h
//
// Layer: store
// A MessageStore in process memory: fast, bounded, and not durable (a
// restart loses every pending message). For tests and for deployments that
// choose speed over durability; the start-up log says so.
//

#ifndef imgate_store_MemoryMessageStore_INCLUDED
#define imgate_store_MemoryMessageStore_INCLUDED

#include "server/store/MessageStore.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include "Poco/Timestamp.h"
#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace imgate {
namespace store {

class MemoryMessageStore: public MessageStore
	/// The protocol 1.1 model of MessageStore (docs/architecture.md) in
	/// memory, behaving like the durable store: a message's payload is
	/// kept once and shared by its inbox rows; each uid has an inbox (the
	/// rows of the messages it receives and, under Limits::recordSent, of
	/// those it sends, in msgId order) and each of its devices a position
	/// plus the ids it acknowledged above it. Every call completes inline,
	/// on the caller's thread, and runs its callback before it returns.
	///
	/// Sharded so that event loops rarely wait for each other: a uid's
	/// inbox and its (device, client_msg_id) -> msgId memory live in the
	/// shard of the uid, each shard behind its own mutex. Lock order, which
	/// every call follows (so no two calls can wait for each other in a
	/// cycle): the groups' map lock, then one group's lock, then shard
	/// locks in increasing shard index. Callbacks run after every lock is
	/// released.
	///  - A 1:1 append holds the sender's and the recipient's shard: a
	///    resend can never be stored twice.
	///  - A group append holds the group's lock (so no membership change
	///    can slip in: a change applies exactly to the messages appended
	///    after it), then the shards of the sender and of every member (for
	///    a large group, all of them: memory-store group sends are
	///    serialized against everything that touches those shards).
	///  - msgIds come from one atomic counter, taken while every inbox the
	///    message goes to is locked: per inbox they increase in completion
	///    order, and every member of a group sees its messages in the same
	///    (msgId) order.
	///  - changeGroup() holds the map lock and the group's lock; reads of
	///    an inbox hold its shard; readHistory() checks membership first,
	///    then reads the inbox.
	///
	/// Retention. Without history (Limits::historyRetention = 0, protocol
	/// 1.0's behaviour and cost) a row goes as soon as every device of its
	/// uid has acknowledged it, by position or by id. With history, a row
	/// at or below every position of its uid stays until historyRetention
	/// has passed since its message's timestamp: cleanup() removes such
	/// rows (and Limits::retention's expired ones) on the caller's clock,
	/// every append removes those at the front of the inboxes it touches,
	/// and a send that finds the store full runs cleanup() (at most once
	/// every RECLAIM_INTERVAL_MS) and tries once more, both on the
	/// message's clock. If that leaves the store above
	/// RECLAIM_TARGET_PERCENT full, history gives way to new messages: rows
	/// acknowledged by every device go, oldest first (kept a quarter as
	/// long, then a sixteenth, ..., then not at all), with a warning. Rows go in msgId order: one whose timestamp lies
	/// in the future keeps the rows behind it. A message goes with its
	/// last row.
	///
	/// A device gets its position at openDevice() (the highest of its
	/// uid's) or at its first acknowledgement. Device "" alone (the device
	/// of session.devicePolicy = single) without history needs none: what
	/// it acknowledged is gone at once, so the rows left are exactly those
	/// it has not, and acknowledging costs what it did in protocol 1.0. A
	/// uid with no rows left and no device but "" is forgotten entirely;
	/// other devices' positions are kept (a device that is known must not
	/// become a new one, which would start at the highest position).
	///
	/// Limits::maxPendingPerRecipient refuses a 1:1 message to a uid with
	/// that many received messages no device of it has acknowledged
	/// (RECIPIENT_FULL); a group message is never refused for a full
	/// member (it counts, though).
	/// Limits::maxBytes (STORE_FULL) accounts every byte kept for messages,
	/// inbox rows, inboxes, device positions and groups; the idempotency
	/// memory has its own bound (Limits::idempotencyEntries).
{
public:
	struct Limits
	{
		std::size_t maxPendingPerRecipient = 10000;
			/// A recipient with this many received messages that none of
			/// its devices has acknowledged gets no more 1:1 messages
			/// (RECIPIENT_FULL).
		std::size_t maxBytes = 256 * 1024 * 1024;
			/// Every byte the store keeps, idempotency memory aside
			/// (STORE_FULL above).
		std::size_t idempotencyEntries = 262144;
			/// The most recent (sender, device, client_msg_id) triples
			/// remembered: each shard keeps its newest idempotencyEntries /
			/// shards (at least one) and forgets its oldest first. Bounds
			/// the memory a client can make the store keep by minting new
			/// sender uids.
		std::size_t shards = 16;
			/// Independent locks (1 to 1024).
		unsigned historyRetention = 0;
			/// Seconds acknowledged messages stay readable by
			/// readHistory() (store.historyRetention). 0: no history,
			/// acknowledged rows are dropped at once (protocol 1.0).
		bool recordSent = false;
			/// Add a "sent" row to the sender's inbox too (carbons and
			/// history; the durable store does when historyRetention > 0).
		unsigned retention = 0;
			/// Seconds after which any row goes, acknowledged or not
			/// (store.retention), when cleanup() or an append passes by.
			/// 0: never.
	};

	explicit MemoryMessageStore(const Limits& limits);
		/// msgIds start at initialMsgId().

	MemoryMessageStore(const Limits& limits, Poco::UInt64 firstMsgId);
		/// msgIds start at firstMsgId (> 0).

	static Poco::UInt64 initialMsgId(const Poco::Timestamp& now = Poco::Timestamp());
		/// (Unix milliseconds of now) << 10: above every id an earlier process
		/// issued unless it averaged over 1024 messages per millisecond, so
		/// ids keep increasing across restarts (nothing is persisted); and
		/// below 2^53, so clients that keep ids in a double (JavaScript) keep
		/// them exact until the year 2248.

	~MemoryMessageStore() override;

	void append(NewMessage message, AppendCallback done) override;
	void readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done) override;
	void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds) override;
		/// Ids above position that are not in uid's inbox are ignored; at
		/// most MAX_ACKED_ABOVE are kept per device (the rest are delivered
		/// again).
	void openDevice(const std::string& uid, const std::string& device) override;
	void readHistory(const HistoryQuery& query, HistoryCallback done) override;
		/// An entry's bytes are its payload, from uid, to uid and group id
		/// plus HISTORY_ENTRY_OVERHEAD, as in the durable store;
		/// query.maxBytes = 0 sets no byte bound. Reads under the uid's
		/// shard lock, newest row first: a page with filters that few rows
		/// match may look at the whole inbox.
	void changeGroup(const GroupChange& change, GroupCallback done) override;
	bool findGroup(const std::string& gid, Group& group) override;
	std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) override;
	std::size_t pendingCount(const std::string& uid) override;
		/// Acknowledgements (by position or by id) count at once: there is
		/// nothing to commit.
	std::string describe() const override;

	std::vector<StoredMessage> pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit);
		/// What readPending() gives device "" without carbons, returned
		/// directly.

	std::size_t cleanup(Poco::Int64 nowMs);
		/// Retention as of nowMs (Unix milliseconds): removes the rows
		/// every device of their uid has passed whose message is older
		/// than Limits::historyRetention (with history), and any row older
		/// than Limits::retention (if set). Returns how many rows went.
		/// Locks one shard at a time.

	std::size_t bytes() const;
		/// Bytes accounted against Limits::maxBytes.

	std::size_t idempotencyEntries() const;
		/// (sender, device, client_msg_id) triples remembered now.

	enum
	{
		MAX_SHARDS = 1024,
		MAX_ACKED_ABOVE = 4096,       /// Ids a device acknowledged above its position, kept per device.
		HISTORY_ENTRY_OVERHEAD = HistoryQuery::ENTRY_OVERHEAD, /// What an entry adds besides its payload and uids (MessageStore.h).
		RECLAIM_INTERVAL_MS = 1000,   /// A full store runs cleanup() for a send at most this often...
		RECLAIM_TARGET_PERCENT = 75   /// ... and then drops the oldest history until it is this full.
	};

private:
	struct Message: StoredMessage
		/// A message's one copy, shared by its inbox rows (in any shard):
		/// it goes with the last of them (unref()). A read copies it as a
		/// whole (sent is the row's).
	{
		std::size_t cost = 0;                    /// Bytes accounted for it.
		mutable std::atomic<std::size_t> rows{0}; /// Inbox rows that refer to it.
	};
	struct Row
	{
		Poco::UInt64 msgId;
		const Message* pMessage; /// Counted in its rows; null: a gap, a removed row not yet at either end.
		bool sent;               /// The uid sent it (a carbon), not received it.
		bool counted;            /// Counted in Inbox::pending.
	};
	struct Device
	{
		std::string name;
		Poco::UInt64 position = 0;
		std::set<Poco::UInt64> above; /// Acknowledged above position, rows still in the inbox only.
	};
	struct Inbox
		/// Rows are only ever added at the end (the ordering contract), so
		/// a vector holds them: rows[head] onwards, in msgId order. A row
		/// removed between others stays as a gap until it reaches an end.
	{
		Inbox() = default;
		Inbox(Inbox&& other) = default;
		~Inbox();
			/// Lets go of the messages of its rows (the store's bytes are
			/// not given back: only the store's destructor gets here with
			/// rows left).

		std::vector<Row> rows;
		std::size_t head = 0;
		std::size_t live = 0;        /// Rows that are not gaps.
		std::vector<Device> devices; /// Those with a position; a few.
		std::size_t pending = 0;     /// Received rows no device has acknowledged.
	};
	struct Sent
	{
		Poco::UInt64 msgId;
		Poco::Int64 timestampMs;
	};
	struct Accepted
	{
		std::string sender; /// positionKey()
		Poco::UInt64 clientMsgId;
	};
	using InboxMap = std::unordered_map<std::string, Inbox>;
	struct Shard
	{
		mutable Poco::FastMutex mutex;
		InboxMap inboxes;                                                                  /// By uid.
		std::unordered_map<std::string, std::unordered_map<Poco::UInt64, Sent>> senders;  /// By positionKey().
		std::deque<Accepted> acceptedOrder; /// Oldest first, for eviction.
	};
	struct GroupEntry
	{
		Poco::FastMutex mutex;            /// Held by appends to the group for their whole length.
		std::vector<std::string> members; /// Sorted; changed under both _groupsMutex and mutex.
		Poco::Int64 createdMs = 0;
		bool removed = false;             /// Deleted while an append waited for mutex.
	};
	struct Target
		/// An inbox an append writes a row to.
	{
		const std::string* pUid;
		bool sent;
		Shard* pShard;
		Inbox* pInbox;  /// Null until it exists.
	};
	class ShardLocks;

	static std::size_t shardCount(const Limits& limits);
		/// limits.shards, within 1 .. MAX_SHARDS.
	std::size_t shardIndex(const std::string& uid) const;
	Shard& shardOf(const std::string& uid) const;
	static bool findSent(const Shard& senderShard, const std::string& sender, Poco::UInt64 clientMsgId, AppendResult& result);
		/// sender: positionKey(). Caller holds the sender's shard.
	void route(NewMessage& message, AppendResult& result);
		/// appendToUid() or appendToGroup(). They move message's strings
		/// only into a stored message (result STORED).
	bool reclaim(Poco::Int64 nowMs);
		/// The store is full: cleanup(nowMs), at most once every
		/// RECLAIM_INTERVAL_MS. True if that removed something.
	void appendToUid(NewMessage& message, AppendResult& result);
	void appendToGroup(NewMessage& message, AppendResult& result);
	void store(Shard& senderShard, std::string&& sender, NewMessage& message, Target* targets, std::size_t n, bool checkPending, AppendResult& result);
		/// Writes a row to each of the n targets (with checkPending, the
		/// first is a 1:1 message's recipient). Caller holds the shards of
		/// the sender and of every target.
	void remember(Shard& senderShard, std::string&& sender, Poco::UInt64 clientMsgId, const AppendResult& result);
		/// Caller holds the sender's shard.
	bool reserve(std::size_t bytes);
		/// Adds bytes to _bytes unless that passes maxBytes.
	void forgetOldest(Shard& senderShard);
		/// Caller holds the shard's mutex.
	std::shared_ptr<GroupEntry> group(const std::string& gid) const;
	static void copy(const Message& message, bool sent, std::vector<StoredMessage>& messages);
		/// Appends message as a row of the reader's inbox.

	// Inboxes: the caller holds the inbox's shard.
	static bool acknowledgedByAll(const Inbox& inbox, Poco::UInt64 msgId);
		/// Every known device has (none known: false).
	static bool acknowledgedByAny(const Inbox& inbox, Poco::UInt64 msgId);
	static Poco::UInt64 lowestPosition(const Inbox& inbox);
	static std::size_t lowerBound(const Inbox& inbox, Poco::UInt64 msgId);
		/// The index of the first row (gaps included) with an id >= msgId.
	static std::size_t upperBound(const Inbox& inbox, Poco::UInt64 msgId);
		/// The index of the first row (gaps included) with an id > msgId.
	// They add the bytes they free to freed; the caller gives them back
	// (one atomic operation per call, not per row).
	static std::size_t unref(const Message* pMessage);
		/// One row less refers to pMessage: deletes it with the last one
		/// and returns its cost, else 0.
	void settle(Inbox& inbox, std::size_t first, std::size_t last, std::size_t& freed);
		/// Recounts rows [first, last) and, without history, removes those
		/// every device has acknowledged.
	static void removeRow(Inbox& inbox, std::size_t index, std::size_t& freed);
		/// Leaves a gap; compact() trims it.
	static void compact(Inbox& inbox, std::size_t& freed);
		/// Trims the gaps at both ends.
	std::size_t prune(Inbox& inbox, Poco::Int64 nowMs, std::size_t& freed);
	std::size_t prune(Inbox& inbox, Poco::Int64 nowMs, Poco::Int64 historyKeptMs, std::size_t& freed);
		/// prune() keeping acknowledged rows only historyKeptMs (not historyRetention).
	std::size_t cleanup(Poco::Int64 nowMs, Poco::Int64 historyKeptMs);
		/// cleanup() keeping acknowledged rows only historyKeptMs.
		/// Removes rows from the front while retention allows; returns how many.
	InboxMap::iterator inboxOf(Shard& shard, const std::string& uid);
		/// uid's inbox, created if missing.
	std::size_t findDevice(Inbox& inbox, const std::string& device, Poco::UInt64 position, std::size_t& freed);
		/// The index of device in inbox.devices; a new device starts at position.
	bool forgettable(const Inbox& inbox) const;
	static void forget(Shard& shard, InboxMap::iterator it, std::size_t& freed);
		/// Drops an inbox that forgettable() allows to.

	static std::size_t messageCost(const NewMessage& message);
	static std::size_t rowCost();
	static std::size_t inboxCost(const std::string& uid);
	static std::size_t deviceCost(const std::string& device);
	static std::size_t groupCost(const std::string& gid, const std::vector<std::string>& members);
	static std::size_t historyBytes(const Message& message);

	const Limits _limits;
	Poco::Logger& _logger;
	const std::size_t _entriesPerShard;
	std::atomic<Poco::UInt64> _lastMsgId;
	std::atomic<std::size_t> _bytes{0};
	std::atomic<Poco::Int64> _lastReclaimMs{std::numeric_limits<Poco::Int64>::min() / 2};
	std::atomic<Poco::Int64> _lastHistoryWarningMs{std::numeric_limits<Poco::Int64>::min() / 2};
	std::vector<std::unique_ptr<Shard>> _shards;
	mutable Poco::FastMutex _groupsMutex;
	std::map<std::string, std::shared_ptr<GroupEntry>> _groups; /// By gid, under _groupsMutex.
};


} } // namespace imgate::store

#endif // imgate_store_MemoryMessageStore_INCLUDED
