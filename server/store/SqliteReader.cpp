//
// SqliteReader.cpp
//
// Layer: store
//

#include "server/store/SqliteReader.h"
#include "server/store/SqliteDatabase.h"
#include "Poco/Data/SQLite/Utility.h"
#include <sqlite3.h>

using namespace Poco::Data::Keywords;

namespace imgate {
namespace store {

SqliteReader::SqliteReader(const std::string& path):
	_session(SqliteDatabase::openReader(path))
{
	prepare();
}


void SqliteReader::prepare()
{
	sqlite3* pDb = Poco::Data::SQLite::Utility::dbHandle(_session);
	// "delivered = 0" must appear literally for SQLite to use the partial index.
	_pendingQuery.reset(new SqliteStatement(pDb, "SELECT msg_id, from_uid, payload, created_ms FROM messages "
		"WHERE to_uid = ?1 AND delivered = 0 AND msg_id > ?2 ORDER BY msg_id LIMIT ?3"));
	_countQuery.reset(new SqliteStatement(pDb, "SELECT count(*) FROM messages WHERE to_uid = ?1 AND delivered = 0"));
}


void SqliteReader::pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages)
{
	SqliteStatement& q = *_pendingQuery;
	q.reset();
	try
	{
		q.bind(1, uid).bind(2, static_cast<Poco::Int64>(afterMsgId)).bind(3, static_cast<Poco::Int64>(limit));
		while (q.step())
		{
			StoredMessage m;
			m.msgId = static_cast<Poco::UInt64>(q.int64(0));
			m.fromUid = q.text(1);
			m.payload = q.blob(2);
			m.timestampMs = q.int64(3);
			messages.push_back(std::move(m));
		}
	}
	catch (Poco::Exception&)
	{
		q.reset(); // release the read transaction
		throw;
	}
	q.reset();
}


std::size_t SqliteReader::pendingCount(const std::string& uid)
{
	SqliteStatement& q = *_countQuery;
	q.reset();
	try
	{
		q.bind(1, uid);
		const std::size_t count = q.step() ? static_cast<std::size_t>(q.int64(0)) : 0;
		q.reset();
		return count;
	}
	catch (Poco::Exception&)
	{
		q.reset();
		throw;
	}
}

} } // namespace imgate::store
