//
// SqliteWriter.h
//
// Layer: store
// The durable store's one writing connection: appends, acknowledgements
// and retention deletes, each batch in one transaction.
//

#ifndef imgate_store_SqliteWriter_INCLUDED
#define imgate_store_SqliteWriter_INCLUDED

#include "server/store/MessageStore.h"
#include "Poco/Data/Session.h"
#include "server/store/SqliteStatement.h"
#include <string>
#include <memory>
#include <unordered_map>

namespace imgate {
namespace store {

class SqliteWriter
	/// Writer thread only.
	///
	/// An append adds the message once and a row to its recipient's
	/// inbox (and, under recordSent, one to its sender's); an
	/// acknowledgement moves a position. msg_ids: max(last + 1,
	/// now_ms << 10). They increase with every
	/// append, never repeat (the last one is saved with each commit, so
	/// deleting the newest rows cannot bring an id back), stay below 2^53,
	/// and encode their time, so retention deletes by primary-key range.
{
public:
	struct Limits
	{
		std::size_t maxPendingPerRecipient = 10000;
		bool deleteOnAcknowledge = false; /// Delete inbox rows once every device of their uid has acknowledged them.
		bool recordSent = true;           /// Add a row to the sender's inbox too (history, carbons).
	};

	SqliteWriter(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes, const Limits& limits);
		/// Opens the database with SqliteDatabase::openWriter(). Throws StoreException.

	void begin();
		/// Starts a write transaction. Throws Poco::Exception.

	void append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result);
		/// Inside a transaction: result becomes DUPLICATE (with the first
		/// copy's msgId and timestamp), RECIPIENT_FULL, or STORED with a new
		/// msgId (durable only once commit() returns). Throws Poco::Exception.

	void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position);
		/// Inside a transaction: moves device's position up to position
		/// (never down); under deleteOnAcknowledge, deletes the inbox rows
		/// every device of uid has acknowledged and the messages no inbox
		/// row refers to any more.

	void commit();
		/// Commits (with an fsync under store.sync = full). Throws Poco::Exception.

	void openDevice(const std::string& uid, const std::string& device);
		/// Inside a transaction: gives device a position if it has none,
		/// the highest of uid's devices (0 if none).

	void changeGroup(const GroupChange& change, GroupResult& result);
		/// In a transaction of its own: applies change (result OK), or
		/// leaves everything as it was (NOT_FOUND, TOO_MANY_MEMBERS).
		/// Throws Poco::Exception (then rollback()).

	void probe(std::size_t bytes);
		/// Whether the database takes writes again: commits a row of bytes,
		/// then commits its deletion. Throws Poco::Exception (then rollback()).

	void rollback();
		/// Abandons the transaction, if one is open, and what it did to the
		/// writer's own bookkeeping. Never throws.

	std::size_t deleteAcknowledged(Poco::UInt64 belowMsgId, std::size_t limit, Poco::UInt64& next);
		/// In a transaction of its own: of the first limit inbox rows with
		/// next <= msgId < belowMsgId, deletes those every device of their
		/// uid has acknowledged, then the messages no row refers to any
		/// more. Returns how many rows it looked at (limit: more may
		/// follow), and sets next where the following call should start.

	std::size_t deleteExpired(Poco::UInt64 belowMsgId, std::size_t limit);
		/// In a transaction of its own: deletes at most limit messages with
		/// msgId below belowMsgId, acknowledged or not (store.retention),
		/// and their inbox rows. Returns how many messages.

	Poco::UInt64 lastMsgId() const;

