//
// SqliteReader.cpp
//
// Layer: store
//

#include "server/store/SqliteReader.h"
#include "server/store/SqliteDatabase.h"

using namespace Poco::Data::Keywords;

namespace imgate {
namespace store {

SqliteReader::SqliteReader(const std::string& path):
	_session(SqliteDatabase::openReader(path)),
	_pendingQuery(_session),
	_countQuery(_session)
{
	prepare();
}


void SqliteReader::prepare()
{
	_pendingQuery.reset(_session);
	_countQuery.reset(_session);
	// "delivered = 0" must appear literally for SQLite to use the partial index.
	_pendingQuery << "SELECT msg_id, from_uid, payload, created_ms FROM messages "
		"WHERE to_uid = ? AND delivered = 0 AND msg_id > ? ORDER BY msg_id LIMIT ?",
		use(_uid), use(_after), use(_limit), into(_ids), into(_senders), into(_payloads), into(_timestamps);
	_countQuery << "SELECT count(*) FROM messages WHERE to_uid = ? AND delivered = 0", use(_uid), into(_count);
}


void SqliteReader::pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages)
{
	_uid = uid;
	_after = static_cast<Poco::Int64>(afterMsgId);
	_limit = static_cast<Poco::Int64>(limit);
	// A re-executed statement appends to its containers.
	_ids.clear();
	_senders.clear();
	_payloads.clear();
	_timestamps.clear();
	try
	{
		_pendingQuery.execute();
	}
	catch (Poco::Exception&)
	{
		prepare(); // a statement that threw cannot run again
		throw;
	}
	messages.reserve(messages.size() + _ids.size());
	for (std::size_t i = 0; i < _ids.size(); ++i)
	{
		StoredMessage m;
		m.msgId = static_cast<Poco::UInt64>(_ids[i]);
		m.fromUid = std::move(_senders[i]);
		const auto& raw = _payloads[i].content();
		m.payload.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
		m.timestampMs = _timestamps[i];
		messages.push_back(std::move(m));
	}
	_payloads.clear(); // do not keep the last page's payloads alive
}


std::size_t SqliteReader::pendingCount(const std::string& uid)
{
	_uid = uid;
	_count = 0;
	try
	{
		_countQuery.execute();
	}
	catch (Poco::Exception&)
	{
		prepare();
		throw;
	}
	return _count;
}

} } // namespace imgate::store
