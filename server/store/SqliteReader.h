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

	void pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages);
		/// Appends uid's undelivered messages with msgId > afterMsgId, in
		/// msgId order, at most limit. Throws Poco::Exception on an SQLite error.

	std::size_t pendingCount(const std::string& uid);
		/// uid's undelivered messages. Throws Poco::Exception.

private:
	void prepare();

	Poco::Data::Session _session;
	std::unique_ptr<SqliteStatement> _pendingQuery; /// After _session: finalized before it closes.
	std::unique_ptr<SqliteStatement> _countQuery;
};

} } // namespace imgate::store

#endif // imgate_store_SqliteReader_INCLUDED
