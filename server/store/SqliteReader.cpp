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
	_pendingQuery.reset(new SqliteStatement(pDb, "SELECT i.msg_id, m.from_uid, m.from_device, m.to_uid, m.group_id, m.payload, m.created_ms, i.sent "
		"FROM inbox i JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = ?1 AND (i.sent = 0 OR (?5 AND m.from_device <> ?2)) AND i.msg_id > max(?3, coalesce("
		"(SELECT acked FROM positions WHERE uid = ?1 AND device = ?2), (SELECT max(acked) FROM positions WHERE uid = ?1), 0)) "
		"ORDER BY i.msg_id LIMIT ?4"));
	_countQuery.reset(new SqliteStatement(pDb, "SELECT count(*) FROM inbox WHERE uid = ?1 AND sent = 0 "
		"AND msg_id > coalesce((SELECT min(acked) FROM positions WHERE uid = ?1), 0)"));
}


void SqliteReader::pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages)
{
	SqliteStatement& q = *_pendingQuery;
	q.reset();
	try
	{
		q.bind(1, inbox.uid).bind(2, inbox.device).bind(3, static_cast<Poco::Int64>(afterMsgId)).bind(4, static_cast<Poco::Int64>(limit))
			.bind(5, inbox.carbons ? 1 : 0);
		while (q.step())
		{
			StoredMessage m;
			m.msgId = static_cast<Poco::UInt64>(q.int64(0));
			m.fromUid = q.text(1);
			m.fromDevice = q.text(2);
			m.toUid = q.text(3);
			m.groupId = q.text(4);
			m.payload = q.blob(5);
			m.timestampMs = q.int64(6);
			m.sent = q.int64(7) != 0;
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
