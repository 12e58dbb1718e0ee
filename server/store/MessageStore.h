//
// MessageStore.h
//
// Layer: store
// Where accepted messages live until their recipient acknowledges them.
// The session layer sees only this interface; implementations:
// SqliteMessageStore (durable, the default) and MemoryMessageStore.
//

#ifndef imgate_store_MessageStore_INCLUDED
#define imgate_store_MessageStore_INCLUDED

#include "server/metrics/Counter.h"
#include "server/metrics/Histogram.h"
#include "Poco/Exception.h"
#include "Poco/Types.h"
#include <functional>
#include <string>
#include <vector>

namespace imgate {
namespace store {

struct NewMessage
	/// A message as the sender submitted it.
{
	std::string fromUid;
	std::string fromDevice; /// The sending device's position key ("" under session.devicePolicy = single).
	std::string toUid;
	Poco::UInt64 clientMsgId = 0;
	std::string payload;
	Poco::Int64 timestampMs = 0;
};


struct StoredMessage
	/// A message in a uid's inbox.
{
	Poco::UInt64 msgId = 0;
	std::string fromUid;
	std::string toUid;      /// The recipient of a 1:1 message.
	std::string payload;
	Poco::Int64 timestampMs = 0;
};


struct PendingPage
	/// The answer to readPending().
{
	bool ok = true;            /// False if the store could not read (it logs why); try again later.
	std::vector<StoredMessage> messages;
};


struct AppendResult
{
	enum Outcome
	{
		STORED,          /// Newly stored under msgId.
		DUPLICATE,       /// (fromUid, clientMsgId) was stored before as msgId; not stored again.
		RECIPIENT_FULL,  /// The recipient has too many pending messages.
		STORE_FULL,      /// The store as a whole is full (memory limit, disk or database size limit, write queue): retry later.
		FAILED           /// The store could not write (I/O error); error says why.
	};

	Outcome outcome = FAILED;
	Poco::UInt64 msgId = 0;
	Poco::Int64 timestampMs = 0;
	std::string error;
};


struct StoreMetrics
	/// What a store that commits to disk reports (GET /metrics). Written by
	/// its writer thread, read by any.
{
	StoreMetrics();

	metrics::Histogram commitSeconds;  /// From BEGIN until COMMIT returned (the fsync included).
	metrics::Histogram commitSize;     /// Sends plus acknowledgements in each successful commit.
	metrics::Counter failedCommits;    /// Rolled back (disk full, I/O error), the probes made while writes fail included.
};


class MessageStore
	/// Thread-safe: every member may be called from any loop.
	///
	/// Ordering contract: msgIds are unique in the store and, for each
	/// recipient, increase in the order appends complete; readPending()
	/// returns a recipient's messages in msgId order. So once a message with
	/// msgId N is visible to readPending(), no message with a smaller id can appear
	/// later for that recipient.
	///
	/// Model (protocol 1.1, docs/architecture.md): each uid has an inbox,
	/// the messages it receives in msgId order, and each of its devices a
	/// position: every message of the inbox up to it is acknowledged by
	/// that device. Under session.devicePolicy = single a uid has one
	/// device, "".
{
public:
	using AppendCallback = std::function<void(const AppendResult&)>;
	using PendingCallback = std::function<void(PendingPage&& page)>;

	virtual ~MessageStore();

	virtual void start();
		/// Starts the store's threads, if it has any; called once, before
		/// the loops start. Default: nothing.

	virtual void append(NewMessage message, AppendCallback done) = 0;
		/// Stores message, or finds that (fromUid, clientMsgId) was stored
		/// already (idempotent resend: done gets DUPLICATE and the original
		/// msgId and timestamp). done runs exactly once, on any thread
		/// (possibly before append() returns), with no store lock held,
		/// after the message is as durable as the store promises.

	virtual void readPending(const std::string& uid, const std::string& device, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done) = 0;
		/// Reads at most limit messages of uid's inbox that device has not
		/// acknowledged, with msgId > afterMsgId, in msgId order; never
		/// loads more than limit. A device without a position yet starts at
		/// the highest position of the uid's other devices (0 if none). done
		/// runs exactly once, on any thread (possibly before readPending()
		/// returns), with no store lock held. The caller's thread never
		/// waits for the disk: the durable store reads on its own threads.

	virtual void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds) = 0;
		/// device has acknowledged every message of uid's inbox up to
		/// position (a position never moves back), and msgIds, which may lie
		/// above it. Never waits for the disk: the durable store records
		/// the position with its next commit, but readPending() leaves
		/// position and msgIds out for reads issued after this call. If the
		/// server stops before that commit, they are delivered again
		/// (at-least-once); so are msgIds above the position after a
		/// restart.

	virtual std::size_t pendingCount(const std::string& uid) = 0;
		/// Messages uid receives that some device of uid has not
		/// acknowledged (all of them if none has a position), as of the last
		/// commit (an acknowledgement counts once it is committed).

	virtual std::string describe() const = 0;

	virtual const StoreMetrics* metrics() const;
		/// The commit metrics, or null for a store that does not commit
		/// (default: null).

	virtual bool writable(std::string& why) const;
		/// False while writes fail (why: the cause, naming the file), for
		/// GET /readyz. Default: true.
		/// One line for the start-up log ("memory (not durable)").

	virtual void close();
		/// Finishes outstanding work; called once at shutdown, after the
		/// loops have stopped. Default: nothing.
};


POCO_DECLARE_EXCEPTION(, StoreException, Poco::IOException)
	/// The store cannot be opened or used at start-up; the message names
	/// the file and the cause.

} } // namespace imgate::store

#endif // imgate_store_MessageStore_INCLUDED
