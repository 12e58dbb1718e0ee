//
// SqliteReader.h
//
// Layer: store
// One reading connection of the durable store and its prepared queries.
//

#ifndef imgate_store_SqliteReader_INCLUDED
#define imgate_store_SqliteReader_INCLUDED

#include "server/store/MessageStore.h"
#include "Poco/Data/Session.h"
#include "server/store/SqliteStatement.h"
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace store {

class SqliteReader
	/// Used by one thread at a time. Reads see every transaction committed
	/// before the read began (WAL), never a partial one.
{
public:
	explicit SqliteReader(const std::string& path);
		/// Opens a read-only connection. Throws StoreException.

	void pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages);
		/// Appends the messages of inbox.uid's inbox with msgId above
		/// afterMsgId and above inbox.device's position (for a device
		/// without one, the highest of uid's devices), in msgId order, at
		/// most limit: those it received, and with carbons those it sent
		/// from other devices. The position and the messages are read in one
		/// snapshot. Throws Poco::Exception on an SQLite error.

	void history(const HistoryQuery& query, HistoryPage& page);
		/// Fills page (HISTORY): query.uid's inbox newest first, filtered,
		/// one snapshot. Throws Poco::Exception.

	bool findGroup(const std::string& gid, Group& group);
	std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated);

	std::size_t pendingCount(const std::string& uid);
		/// The messages uid receives above the highest position of its
		/// devices. Throws Poco::Exception.

	enum
	{
		HISTORY_ENTRY_OVERHEAD = HistoryQuery::ENTRY_OVERHEAD /// What an entry adds besides its payload and uids (MessageStore.h).
	};

	static std::size_t historyBytes(const StoredMessage& message);
		/// What message adds to a HistoryResponse, at most.

private:
	static StoredMessage inboxRow(const SqliteStatement& q);
		/// The current row of a query selecting msg_id, from_uid,
		/// from_device, to_uid, group_id, payload, created_ms, sent (the
		/// pending and the history query).
	void prepare();

	Poco::Data::Session _session;
	std::unique_ptr<SqliteStatement> _pendingQuery; /// After _session: finalized before it closes.
	std::unique_ptr<SqliteStatement> _pendingCarbonsQuery;
	std::unique_ptr<SqliteStatement> _countQuery;
	std::unique_ptr<SqliteStatement> _historyQuery;
	std::unique_ptr<SqliteStatement> _historyWithQuery;
	std::unique_ptr<SqliteStatement> _historyGroupQuery;
	std::unique_ptr<SqliteStatement> _memberQuery;
	std::unique_ptr<SqliteStatement> _groupQuery;
	std::unique_ptr<SqliteStatement> _membersQuery;
	std::unique_ptr<SqliteStatement> _groupsQuery;
	std::unique_ptr<SqliteStatement> _beginRead;
	std::unique_ptr<SqliteStatement> _endRead;
};

} } // namespace imgate::store

#endif // imgate_store_SqliteReader_INCLUDED
