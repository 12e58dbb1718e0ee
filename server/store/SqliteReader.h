//
// SqliteReader.h
//
// Layer: store
// One reading connection of the durable store and its prepared queries.
//

#ifndef imgate_store_SqliteReader_INCLUDED
#define imgate_store_SqliteReader_INCLUDED

#include "server/store/StoreReader.h"
#include "Poco/Data/Session.h"
#include "server/store/SqliteStatement.h"
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace store {

class SqliteReader: public StoreReader
	/// A read-only connection to the SQLite file (StoreReader); its reads
	/// are WAL snapshots.
{
public:
	explicit SqliteReader(const std::string& path);
		/// Opens a read-only connection. Throws StoreException.

	void pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages) override;
	void history(const HistoryQuery& query, HistoryPage& page) override;
	bool findGroup(const std::string& gid, Group& group) override;
	std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) override;
	std::size_t pendingCount(const std::string& uid) override;

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
