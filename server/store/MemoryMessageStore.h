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
#include "Poco/Mutex.h"
#include "Poco/Timestamp.h"
#include <atomic>
#include <deque>
#include <memory>
#include <map>
#include <unordered_map>
#include <vector>

namespace imgate {
namespace store {

class MemoryMessageStore: public MessageStore
	/// Sharded so that event loops rarely wait for each other: a
	/// recipient's queue lives in the shard of its uid, a sender's
	/// (client_msg_id -> msgId) memory in the shard of the sender's uid,
	/// each shard behind its own mutex. An append locks the sender's and
	/// the recipient's shard (in shard order), so a resend can never be
	/// stored twice. msgIds come from one atomic counter, taken under the
	/// recipient's lock: per recipient they increase in completion order.
	/// append() and readPending() complete inline.
	///
	/// So far it keeps the protocol 1.0 model: one device per uid (device
	/// ""), a queue of pending messages per recipient, acknowledged
	/// messages dropped at once (no history).
{
public:
	struct Limits
	{
		std::size_t maxPendingPerRecipient = 10000;
			/// A recipient with this many pending messages gets no more (RECIPIENT_FULL).
		std::size_t maxBytes = 256 * 1024 * 1024;
			/// Payload plus uid bytes of all pending messages (STORE_FULL above).
		std::size_t idempotencyEntries = 262144;
			/// The most recent (sender, client_msg_id) pairs remembered: each
			/// shard keeps its newest idempotencyEntries / shards (at least
			/// one) and forgets its oldest first. Bounds the memory a client
			/// can make the store keep by minting new sender uids.
		std::size_t shards = 16;
			/// Independent locks (1 to 1024).
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
		/// Calls done before it returns.
	void readHistory(const HistoryQuery& query, HistoryCallback done) override;
	void changeGroup(const GroupChange& change, GroupCallback done) override;
	bool findGroup(const std::string& gid, Group& group) override;
	std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) override;
	std::vector<StoredMessage> pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit);
		/// The same, returned directly.
	void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds) override;
	std::size_t pendingCount(const std::string& uid) override;
	std::string describe() const override;

	std::size_t bytes() const;
		/// Bytes accounted against Limits::maxBytes.

	std::size_t idempotencyEntries() const;
		/// (sender, client_msg_id) pairs remembered now.

private:
	struct Sent
	{
		Poco::UInt64 msgId;
		Poco::Int64 timestampMs;
	};
	struct Accepted
	{
		std::string fromUid;
		Poco::UInt64 clientMsgId;
	};
	struct Shard
	{
		mutable Poco::FastMutex mutex;
		std::unordered_map<std::string, std::map<Poco::UInt64, StoredMessage>> queues;     /// By recipient.
		std::unordered_map<std::string, std::unordered_map<Poco::UInt64, Sent>> senders;  /// By sender.
		std::deque<Accepted> acceptedOrder; /// Oldest first, for eviction.
	};

	enum
	{
		MAX_SHARDS = 1024
	};

	static std::size_t shardCount(const Limits& limits);
		/// limits.shards, within 1 .. MAX_SHARDS.
	std::size_t shardIndex(const std::string& uid) const;
	Shard& shardOf(const std::string& uid) const;
	static bool findSent(const Shard& senderShard, const NewMessage& message, AppendResult& result);
	void store(Shard& senderShard, Shard& recipientShard, NewMessage&& message, AppendResult& result);
		/// Caller holds both shards' mutexes.
	bool reserve(std::size_t bytes);
		/// Adds bytes to _bytes unless that passes maxBytes.
	void forgetOldest(Shard& senderShard);
		/// Caller holds the shard's mutex.
	static std::size_t cost(const StoredMessage& m);
	static std::size_t queueCost(const std::string& recipient);

	const Limits _limits;
	const std::size_t _entriesPerShard;
	std::atomic<Poco::UInt64> _lastMsgId;
	std::atomic<std::size_t> _bytes{0};
	std::vector<std::unique_ptr<Shard>> _shards;
};


} } // namespace imgate::store

#endif // imgate_store_MemoryMessageStore_INCLUDED
