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
#include <algorithm>
#include <unordered_map>
#include <iterator>

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
		_savedMsgId = static_cast<Poco::UInt64>(last);
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
	_findSent = make("SELECT msg_id, created_ms FROM messages WHERE from_uid = ?1 AND from_device = ?2 AND client_msg_id = ?3");
	_insert = make("INSERT OR IGNORE INTO messages(msg_id, from_uid, from_device, to_uid, group_id, client_msg_id, created_ms, payload) "
		"VALUES(?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7)");
	_insertGroupMessage = make("INSERT OR IGNORE INTO messages(msg_id, from_uid, from_device, to_uid, group_id, client_msg_id, created_ms, payload) "
		"VALUES(?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)");
	_selectMembers = make("SELECT uid FROM group_members WHERE gid = ?1 ORDER BY uid");
	_selectGroup = make("SELECT created_ms FROM chat_groups WHERE gid = ?1");
	_insertGroup = make("INSERT INTO chat_groups(gid, created_ms) VALUES(?1, ?2)");
	_deleteGroup = make("DELETE FROM chat_groups WHERE gid = ?1");
	_insertMember = make("INSERT OR IGNORE INTO group_members(gid, uid) VALUES(?1, ?2)");
	_deleteMember = make("DELETE FROM group_members WHERE gid = ?1 AND uid = ?2");
	_deleteMembers = make("DELETE FROM group_members WHERE gid = ?1");
	_insertInbox = make("INSERT OR IGNORE INTO inbox(uid, msg_id, sent) VALUES(?1, ?2, ?3)");
	_countPending = make("SELECT count(*) FROM inbox INDEXED BY inbox_received WHERE uid = ?1 AND sent = 0 "
		"AND msg_id > coalesce((SELECT max(acked) FROM positions WHERE uid = ?1), 0)");
	_savePosition = make("INSERT INTO positions(uid, device, acked) VALUES(?1, ?2, ?3) "
		"ON CONFLICT(uid, device) DO UPDATE SET acked = excluded.acked WHERE excluded.acked > acked");
	_openDevice = make("INSERT OR IGNORE INTO positions(uid, device, acked) "
		"SELECT ?1, ?2, coalesce((SELECT max(acked) FROM positions WHERE uid = ?1), 0)");
	_lowestPosition = make("SELECT min(acked) FROM positions WHERE uid = ?1");
	_deleteAcknowledgedOf = make("DELETE FROM inbox WHERE uid = ?1 AND msg_id <= ?2 RETURNING msg_id");
	_deleteUnreferenced = make("DELETE FROM messages WHERE msg_id = ?1 AND NOT EXISTS (SELECT 1 FROM inbox WHERE msg_id = ?1)");
	_saveLastMsgId = make("INSERT OR REPLACE INTO imgate_state(key, value) VALUES('last_msg_id', ?1)");
	_saveProbe = make("INSERT OR REPLACE INTO imgate_state(key, value) VALUES('probe', zeroblob(?1))");
	_dropProbe = make("DELETE FROM imgate_state WHERE key = 'probe'");
	// Retention walks the inbox by msg_id (its index), a chunk at a time.
	_inboxRange = make("SELECT uid, msg_id FROM inbox WHERE msg_id >= ?1 AND msg_id < ?2 ORDER BY msg_id LIMIT ?3");
	_deleteInboxRow = make("DELETE FROM inbox WHERE uid = ?1 AND msg_id = ?2");
	_expiredMessages = make("SELECT msg_id FROM messages WHERE msg_id < ?1 ORDER BY msg_id LIMIT ?2");
	_deleteMessage = make("DELETE FROM messages WHERE msg_id = ?1");
	_deleteInboxOf = make("DELETE FROM inbox WHERE msg_id = ?1");
}


void SqliteWriter::begin()
{
	_begin->reset();
	_begin->run();
}