	static Poco::UInt64 msgIdAt(Poco::Int64 unixMs);
		/// The smallest msgId issued at unixMs (unixMs << 10).

private:
	void prepare();
		/// Compiles the statements, once.
	bool findSent(const NewMessage& message, AppendResult& result);
		/// If (fromUid, fromDevice, clientMsgId) is stored, result becomes
		/// DUPLICATE with its msgId and timestamp, and returns true.
	void addToInbox(const std::string& uid, Poco::UInt64 msgId, bool sent);
	void appendToGroup(const NewMessage& message, Poco::UInt64 id, AppendResult& result);
	const std::vector<std::string>* members(const std::string& gid);
		/// The group's members (sorted), from the cache or the database;
		/// null if it does not exist. Valid until the next call.
	bool readGroup(const std::string& gid, Group& group);
	void deleteIfUnreferenced(Poco::UInt64 msgId);
	Poco::UInt64 lowestPosition(const std::string& uid);
		/// The lowest position of uid's devices; 0 if it has none.
	std::size_t pendingCount(const std::string& uid);
		/// From the cache or the database. The cache is an upper bound
		/// (appends add to it, acknowledgements leave it but mark it
		/// inexact), so an inexact count at the limit is read again before
		/// a refusal.

	enum
	{
		MAX_CACHED_COUNTS = 65536,
		MAX_CACHED_GROUPS = 4096
	};

	Poco::Data::Session _session;
	const Limits _limits;
	Poco::UInt64 _lastMsgId = 0;
	Poco::UInt64 _committedMsgId = 0;
	Poco::UInt64 _savedMsgId = 0;     /// imgate_state's last_msg_id.
	bool _deletedMessages = false;    /// This transaction deleted messages: commit() saves _lastMsgId.
	struct PendingCount
	{
		std::size_t count = 0; /// Never below the true count.
		bool exact = false;    /// Read from the database, and no acknowledgement since.
	};
	std::unordered_map<std::string, PendingCount> _pendingCounts; /// Cleared on rollback and expiry.
	std::unordered_map<std::string, std::vector<std::string>> _members; /// A cache of group members; cleared on rollback and by each change.

	std::unique_ptr<SqliteStatement> _begin;
	std::unique_ptr<SqliteStatement> _commit;
	std::unique_ptr<SqliteStatement> _findSent;
	std::unique_ptr<SqliteStatement> _insert;
	std::unique_ptr<SqliteStatement> _insertGroupMessage;
	std::unique_ptr<SqliteStatement> _selectMembers;
	std::unique_ptr<SqliteStatement> _selectGroup;
	std::unique_ptr<SqliteStatement> _insertGroup;
	std::unique_ptr<SqliteStatement> _deleteGroup;
	std::unique_ptr<SqliteStatement> _insertMember;
	std::unique_ptr<SqliteStatement> _deleteMember;
	std::unique_ptr<SqliteStatement> _deleteMembers;
	std::unique_ptr<SqliteStatement> _insertInbox;
	std::unique_ptr<SqliteStatement> _countPending;
	std::unique_ptr<SqliteStatement> _savePosition;
	std::unique_ptr<SqliteStatement> _openDevice;
	std::unique_ptr<SqliteStatement> _lowestPosition;
	std::unique_ptr<SqliteStatement> _deleteAcknowledgedOf;  /// Under deleteOnAcknowledge: one uid's rows up to a position.
	std::unique_ptr<SqliteStatement> _deleteUnreferenced;
	std::unique_ptr<SqliteStatement> _saveLastMsgId;
	std::unique_ptr<SqliteStatement> _saveProbe;
	std::unique_ptr<SqliteStatement> _dropProbe;
	std::unique_ptr<SqliteStatement> _inboxRange;      /// Retention: inbox rows by msgId.
	std::unique_ptr<SqliteStatement> _deleteInboxRow;
	std::unique_ptr<SqliteStatement> _expiredMessages;
	std::unique_ptr<SqliteStatement> _deleteMessage;
	std::unique_ptr<SqliteStatement> _deleteInboxOf;   /// Every inbox row of a message.
};


inline Poco::UInt64 SqliteWriter::lastMsgId() const
{
	return _lastMsgId;
}


inline Poco::UInt64 SqliteWriter::msgIdAt(Poco::Int64 unixMs)
{
	return unixMs > 0 ? static_cast<Poco::UInt64>(unixMs) << 10 : 0;
}

} } // namespace imgate::store

#endif // imgate_store_SqliteWriter_INCLUDED
