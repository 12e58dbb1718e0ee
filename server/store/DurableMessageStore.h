//
// DurableMessageStore.h
//
// Layer: store
// The durable MessageStore: a database (StoreDatabase: SQLite or
// PostgreSQL) written by one thread with group commit, read by a few
// reader threads.
//

#ifndef imgate_store_DurableMessageStore_INCLUDED
#define imgate_store_DurableMessageStore_INCLUDED

#include "server/store/MessageStore.h"
#include "server/store/StoreDatabase.h"
#include "Poco/Clock.h"
#include "Poco/Condition.h"
#include "Poco/Event.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include "Poco/RWLock.h"
#include "Poco/Runnable.h"
#include "Poco/Thread.h"
#include <atomic>
#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace imgate {
namespace store {

class DurableMessageStore: public MessageStore, private Poco::Runnable
	/// Group commit: append() and acknowledge() only queue. The writer
	/// thread takes everything queued since its last commit, writes it in
	/// one transaction (one fsync), and only then runs the append
	/// callbacks, so an OK MSG_SEND_ACK always follows the commit that
	/// holds its message. Event loops never wait for the disk: reads run
	/// on the reader threads, one connection each.
	///
	/// A commit that fails (disk full, I/O error, database server gone) is
	/// rolled back: its appends get STORE_FULL (full: a full batch is
	/// split so that what fits is still stored; or unavailable) or
	/// FAILED, its acknowledgements are
	/// retried with the next batch, and the error is logged once per
	/// episode (and once more when a whole batch succeeds again).
	///
	/// Retention runs on the writer thread between batches, in chunks of
	/// CLEANUP_CHUNK rows, so it never holds up a commit for long.
{
public:
	struct Options
	{
		std::size_t maxPendingPerRecipient = 10000;
		std::size_t maxQueuedBytes = 64 * 1024 * 1024; /// Appends waiting for the writer; beyond: STORE_FULL.
		unsigned retention = 30 * 86400;        /// Seconds after which any message is deleted.
		unsigned deliveredRetention = 86400;    /// Without history: seconds after which an acknowledged message is deleted; 0: at acknowledgement.
		unsigned historyRetention = 604800;     /// Seconds acknowledged messages stay readable by HISTORY; 0: no history (deliveredRetention applies).
		bool devices = false;                   /// session.devicePolicy = perDevice: senders' rows are kept for carbons even without history.
		unsigned cleanupInterval = 60;          /// Seconds between retention runs.
		unsigned readThreads = 2;
		std::size_t maxRowsPerCommit = 50000;   /// Inbox rows (a group message: one per member) one commit takes from the queue at most; the rest waits for the next.
	};

	struct Statistics
	{
		Poco::UInt64 commits = 0;          /// Successful write transactions.
		Poco::UInt64 storedMessages = 0;   /// Messages those commits stored.
		Poco::UInt64 failedCommits = 0;    /// Rolled back, failed readiness probes included.
		Poco::UInt64 expiredMessages = 0;  /// Messages deleted by store.retention.
	};

	DurableMessageStore(std::unique_ptr<StoreDatabase> pDatabase, const Options& options);
		/// Opens the writer and the reader connections of pDatabase;
		/// starts no thread (start() does). Throws StoreException naming
		/// the database and the cause.

	~DurableMessageStore() override;
		/// close().

	void start() override;
	void append(NewMessage message, AppendCallback done) override;
	void readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done) override;
	void readHistory(const HistoryQuery& query, HistoryCallback done) override;
	void changeGroup(const GroupChange& change, GroupCallback done) override;
	bool findGroup(const std::string& gid, Group& group) override;
	void readGroup(const std::string& gid, FindGroupCallback done) override;
		/// On a reader thread.
	std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) override;
	void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds) override;
	void openDevice(const std::string& uid, const std::string& device) override;
	std::size_t pendingCount(const std::string& uid) override;
		/// Reads on the caller's thread: for tests and the admin API, not
		/// for event loops.
	std::string describe() const override;
	bool announcesStored() const override;
		/// True: every commit's messages go to the listener (StoreListener).
	const StoreMetrics* metrics() const override;
	bool writable(std::string& why) const override;
	void close() override;
		/// Commits what is queued, then stops the threads. Idempotent.

	void flush();
		/// Waits until everything queued before the call has been written
		/// (committed, or failed and answered).

	void cleanup(Poco::Int64 nowMs);
		/// Runs retention as of nowMs (Unix milliseconds) on the writer
		/// thread and waits for it.

	Statistics statistics() const;

	enum
	{
		CLEANUP_CHUNK = 2000,
		MAX_RETRIED_ACKS = 1000000, /// Beyond this, failed acknowledgements are dropped (redelivered later).
		MAX_ACKED_ABOVE = 4096,     /// Ids acknowledged above a device's position that reads leave out...
		MAX_ACKED_DEVICES = 65536,  /// ... kept for at most this many devices at once (beyond: delivered again on the next read).
		INBOX_ROW_COST = 64,        /// Bytes a group message's queued send is charged per member beyond the first (store.maxQueuedBytes).
		MAX_KNOWN_GROUP_SIZES = 100000, /// Groups whose size the queue remembers for that charge (beyond: forgotten, charged as 1 row until seen again).
		FAILURE_BACKOFF_MS = 100,   /// Pause after a failed commit.
		FAILURE_PROBE_MS = 1000,    /// While writes fail and nothing is queued: try a write this often...
		PROBE_BYTES = 65536,        /// ... of this size (committed, then deleted).
		ACK_COMMIT_DELAY_MS = 50,   /// An acknowledgement waits at most this long for a send to share its commit...
		MAX_DELAYED_ACKS = 4096     /// ... and at most this many are queued before the writer commits them alone.
	};

