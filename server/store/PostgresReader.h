//
// PostgresReader.h
//
// Layer: store
// One reading connection to the PostgreSQL store and its prepared queries.
//

#ifndef imgate_store_PostgresReader_INCLUDED
#define imgate_store_PostgresReader_INCLUDED

#include "server/store/PostgresConnection.h"
#include "server/store/StoreReader.h"
#include <string>
#include <vector>

namespace imgate {
namespace store {

class PostgresReader: public StoreReader
	/// The store's StoreReader on PostgreSQL. A read that needs more than
	/// one query (HISTORY of a group, a group and its members) runs them in
	/// one REPEATABLE READ READ ONLY transaction, one snapshot. A broken
	/// connection is opened again by the next read.
{
public:
	PostgresReader(PostgresConnection&& connection, const std::string& name);
		/// Prepares the queries on connection. Throws StoreException.

	void pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages) override;
	void history(const HistoryQuery& query, HistoryPage& page) override;
	bool findGroup(const std::string& gid, Group& group) override;
	std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) override;
	std::size_t pendingCount(const std::string& uid) override;

private:
	class Snapshot;

	void prepare();
	void readHistory(const HistoryQuery& query, HistoryPage& page);
	bool readGroup(const std::string& gid, Group& group);
		/// history() and findGroup() on the connection as it is (they
		/// run these again if it was lost).
	static StoredMessage inboxRow(const PostgresResult& result, int row);
		/// A row of a query selecting msg_id, from_uid, from_device,
		/// to_uid, group_id, payload, created_ms, sent.

	PostgresConnection _connection;
	PostgresConnection::Statement _pendingQuery;
	PostgresConnection::Statement _pendingCarbonsQuery;
	PostgresConnection::Statement _countQuery;
	PostgresConnection::Statement _historyQuery;
	PostgresConnection::Statement _historyWithQuery;
	PostgresConnection::Statement _historyGroupQuery;
	PostgresConnection::Statement _memberQuery;
	PostgresConnection::Statement _groupQuery;
	PostgresConnection::Statement _membersQuery;
	PostgresConnection::Statement _groupsQuery;
};

} } // namespace imgate::store

#endif // imgate_store_PostgresReader_INCLUDED