void SqliteWriter::append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result)
{
	// The common case is a new message: insert first and let the unique
	// index (from_uid, from_device, client_msg_id) find a resend, instead of probing
	// that index once more before every insert. A resend to a full
	// recipient is still answered DUPLICATE, as the sender expects.
	Poco::UInt64 id = msgIdAt(nowMs);
	if (id <= _lastMsgId) id = _lastMsgId + 1;
	if (!message.toGroup.empty())
	{
		appendToGroup(message, id, result);
		return;
	}
	// The cached count never falls short (acknowledgements only mark it
	// inexact): a count at the limit is read again before refusing, once
	// per acknowledgement at most, so a full recipient costs no query per
	// refused send.
	std::size_t pending = pendingCount(message.toUid);
	if (pending >= _limits.maxPendingPerRecipient)
	{
		const WriterCaches::PendingCount* pCached = _caches.pending(message.toUid);
		if (pCached && !pCached->exact)
		{
			_caches.forgetCount(message.toUid);
			pending = pendingCount(message.toUid);
		}
	}
	if (pending >= _limits.maxPendingPerRecipient)
	{
		if (!findSent(message, result)) result.outcome = AppendResult::RECIPIENT_FULL;
		return;
	}
	_insert->reset();
	_insert->bind(1, static_cast<Poco::Int64>(id)).bind(2, message.fromUid).bind(3, message.fromDevice).bind(4, message.toUid)
		.bind(5, static_cast<Poco::Int64>(message.clientMsgId)).bind(6, message.timestampMs).bindBlob(7, message.payload);
	if (_insert->run() == 0)
	{
		// OR IGNORE skipped the row: msg_id is new, so (from_uid, from_device, client_msg_id) is not.
		if (!findSent(message, result))
			throw Poco::Data::DataException("messages: an insert was ignored without a conflicting row");
		return;
	}
	addToInbox(message.toUid, id, false);
	if (_limits.recordSent && message.fromUid != message.toUid) addToInbox(message.fromUid, id, true);
	_lastMsgId = id;
	_caches.setCount(message.toUid, pending + 1);
	result.outcome = AppendResult::STORED;
	result.msgId = id;
	result.timestampMs = message.timestampMs;
}