private:
	struct QueuedAppend
	{
		NewMessage message;
		AppendCallback done;
		std::size_t bytes = 0;  /// Charged to _queuedBytes: the message, and a row per member of a group.
		std::size_t rows = 1;   /// Inbox rows it is expected to write (a group's last known size).
		Poco::UInt64 seq = 0;   /// Its number in _queuedSeq.
	};
	struct QueuedAck
	{
		std::string uid;
		std::string device;
		Poco::UInt64 position;
		bool open = false; /// openDevice(), not a position.
	};
	struct Acked
		/// A device's acknowledgements that reads must leave out before (or
		/// without) a commit: its newest position, and ids above it.
	{
		Poco::UInt64 position = 0;
		std::unordered_set<Poco::UInt64> above;
		unsigned queued = 0; /// Positions queued for the writer, not yet committed.
	};
	struct ReadRequest
	{
		InboxReader inbox;
		Poco::UInt64 afterMsgId;
		std::size_t limit;
		PendingCallback done;
	};
	using ReadTask = std::function<void(StoreReader* pReader)>;
		/// Runs on a reader thread with its connection, or with null when
		/// the readers stop before it ran (it must answer anyway).
	struct QueuedGroupChange
	{
		GroupChange change;
		GroupCallback done;
	};
	struct CleanupRequest
	{
		Poco::Int64 nowMs;
		Poco::Event* pDone;
	};
	struct Failure
	{
		bool happened = false;
		bool busy = false; /// Full or unavailable: SERVER_BUSY, retry later (else INTERNAL).
		std::string cause;
	};
	class ReaderThread;

	void run() override;
		/// The writer thread.
	void probeWrite();
		/// Writer thread: one small write transaction; clears the failure
		/// if it commits, counts a failed commit if not.
	void writeBatch(std::vector<QueuedAppend>& appends, std::vector<QueuedAck>& acks);
	void commitRange(std::vector<QueuedAppend>& appends, std::size_t first, std::size_t last,
		std::vector<QueuedAck>& acks, Poco::Int64 now, std::vector<AppendResult>& results, Failure& failure);
		/// Commits appends[first, last) and acks in one transaction. If the
		/// database is full, tries each half on its own, so what still fits
		/// is stored; what does not gets STORE_FULL.
	bool writeQueued();
		/// Writes everything queued as one batch; false if nothing was queued.
	void forgetAcks(const std::vector<QueuedAck>& acks);
		/// After acks were committed (or given up): drops what reads need not leave out any more.
	void cleanupRun(Poco::Int64 nowMs);
	void readerLoop(StoreReader& reader);
	void queueRead(ReadTask task);
	void serveRead(StoreReader& reader, ReadRequest& request);
	void serveHistory(StoreReader& reader, const HistoryQuery& query, HistoryCallback& done);
	void writeGroupChanges(std::vector<QueuedGroupChange>& changes);
		/// Each in a transaction of its own, before the batch of appends
		/// queued with them: those see the new members.
	static std::size_t cost(const NewMessage& message);
	void queueAck(QueuedAck&& ack);
		/// Under _queueMutex: queues ack for the writer (the delay starts
		/// with the first one queued); the caller decides on the wake-up.
	void announceStored(NewMessage& message, const AppendResult& result);
		/// Tells the listener of a message just committed (moves message's strings).
	void rememberGroupSizes(const std::vector<QueuedAppend>& appends, const std::vector<AppendResult>& results);
		/// The member counts of the groups just written, for the charge of
		/// the next sends to them.
	void rememberGroupSize(const std::string& gid, std::size_t members);
		/// Under _queueMutex.

	const Options _options;
	Poco::Logger& _logger;
	std::unique_ptr<StoreDatabase> _pDatabase;
	const std::string _name;            /// _pDatabase->name()
	std::unique_ptr<StoreWriter> _pWriter;
	std::vector<std::unique_ptr<ReaderThread>> _readers;

	// The writer's queue: every member down to _started is guarded by
	// _queueMutex (the threads and the flag only change in start()/close()).
	mutable Poco::FastMutex _queueMutex;
	Poco::Condition _queueReady;
	Poco::Condition _written;
	std::vector<QueuedAppend> _appends;
	std::vector<QueuedAck> _acks;
	std::vector<QueuedGroupChange> _groupChanges;
	std::deque<CleanupRequest> _cleanupRequests;
	std::size_t _queuedBytes = 0;
	std::unordered_map<std::string, std::size_t> _groupSizes; /// Members of the groups written to, as last seen.
	Poco::UInt64 _queuedSeq = 0;   /// Operations ever queued.
	Poco::UInt64 _writtenSeq = 0;  /// Operations the writer has finished with.
	bool _stopping = false;
	bool _writerIdle = false;      /// The writer waits with no acknowledgement queued and nothing written for ACK_COMMIT_DELAY_MS: a new one wakes it.
	bool _flushWanted = false;     /// flush() waits: queued acknowledgements go now.
	Poco::Clock _acksSince;        /// When the oldest queued acknowledgement came (_acks not empty; monotonic).
	Statistics _statistics;
	Poco::Thread _writerThread;
	bool _started = false;

	// The readers' queue, guarded by _readMutex.
	Poco::FastMutex _readMutex;
	Poco::Condition _readReady;
	std::deque<ReadTask> _reads;
	bool _readersStopping = false;
	Poco::FastMutex _countMutex;  /// Serializes pendingCount() on _readers[0]'s connection against close().

	// Acknowledged but not yet committed (or above a position): reads
	// leave these out. A read copies its device's entry under the lock
	// and queries without it, so the writer's removal after a commit can
	// never slip between its query and its filter, and acknowledge() never
	// waits for the database. Keyed by positionKey().
	Poco::RWLock _ackedLock;
	std::unordered_map<std::string, Acked> _acked;

	// Writer thread only.
	Poco::UInt64 _failuresInEpisode = 0;
	std::string _failureCause;          /// While writes fail; guarded by _queueMutex.
	StoreMetrics _metrics;
	Poco::UInt64 _refusedInEpisode = 0;
};

} } // namespace imgate::store

#endif // imgate_store_DurableMessageStore_INCLUDED
