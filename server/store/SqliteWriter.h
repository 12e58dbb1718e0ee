//
// SqliteWriter.h
//
// Layer: store
// The SQLite file's one writing connection: appends, acknowledgements
// and retention deletes, each batch in one transaction.
//

#ifndef imgate_store_SqliteWriter_INCLUDED
#define imgate_store_SqliteWriter_INCLUDED

#include "server/store/StoreWriter.h"
#include "server/store/WriterCaches.h"
#include "Poco/Data/Session.h"
#include "server/store/SqliteStatement.h"
#include <string>
#include <memory>

namespace imgate {
namespace store {

class SqliteWriter: public StoreWriter
	/// The SQLite file's writing connection (StoreWriter). The last msgId
	/// is saved with each commit that deletes messages, so deleting the
	/// newest rows cannot bring an id back.
{
public:
	SqliteWriter(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes, const Limits& limits);
		/// Opens the database with SqliteDatabase::openWriter(). Throws StoreException.

	void begin() override;
	void append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result) override;
	void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position) override;
	void commit() override;
		/// With an fsync under store.sync = full.
	void openDevice(const std::string& uid, const std::string& device) override;
	void changeGroup(const GroupChange& change, GroupResult& result) override;
	void probe(std::size_t bytes) override;
	void rollback() override;
	std::size_t deleteAcknowledged(Poco::UInt64 belowMsgId, std::size_t limit, Poco::UInt64& next) override;
	std::size_t deleteExpired(Poco::UInt64 belowMsgId, std::size_t limit) override;
	Poco::UInt64 lastMsgId() const override;

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

	Poco::Data::Session _session;
	const Limits _limits;
	Poco::UInt64 _lastMsgId = 0;
	Poco::UInt64 _committedMsgId = 0;
	Poco::UInt64 _savedMsgId = 0;     /// imgate_state's last_msg_id.
	bool _deletedMessages = false;    /// This transaction deleted messages: commit() saves _lastMsgId.
	WriterCaches _caches; /// Cleared on rollback.

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


} } // namespace imgate::store

#endif // imgate_store_SqliteWriter_INCLUDED