bool SqliteWriter::findSent(const NewMessage& message, AppendResult& result)
{
	_findSent->reset();
	_findSent->bind(1, message.fromUid).bind(2, message.fromDevice).bind(3, static_cast<Poco::Int64>(message.clientMsgId));
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


void SqliteWriter::appendToGroup(const NewMessage& message, Poco::UInt64 id, AppendResult& result)
{
	// Group messages are not held back by a full member: store.maxDatabaseBytes
	// and retention bound them (docs/configuration.md, store.maxPendingPerRecipient).
	const std::vector<std::string>* pMembers = members(message.toGroup);
	if (!pMembers || !std::binary_search(pMembers->begin(), pMembers->end(), message.fromUid))
	{
		// A resend of a message stored while the sender was a member is still its duplicate.
		if (!findSent(message, result)) result.outcome = AppendResult::NOT_MEMBER;
		return;
	}
	_insertGroupMessage->reset();
	_insertGroupMessage->bind(1, static_cast<Poco::Int64>(id)).bind(2, message.fromUid).bind(3, message.fromDevice).bind(4, message.toGroup)
		.bind(5, static_cast<Poco::Int64>(message.clientMsgId)).bind(6, message.timestampMs).bindBlob(7, message.payload);
	if (_insertGroupMessage->run() == 0)
	{
		if (!findSent(message, result))
			throw Poco::Data::DataException("messages: an insert was ignored without a conflicting row");
		return;
	}
	for (const std::string& uid: *pMembers)
	{
		const bool sender = uid == message.fromUid;
		if (!sender)
		{
			addToInbox(uid, id, false);
			// A member's cached count stays true (the limit of 1:1 messages
			// to it counts what its groups sent too).
			_caches.addOne(uid);
		}
		else if (_limits.recordSent) addToInbox(uid, id, true);
	}
	_lastMsgId = id;
	result.outcome = AppendResult::STORED;
	result.msgId = id;
	result.timestampMs = message.timestampMs;
	result.members = *pMembers;
}


const std::vector<std::string>* SqliteWriter::members(const std::string& gid)
{
	return _caches.members(gid, [this](const std::string& id, Group& group) { return readGroup(id, group); });
}


bool SqliteWriter::readGroup(const std::string& gid, Group& group)
{
	_selectGroup->reset();
	_selectGroup->bind(1, gid);
	if (!_selectGroup->step())
	{
		_selectGroup->reset();
		return false;
	}
	group.gid = gid;
	group.createdMs = _selectGroup->int64(0);
	_selectGroup->reset();
	group.members.clear();
	_selectMembers->reset();
	_selectMembers->bind(1, gid);
	while (_selectMembers->step()) group.members.push_back(_selectMembers->text(0));
	_selectMembers->reset();
	return true;
}


void SqliteWriter::changeGroup(const GroupChange& change, GroupResult& result)
{
	_caches.forgetGroup(change.gid);
	begin();
	Group group;
	const bool exists = readGroup(change.gid, group);
	if (!exists && change.kind != GroupChange::PUT)
	{
		result.outcome = GroupResult::NOT_FOUND;
		rollback();
		return;
	}
	if (change.kind == GroupChange::REMOVE)
	{
		_deleteMembers->reset();
		_deleteMembers->bind(1, change.gid);
		_deleteMembers->run();
		_deleteGroup->reset();
		_deleteGroup->bind(1, change.gid);
		_deleteGroup->run();
		commit();
		result.outcome = GroupResult::OK;
		return;
	}
	const std::vector<std::string> after = change.membersAfter(group.members);
	if (after.size() > change.maxMembers)
	{
		result.outcome = GroupResult::TOO_MANY_MEMBERS;
		result.error = change.tooManyMembers(after.size());
		rollback();
		return;
	}
	if (!exists)
	{
		group.gid = change.gid;
		group.createdMs = change.nowMs;
		_insertGroup->reset();
		_insertGroup->bind(1, change.gid).bind(2, change.nowMs);
		_insertGroup->run();
	}
	// Both sorted: one pass finds who leaves and who joins.
	std::vector<std::string> leaving;
	std::vector<std::string> joining;
	std::set_difference(group.members.begin(), group.members.end(), after.begin(), after.end(), std::back_inserter(leaving));
	std::set_difference(after.begin(), after.end(), group.members.begin(), group.members.end(), std::back_inserter(joining));
	for (const std::string& uid: leaving)
	{
		_deleteMember->reset();
		_deleteMember->bind(1, change.gid).bind(2, uid);
		_deleteMember->run();
	}
	for (const std::string& uid: joining)
	{
		_insertMember->reset();
		_insertMember->bind(1, change.gid).bind(2, uid);
		_insertMember->run();
	}
	commit();
	group.members = after;
	result.outcome = GroupResult::OK;
	result.group = std::move(group);
}


void SqliteWriter::addToInbox(const std::string& uid, Poco::UInt64 msgId, bool sent)
{
	_insertInbox->reset();
	_insertInbox->bind(1, uid).bind(2, static_cast<Poco::Int64>(msgId)).bind(3, sent ? 1 : 0);
	_insertInbox->run();
}


void SqliteWriter::acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position)
{
	_savePosition->reset();
	_savePosition->bind(1, uid).bind(2, device).bind(3, static_cast<Poco::Int64>(position));
	if (_savePosition->run() == 0) return; // not above the saved one
	// Its cached pending count may now be too high: that is allowed (a
	// count at the limit is read again), and saves a count per message.
	_caches.acknowledged(uid);
	if (!_limits.deleteOnAcknowledge) return;
	std::vector<Poco::UInt64> released;
	_deleteAcknowledgedOf->reset();
	_deleteAcknowledgedOf->bind(1, uid).bind(2, static_cast<Poco::Int64>(lowestPosition(uid)));
	while (_deleteAcknowledgedOf->step()) released.push_back(static_cast<Poco::UInt64>(_deleteAcknowledgedOf->int64(0)));
	_deleteAcknowledgedOf->reset();
	for (Poco::UInt64 id: released) deleteIfUnreferenced(id);
}


void SqliteWriter::openDevice(const std::string& uid, const std::string& device)
{
	_openDevice->reset();
	_openDevice->bind(1, uid).bind(2, device);
	if (_openDevice->run() > 0) _caches.forgetCount(uid);
}


Poco::UInt64 SqliteWriter::lowestPosition(const std::string& uid)
{
	_lowestPosition->reset();
	_lowestPosition->bind(1, uid);
	const Poco::UInt64 position = _lowestPosition->step() ? static_cast<Poco::UInt64>(_lowestPosition->int64(0)) : 0;
	_lowestPosition->reset();
	return position;
}


void SqliteWriter::deleteIfUnreferenced(Poco::UInt64 msgId)
{
	_deleteUnreferenced->reset();
	_deleteUnreferenced->bind(1, static_cast<Poco::Int64>(msgId));
	if (_deleteUnreferenced->run() > 0) _deletedMessages = true;
}


