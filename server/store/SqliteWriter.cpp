//
// SqliteWriter.cpp
//
// Layer: store
//

#include "server/store/SqliteWriter.h"
#include "server/store/SqliteDatabase.h"
#include "Poco/Data/DataException.h"
#include "Poco/Data/SQLite/Utility.h"
#include <sqlite3.h>

using namespace Poco::Data::Keywords;

namespace imgate {
namespace store {

SqliteWriter::SqliteWriter(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes, const Limits& limits):
	_session(SqliteDatabase::openWriter(path, fullSync, maxDatabaseBytes)),
	_limits(limits)
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
	sqlite3* pDb = Poco::Data::SQLite::Utility::dbHandle(_session);
	auto make = [pDb](const char* sql) { return std::unique_ptr<SqliteStatement>(new SqliteStatement(pDb, sql)); };
	_begin = make("BEGIN IMMEDIATE");
	_commit = make("COMMIT");
	_findSent = make("SELECT msg_id, created_ms FROM messages WHERE from_uid = ?1 AND client_msg_id = ?2");
	_insert = make("INSERT OR IGNORE INTO messages(msg_id, to_uid, from_uid, client_msg_id, created_ms, payload) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	_countPending = make("SELECT count(*) FROM messages WHERE to_uid = ?1 AND delivered = 0");
	if (_limits.deleteOnAcknowledge)
		_markDelivered = make("DELETE FROM messages WHERE msg_id = ?1 AND to_uid = ?2 AND delivered = 0");
	else
		_markDelivered = make("UPDATE messages SET delivered = 1 WHERE msg_id = ?1 AND to_uid = ?2 AND delivered = 0");
	_saveLastMsgId = make("INSERT OR REPLACE INTO imgate_state(key, value) VALUES('last_msg_id', ?1)");
	_saveProbe = make("INSERT OR REPLACE INTO imgate_state(key, value) VALUES('probe', zeroblob(?1))");
	_dropProbe = make("DELETE FROM imgate_state WHERE key = 'probe'");
	// Chunks keep each delete transaction short; "delivered = 1" selects
	// the partial index, and expired undelivered rows are the table's
	// first rows by primary key once delivered ones are gone.
	_deleteDelivered = make("DELETE FROM messages WHERE msg_id IN "
		"(SELECT msg_id FROM messages WHERE delivered = 1 AND msg_id < ?1 ORDER BY msg_id LIMIT ?2)");
	_deleteUndelivered = make("DELETE FROM messages WHERE msg_id IN "
		"(SELECT msg_id FROM messages WHERE msg_id < ?1 AND delivered = 0 ORDER BY msg_id LIMIT ?2)");
}


void SqliteWriter::begin()
{
	_begin->reset();
	_begin->run();
}


void SqliteWriter::append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result)
{
	// The common case is a new message: insert first and let the unique
	// index (from_uid, client_msg_id) find a resend, instead of probing
	// that index once more before every insert. A resend to a full
	// recipient is still answered DUPLICATE, as the sender expects.
	std::size_t pending = pendingCount(message.toUid);
	if (pending >= _limits.maxPendingPerRecipient)
	{
		if (!findSent(message, result)) result.outcome = AppendResult::RECIPIENT_FULL;
		return;
	}
	Poco::UInt64 id = msgIdAt(nowMs);
	if (id <= _lastMsgId) id = _lastMsgId + 1;
	_insert->reset();
	_insert->bind(1, static_cast<Poco::Int64>(id)).bind(2, message.toUid).bind(3, message.fromUid)
		.bind(4, static_cast<Poco::Int64>(message.clientMsgId)).bind(5, message.timestampMs).bindBlob(6, message.payload);
	if (_insert->run() == 0)
	{
		// OR IGNORE skipped the row: msg_id is new, so (from_uid, client_msg_id) is not.
		if (!findSent(message, result))
			throw Poco::Data::DataException("messages: an insert was ignored without a conflicting row");
		return;
	}
	_lastMsgId = id;
	_pendingCounts[message.toUid] = pending + 1;
	result.outcome = AppendResult::STORED;
	result.msgId = id;
	result.timestampMs = message.timestampMs;
}


bool SqliteWriter::findSent(const NewMessage& message, AppendResult& result)
{
	_findSent->reset();
	_findSent->bind(1, message.fromUid).bind(2, static_cast<Poco::Int64>(message.clientMsgId));
	const bool found = _findSent->step() && _findSent->int64(0) > 0;
	if (found)
	{
		result.outcome = AppendResult::DUPLICATE;
		result.msgId = static_cast<Poco::UInt64>(_findSent->int64(0));
		result.timestampMs = _findSent->int64(1);
	}
	_findSent->reset();
	return found;
}


bool SqliteWriter::acknowledge(const std::string& uid, Poco::UInt64 msgId)
{
	_markDelivered->reset();
	_markDelivered->bind(1, static_cast<Poco::Int64>(msgId)).bind(2, uid);
	if (_markDelivered->run() == 0) return false;
	auto it = _pendingCounts.find(uid);
	if (it != _pendingCounts.end() && it->second > 0) --it->second;
	return true;
}


void SqliteWriter::commit()
{
	if (_lastMsgId != _committedMsgId)
	{
		_saveLastMsgId->reset();
		_saveLastMsgId->bind(1, static_cast<Poco::Int64>(_lastMsgId));
		_saveLastMsgId->run();
	}
	_commit->reset();
	_commit->run();
	_committedMsgId = _lastMsgId;
}


void SqliteWriter::probe(std::size_t bytes)
{
	// Room for a batch, not just for a row that fits in a free corner of a
	// page, and committed: a rolled-back write never leaves the page
	// cache, so it would miss a full disk or an I/O error.
	begin();
	_saveProbe->reset();
	_saveProbe->bind(1, static_cast<Poco::Int64>(bytes));
	_saveProbe->run();
	_commit->reset();
	_commit->run();
	begin();
	_dropProbe->reset();
	_dropProbe->run();
	_commit->reset();
	_commit->run();
}


void SqliteWriter::rollback()
{
	_lastMsgId = _committedMsgId;
	_pendingCounts.clear();
	// Statements survive a failure; release any still in use.
	for (auto* p: {&_begin, &_commit, &_findSent, &_insert, &_countPending, &_markDelivered, &_saveLastMsgId, &_saveProbe, &_dropProbe, &_deleteDelivered, &_deleteUndelivered})
	{
		if (*p) (*p)->reset();
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
	return deleteChunk(*_deleteDelivered, belowMsgId, limit);
}


std::size_t SqliteWriter::deleteUndelivered(Poco::UInt64 belowMsgId, std::size_t limit)
{
	std::size_t n = deleteChunk(*_deleteUndelivered, belowMsgId, limit);
	if (n > 0) _pendingCounts.clear();
	return n;
}


std::size_t SqliteWriter::deleteChunk(SqliteStatement& statement, Poco::UInt64 belowMsgId, std::size_t limit)
{
	try
	{
		statement.reset();
		statement.bind(1, static_cast<Poco::Int64>(belowMsgId)).bind(2, static_cast<Poco::Int64>(limit));
		return statement.run();
	}
	catch (Poco::Exception&)
	{
		rollback();
		throw;
	}
}


std::size_t SqliteWriter::pendingCount(const std::string& uid)
{
	auto it = _pendingCounts.find(uid);
	if (it != _pendingCounts.end()) return it->second;
	_countPending->reset();
	_countPending->bind(1, uid);
	const std::size_t count = _countPending->step() ? static_cast<std::size_t>(_countPending->int64(0)) : 0;
	_countPending->reset();
	if (_pendingCounts.size() >= MAX_CACHED_COUNTS) _pendingCounts.clear();
	_pendingCounts.emplace(uid, count);
	return count;
}

} } // namespace imgate::store
