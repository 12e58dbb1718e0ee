//
// PostgresWriter.h
//
// Layer: store
// A node's one writing connection to the PostgreSQL store.
//

#ifndef imgate_store_PostgresWriter_INCLUDED
#define imgate_store_PostgresWriter_INCLUDED

#include "server/store/PostgresConnection.h"
#include "server/store/StoreWriter.h"
#include "server/store/WriterCaches.h"
#include <string>
#include <vector>

namespace imgate {
namespace store {

class PostgresWriter: public StoreWriter
	/// The store's StoreWriter on PostgreSQL, where several imgated nodes
	/// may write at once. Every write transaction begins by locking the
	/// imgate_state rows (SELECT ... FOR UPDATE), so the nodes' transactions
	/// run one after another: msgIds are issued and committed in one order
	/// across the cluster (a recipient never sees a smaller id appear after
	/// a larger one), and writers never deadlock. Group commit keeps that
	/// cheap: one lock per batch, not per message.
	///
	/// What the lock reads also tells this writer whether another node
	/// wrote since its last transaction; if so it forgets its cached
	/// pending counts and group members, which may be stale.
	///
	/// A connection that broke is opened again by the next begin(); a
	/// transaction it broke in fails (its sends are refused as busy) and
	/// nothing of it is committed.
{
public:
	PostgresWriter(PostgresConnection&& connection, const std::string& name, bool synchronousCommit, const Limits& limits);
		/// Prepares the statements on connection; the schema must exist
		/// (PostgresDatabase). Throws StoreException.

	void begin() override;
		/// Reconnects if needed, BEGIN, and takes the lock.
	void append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result) override;
		/// appendAll() of one message.
	void appendAll(const std::vector<const NewMessage*>& messages, Poco::Int64 nowMs, std::vector<AppendResult>& results) override;
		/// The pending counts it lacks in one query, then every insert in
		/// pipeline mode: a batch costs a few round trips, not one per
		/// message. The outcomes are append()'s.
	void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position) override;
	void openDevice(const std::string& uid, const std::string& device) override;
	void commit() override;
	void changeGroup(const GroupChange& change, GroupResult& result) override;
	void probe(std::size_t bytes) override;
	void rollback() override;
	std::size_t deleteAcknowledged(Poco::UInt64 belowMsgId, std::size_t limit, Poco::UInt64& next) override;
	std::size_t deleteExpired(Poco::UInt64 belowMsgId, std::size_t limit) override;
	Poco::UInt64 lastMsgId() const override;

private:
	void prepare();
	bool findSent(const NewMessage& message, AppendResult& result);
	const std::vector<std::string>* members(const std::string& gid);
		/// The group's members (sorted), from the cache or the database;
		/// null if it does not exist. Valid until the next call.
	bool readGroup(const std::string& gid, Group& group);
	void countPending(const std::vector<std::string>& uids);
		/// Reads the counts of uids into the cache, in one query.
	bool stale(const std::string& uid);
		/// The cached count of uid (at the limit) may be too high: an
		/// acknowledgement here since it was read, one another node
		/// committed (uid's highest position moved), or it was read
		/// RECOUNT_MS ago or more (another node's retention run may have
		/// deleted messages: no position shows that). Then it is dropped.
	std::size_t pendingCount(const std::string& uid);
		/// From the cache or the database: never below the true count
		/// (appends add to it, acknowledgements mark it inexact, another
		/// node's writes clear it).

	static Poco::Int64 monotonicMs();

	enum
	{
		RECOUNT_MS = 1000 /// A full recipient's count is read again at most this often (besides acknowledgements).
	};

	PostgresConnection _connection;
	const Limits _limits;
	Poco::UInt64 _lastMsgId = 0;
	Poco::UInt64 _committedMsgId = 0;  /// imgate_state's last_msg_id as this writer last saw or saved it.
	Poco::Int64 _groupVersion = -1;    /// imgate_state's group_version, likewise.
	WriterCaches _caches; /// Cleared on rollback and reconnect; counts when another node stored, members when it changed a group.

	PostgresConnection::Statement _lockState;
	PostgresConnection::Statement _saveLastMsgId;
	PostgresConnection::Statement _bumpGroupVersion;
	PostgresConnection::Statement _findSent;
	PostgresConnection::Statement _insert;
	PostgresConnection::Statement _insertGroupMessage;
	PostgresConnection::Statement _selectGroup;
	PostgresConnection::Statement _selectMembers;
	PostgresConnection::Statement _insertGroup;
	PostgresConnection::Statement _deleteGroup;
	PostgresConnection::Statement _insertMembers;
	PostgresConnection::Statement _deleteMembers;
	PostgresConnection::Statement _countPending;
	PostgresConnection::Statement _countPendingOf;
	PostgresConnection::Statement _highestPosition;
	PostgresConnection::Statement _savePosition;
	PostgresConnection::Statement _deleteAcknowledgedOf;
	PostgresConnection::Statement _openDevice;
	PostgresConnection::Statement _saveProbe;
	PostgresConnection::Statement _dropProbe;
	PostgresConnection::Statement _inboxRange;
	PostgresConnection::Statement _deleteAcknowledgedIn;
	PostgresConnection::Statement _deleteExpired;
};


inline Poco::UInt64 PostgresWriter::lastMsgId() const
{
	return _lastMsgId;
}

} } // namespace imgate::store

#endif // imgate_store_PostgresWriter_INCLUDED