void SqliteWriter::commit()
{
	// The highest msgId stored is the floor of the next one at start; only
	// a transaction that deletes messages can lower it, so only such a
	// transaction saves it (one page less in every other commit).
	const bool saveLastMsgId = _deletedMessages && _lastMsgId != _savedMsgId;
	if (saveLastMsgId)
	{
		_saveLastMsgId->reset();
		_saveLastMsgId->bind(1, static_cast<Poco::Int64>(_lastMsgId));
		_saveLastMsgId->run();
	}
	_commit->reset();
	_commit->run();
	_committedMsgId = _lastMsgId;
	if (saveLastMsgId) _savedMsgId = _lastMsgId;
	_deletedMessages = false;
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
	_deletedMessages = false;
	_caches.clear();
	// Statements survive a failure; release any still in use.
	for (auto* p: {&_begin, &_commit, &_findSent, &_insert, &_insertGroupMessage, &_selectMembers, &_selectGroup, &_insertGroup,
		&_deleteGroup, &_insertMember, &_deleteMember, &_deleteMembers, &_insertInbox, &_countPending, &_savePosition, &_openDevice, &_lowestPosition,
		&_deleteAcknowledgedOf, &_deleteUnreferenced, &_saveLastMsgId, &_saveProbe, &_dropProbe, &_inboxRange, &_deleteInboxRow,
		&_expiredMessages, &_deleteMessage, &_deleteInboxOf})
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


std::size_t SqliteWriter::deleteAcknowledged(Poco::UInt64 belowMsgId, std::size_t limit, Poco::UInt64& next)
{
	try
	{
		std::vector<std::pair<std::string, Poco::UInt64>> rows;
		begin();
		_inboxRange->reset();
		_inboxRange->bind(1, static_cast<Poco::Int64>(next)).bind(2, static_cast<Poco::Int64>(belowMsgId)).bind(3, static_cast<Poco::Int64>(limit));
		while (_inboxRange->step()) rows.emplace_back(_inboxRange->text(0), static_cast<Poco::UInt64>(_inboxRange->int64(1)));
		_inboxRange->reset();
		std::unordered_map<std::string, Poco::UInt64> lowest; // for this chunk; no uid has a position yet: 0
		std::vector<Poco::UInt64> released;
		for (const auto& row: rows)
		{
			auto it = lowest.find(row.first);
			if (it == lowest.end()) it = lowest.emplace(row.first, lowestPosition(row.first)).first;
			if (row.second > it->second) continue; // some device of the uid still waits for it
			_deleteInboxRow->reset();
			_deleteInboxRow->bind(1, row.first).bind(2, static_cast<Poco::Int64>(row.second));
			_deleteInboxRow->run();
			released.push_back(row.second);
		}
		for (Poco::UInt64 id: released) deleteIfUnreferenced(id);
		commit();
		// Rows of one msg_id may straddle two chunks: the next one starts
		// at the last msg_id again (what was deleted is gone).
		if (rows.size() == limit) next = rows.back().second > next ? rows.back().second : rows.back().second + 1;
		else next = belowMsgId;
		return rows.size();
	}
	catch (Poco::Exception&)
	{
		rollback();
		throw;
	}
}


std::size_t SqliteWriter::deleteExpired(Poco::UInt64 belowMsgId, std::size_t limit)
{
	try
	{
		std::vector<Poco::UInt64> ids;
		begin();
		_expiredMessages->reset();
		_expiredMessages->bind(1, static_cast<Poco::Int64>(belowMsgId)).bind(2, static_cast<Poco::Int64>(limit));
		while (_expiredMessages->step()) ids.push_back(static_cast<Poco::UInt64>(_expiredMessages->int64(0)));
		_expiredMessages->reset();
		for (Poco::UInt64 id: ids)
		{
			_deleteInboxOf->reset();
			_deleteInboxOf->bind(1, static_cast<Poco::Int64>(id));
			_deleteInboxOf->run();
			_deleteMessage->reset();
			_deleteMessage->bind(1, static_cast<Poco::Int64>(id));
			if (_deleteMessage->run() > 0) _deletedMessages = true;
		}
		commit();
		if (!ids.empty()) _caches.forgetCounts();
		return ids.size();
	}
	catch (Poco::Exception&)
	{
		rollback();
		throw;
	}
}


std::size_t SqliteWriter::pendingCount(const std::string& uid)
{
	if (const WriterCaches::PendingCount* pCached = _caches.pending(uid)) return pCached->count;
	_countPending->reset();
	_countPending->bind(1, uid);
	const std::size_t count = _countPending->step() ? static_cast<std::size_t>(_countPending->int64(0)) : 0;
	_countPending->reset();
	_caches.remember(uid, WriterCaches::PendingCount{count, true, -1, 0});
	return count;
}

} } // namespace imgate::store
