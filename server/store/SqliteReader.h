//
// SqliteReader.h
//
// Layer: store
// One reading connection of the durable store and its prepared queries.
//

#ifndef imgate_store_SqliteReader_INCLUDED
#define imgate_store_SqliteReader_INCLUDED

#include "server/store/MessageStore.h"
#include "Poco/Data/LOB.h"
#include "Poco/Data/Session.h"
#include "Poco/Data/Statement.h"
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
	Poco::Data::Statement _pendingQuery;
	Poco::Data::Statement _countQuery;
	std::string _uid;
	Poco::Int64 _after = 0;
	Poco::Int64 _limit = 0;
	std::size_t _count = 0;
	std::vector<Poco::Int64> _ids;
	std::vector<std::string> _senders;
	std::vector<Poco::Data::BLOB> _payloads;
	std::vector<Poco::Int64> _timestamps;
};

} } // namespace imgate::store

#endif // imgate_store_SqliteReader_INCLUDED
