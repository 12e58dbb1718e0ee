//
// SqliteWriter.cpp
//
// Layer: store
//

#include "server/store/SqliteWriter.h"
#include "server/store/SqliteDatabase.h"
#include "Poco/Data/SQLite/Utility.h"
#include <sqlite3.h>

using namespace Poco::Data::Keywords;

namespace imgate {
namespace store {

SqliteWriter::SqliteWriter(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes, const Limits& limits):
	_session(SqliteDatabase::openWriter(path, fullSync, maxDatabaseBytes)),
	_limits(limits),
	_begin(_session),
	_commit(_session),
	_findSent(_session),
	_insert(_session),
	_countPending(_session),
	_markDelivered(_session),
	_saveLastMsgId(_session),
	_deleteDelivered(_session),
	_deleteUndelivered(_session)
{
	try
	{
		Poco::Int64 last = 0;
		Poco::Int64 highest = 0;
		_session << "SELECT coalesce((SELECT value FROM imgate_state WHERE key = 'last_msg_id'), 0)", into(last), now;
		_session << "SELECT coalesce(max(msg_id), 0) FROM messages", into(highest), now;
		_lastMsgId = _committedMsgId = static_cast<Poco::UInt64>(last > highest ? last : highest);
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(path + ": cannot read the store's state: " + SqliteDatabase::cause(exc));
	}
	prepare();
}


void SqliteWriter::prepare()
{
	// Poco leaves a statement that threw unusable ("Statement still
	// executing"), so every failure starts over with fresh statements.
	_begin.reset(_session);
	_commit.reset(_session);
	_findSent.reset(_session);
	_insert.reset(_session);
	_countPending.reset(_session);
	_markDelivered.reset(_session);
	_saveLastMsgId.reset(_session);
	_deleteDelivered.reset(_session);
	_deleteUndelivered.reset(_session);
	_begin << "BEGIN IMMEDIATE";
	_commit << "COMMIT";
	_findSent << "SELECT msg_id, created_ms FROM messages WHERE from_uid = ? AND client_msg_id = ?",
		use(_fromUid), use(_clientMsgId), into(_foundMsgId), into(_foundCreatedMs);
	// An empty BLOB binds as NULL; store it as a zero-length blob.
	_insert << "INSERT INTO messages(msg_id, to_uid, from_uid, client_msg_id, created_ms, payload) "
		"VALUES(?, ?, ?, ?, ?, coalesce(?, x''))",
		use(_msgId), use(_toUid), use(_fromUid), use(_clientMsgId), use(_createdMs), use(_payload);
	_countPending << "SELECT count(*) FROM messages WHERE to_uid = ? AND delivered = 0", use(_toUid), into(_count);
	if (_limits.deleteOnAcknowledge)
		_markDelivered << "DELETE FROM messages WHERE msg_id = ? AND to_uid = ? AND delivered = 0", use(_msgId), use(_toUid);
	else
		_markDelivered << "UPDATE messages SET delivered = 1 WHERE msg_id = ? AND to_uid = ? AND delivered = 0", use(_msgId), use(_toUid);
	_saveLastMsgId << "INSERT OR REPLACE INTO imgate_state(key, value) VALUES('last_msg_id', ?)", use(_msgId);
	// Chunks keep each delete transaction short; "delivered = 1" selects
	// the partial index, and expired undelivered rows are the table's
	// first rows by primary key once delivered ones are gone.
	_deleteDelivered << "DELETE FROM messages WHERE msg_id IN "
		"(SELECT msg_id FROM messages WHERE delivered = 1 AND msg_id < ? ORDER BY msg_id LIMIT ?)", use(_below), use(_limit);
	_deleteUndelivered << "DELETE FROM messages WHERE msg_id IN "
		"(SELECT msg_id FROM messages WHERE msg_id < ? AND delivered = 0 ORDER BY msg_id LIMIT ?)", use(_below), use(_limit);
}


void SqliteWriter::begin()
{
	_begin.execute();
}


void SqliteWriter::append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result)
{
	_fromUid = message.fromUid;
	_clientMsgId = static_cast<Poco::Int64>(message.clientMsgId);
	_foundMsgId = 0;
	if (_findSent.execute() > 0 && _foundMsgId > 0)
	{
		result.outcome = AppendResult::DUPLICATE;
		result.msgId = static_cast<Poco::UInt64>(_foundMsgId);
		result.timestampMs = _foundCreatedMs;
		return;
	}
	std::size_t pending = pendingCount(message.toUid);
	if (pending >= _limits.maxPendingPerRecipient)
	{
		result.outcome = AppendResult::RECIPIENT_FULL;
		return;
	}
	Poco::UInt64 id = msgIdAt(nowMs);
	if (id <= _lastMsgId) id = _lastMsgId + 1;
	_msgId = static_cast<Poco::Int64>(id);
	_toUid = message.toUid;
	_createdMs = message.timestampMs;
	_payload.assignRaw(reinterpret_cast<const unsigned char*>(message.payload.data()), message.payload.size());
	_insert.execute();
	_lastMsgId = id;
	_pendingCounts[message.toUid] = pending + 1;
	result.outcome = AppendResult::STORED;
	result.msgId = id;
	result.timestampMs = message.timestampMs;
}


bool SqliteWriter::acknowledge(const std::string& uid, Poco::UInt64 msgId)
{
	_msgId = static_cast<Poco::Int64>(msgId);
	_toUid = uid;
	if (_markDelivered.execute() == 0) return false;
	auto it = _pendingCounts.find(uid);
	if (it != _pendingCounts.end() && it->second > 0) --it->second;
	return true;
}


void SqliteWriter::commit()
{
	if (_lastMsgId != _committedMsgId)
	{
		_msgId = static_cast<Poco::Int64>(_lastMsgId);
		_saveLastMsgId.execute();
	}
	_commit.execute();
	_committedMsgId = _lastMsgId;
}


void SqliteWriter::rollback()
{
	_lastMsgId = _committedMsgId;
	_pendingCounts.clear();
	try
	{
		prepare();
	}
	catch (Poco::Exception&)
	{
		// Preparing needs no disk space; if even this fails, the next
		// batch fails and reports it.
	}
	// SQLite rolls some failed transactions back by itself (SQLITE_FULL may).
	if (sqlite3_get_autocommit(Poco::Data::SQLite::Utility::dbHandle(_session))) return;
	try
	{
		_session << "ROLLBACK", now;
	}
	catch (Poco::Exception&)
	{
		// Nothing more can be done; the next BEGIN reports a real problem.
	}
}


std::size_t SqliteWriter::deleteDelivered(Poco::UInt64 belowMsgId, std::size_t limit)
{
	return deleteChunk(_deleteDelivered, belowMsgId, limit);
}


std::size_t SqliteWriter::deleteUndelivered(Poco::UInt64 belowMsgId, std::size_t limit)
{
	std::size_t n = deleteChunk(_deleteUndelivered, belowMsgId, limit);
	if (n > 0) _pendingCounts.clear();
	return n;
}


std::size_t SqliteWriter::deleteChunk(Poco::Data::Statement& statement, Poco::UInt64 belowMsgId, std::size_t limit)
{
	_below = static_cast<Poco::Int64>(belowMsgId);
	_limit = static_cast<Poco::Int64>(limit);
	try
	{
		return statement.execute();
	}
	catch (Poco::Exception&)
	{
		rollback(); // also re-prepares the statement that threw
		throw;
	}
}


std::size_t SqliteWriter::pendingCount(const std::string& uid)
{
	auto it = _pendingCounts.find(uid);
	if (it != _pendingCounts.end()) return it->second;
	_toUid = uid;
	_count = 0;
	_countPending.execute();
	if (_pendingCounts.size() >= MAX_CACHED_COUNTS) _pendingCounts.clear();
	_pendingCounts.emplace(uid, _count);
	return _count;
}

} } // namespace imgate::store
