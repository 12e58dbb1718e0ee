//
// PostgresWriter.cpp
//
// Layer: store
//

#include "server/store/PostgresWriter.h"
#include "server/store/PostgresException.h"
#include "Poco/Data/DataException.h"
#include <algorithm>
#include <chrono>
#include <iterator>
#include <set>

namespace imgate {
namespace store {

PostgresWriter::PostgresWriter(PostgresConnection&& connection, const std::string& name, bool synchronousCommit, const Limits& limits):
	_connection(std::move(connection)),
	_limits(limits)
{
	try
	{
		// store.sync = normal: a commit returns before PostgreSQL's WAL
		// reaches the disk (a server crash may lose the last moments).
		_connection.setUp(std::string("SET synchronous_commit TO ") + (synchronousCommit ? "on" : "off"));
		prepare();
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(name + ": cannot prepare the writer: " + exc.message());
	}
}


void PostgresWriter::prepare()
{
	// Parameters carry their types ($1::bigint): integers, booleans and
	// payloads travel in binary. Devices are bytea (any bytes), uids and
	// gids text (their syntax is ASCII).
	_lockState = _connection.prepare("SELECT key, value FROM imgate_state WHERE key IN ('last_msg_id', 'group_version') FOR UPDATE");
	_saveLastMsgId = _connection.prepare("UPDATE imgate_state SET value = $1::bigint WHERE key = 'last_msg_id'");
	_bumpGroupVersion = _connection.prepare("UPDATE imgate_state SET value = value + 1 WHERE key = 'group_version' RETURNING value");
	_findSent = _connection.prepare("SELECT msg_id, created_ms FROM messages WHERE from_uid = $1::text AND from_device = $2::bytea AND client_msg_id = $3::bigint");
	// A 1:1 message and its inbox rows in one round trip; a resend inserts
	// nothing (the unique index finds it) and changes no row.
	_insert = _connection.prepare("WITH m AS (INSERT INTO messages(msg_id, from_uid, from_device, to_uid, group_id, client_msg_id, created_ms, payload) "
		"VALUES($1::bigint, $2::text, $3::bytea, $4::text, NULL, $5::bigint, $6::bigint, $7::bytea) "
		"ON CONFLICT (from_uid, from_device, client_msg_id) DO NOTHING RETURNING msg_id) "
		"INSERT INTO inbox(uid, msg_id, sent) SELECT $4::text, msg_id, false FROM m "
		"UNION ALL SELECT $2::text, msg_id, true FROM m WHERE $8::boolean");
	// A group message and a row per member (the sender's marked sent, and
	// only under recordSent), the members read under the lock.
	_insertGroupMessage = _connection.prepare("WITH m AS (INSERT INTO messages(msg_id, from_uid, from_device, to_uid, group_id, client_msg_id, created_ms, payload) "
		"VALUES($1::bigint, $2::text, $3::bytea, NULL, $4::text, $5::bigint, $6::bigint, $7::bytea) "
		"ON CONFLICT (from_uid, from_device, client_msg_id) DO NOTHING RETURNING msg_id) "
		"INSERT INTO inbox(uid, msg_id, sent) SELECT g.uid, m.msg_id, g.uid = $2::text FROM m, group_members g "
		"WHERE g.gid = $4::text AND (g.uid <> $2::text OR $8::boolean)");
	_selectGroup = _connection.prepare("SELECT created_ms FROM chat_groups WHERE gid = $1::text");
	_selectMembers = _connection.prepare("SELECT uid FROM group_members WHERE gid = $1::text ORDER BY uid");
	_insertGroup = _connection.prepare("INSERT INTO chat_groups(gid, created_ms) VALUES($1::text, $2::bigint)");
	_deleteGroup = _connection.prepare("WITH m AS (DELETE FROM group_members WHERE gid = $1::text) DELETE FROM chat_groups WHERE gid = $1::text");
	_insertMembers = _connection.prepare("INSERT INTO group_members(gid, uid) SELECT $1::text, unnest($2::text[]) ON CONFLICT DO NOTHING");
	_deleteMembers = _connection.prepare("DELETE FROM group_members WHERE gid = $1::text AND uid = ANY($2::text[])");
	// A count and the highest position it was read under.
	_countPending = _connection.prepare("WITH p AS (SELECT coalesce(max(acked), 0) AS acked FROM positions WHERE uid = $1::text) "
		"SELECT (SELECT count(*) FROM inbox WHERE uid = $1::text AND NOT sent AND msg_id > p.acked), p.acked FROM p");
	_countPendingOf = _connection.prepare("SELECT u, (SELECT count(*) FROM inbox WHERE uid = u AND NOT sent "
		"AND msg_id > coalesce((SELECT max(acked) FROM positions WHERE uid = u), 0)), "
		"coalesce((SELECT max(acked) FROM positions WHERE uid = u), 0) FROM unnest($1::text[]) AS u");
	_highestPosition = _connection.prepare("SELECT coalesce(max(acked), 0) FROM positions WHERE uid = $1::text");
	_savePosition = _connection.prepare("INSERT INTO positions(uid, device, acked) VALUES($1::text, $2::bytea, $3::bigint) "
		"ON CONFLICT (uid, device) DO UPDATE SET acked = excluded.acked WHERE positions.acked < excluded.acked");
	// Under deleteOnAcknowledge: the uid's rows every device of it has
	// acknowledged, and the messages no other inbox refers to (a
	// statement does not see its own CTE's deletions: the rows of $1 are
	// left out by hand).
	_deleteAcknowledgedOf = _connection.prepare("WITH d AS (DELETE FROM inbox WHERE uid = $1::text "
		"AND msg_id <= (SELECT coalesce(min(acked), 0) FROM positions WHERE uid = $1::text) RETURNING msg_id) "
		"DELETE FROM messages m USING d WHERE m.msg_id = d.msg_id "
		"AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.msg_id = d.msg_id AND i.uid <> $1::text)");
	_openDevice = _connection.prepare("INSERT INTO positions(uid, device, acked) "
		"SELECT $1::text, $2::bytea, coalesce((SELECT max(acked) FROM positions WHERE uid = $1::text), 0) ON CONFLICT DO NOTHING");
	_saveProbe = _connection.prepare("INSERT INTO imgate_probe(data) VALUES(decode(repeat('00', $1::bigint::integer), 'hex'))");
	_dropProbe = _connection.prepare("DELETE FROM imgate_probe");
	// Retention walks the inbox by msg_id (its index), a chunk at a time.
	_inboxRange = _connection.prepare("SELECT msg_id FROM inbox WHERE msg_id >= $1::bigint AND msg_id < $2::bigint ORDER BY msg_id LIMIT $3::bigint");
	_deleteAcknowledgedIn = _connection.prepare("WITH d AS (DELETE FROM inbox i WHERE i.msg_id >= $1::bigint AND i.msg_id <= $2::bigint "
		"AND i.msg_id <= coalesce((SELECT min(p.acked) FROM positions p WHERE p.uid = i.uid), 0) RETURNING i.uid, i.msg_id) "
		"DELETE FROM messages m WHERE m.msg_id IN (SELECT msg_id FROM d) "
		"AND NOT EXISTS (SELECT 1 FROM inbox x WHERE x.msg_id = m.msg_id "
		"AND NOT EXISTS (SELECT 1 FROM d WHERE d.uid = x.uid AND d.msg_id = x.msg_id))");
	_deleteExpired = _connection.prepare("WITH e AS (SELECT msg_id FROM messages WHERE msg_id < $1::bigint ORDER BY msg_id LIMIT $2::bigint), "
		"i AS (DELETE FROM inbox WHERE msg_id IN (SELECT msg_id FROM e)) "
		"DELETE FROM messages WHERE msg_id IN (SELECT msg_id FROM e)");
}


void PostgresWriter::begin()
{
	if (_connection.reconnect())
	{
		// What the caches knew may have changed while we were away.
		_caches.clear();
	}
	_connection.execute("BEGIN");
	PostgresResult state = _connection.run(_lockState);
	Poco::UInt64 last = 0;
	Poco::Int64 groupVersion = 0;
	for (int row = 0; row < state.rows(); ++row)
	{
		if (state.text(row, 0) == "last_msg_id") last = static_cast<Poco::UInt64>(state.int64(row, 1));
		else groupVersion = state.int64(row, 1);
	}
	if (last != _committedMsgId)
	{
		// Another node stored messages: counts may have grown.
		_caches.forgetCounts();
		if (last > _committedMsgId) _committedMsgId = last;
	}
	if (groupVersion != _groupVersion)
	{
		_caches.forgetGroups();
		_groupVersion = groupVersion;
	}
	if (_lastMsgId < _committedMsgId) _lastMsgId = _committedMsgId;
}


void PostgresWriter::append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result)
{
	std::vector<AppendResult> results;
	appendAll(std::vector<const NewMessage*>{&message}, nowMs, results);
	result = std::move(results.front());
}


void PostgresWriter::appendAll(const std::vector<const NewMessage*>& messages, Poco::Int64 nowMs, std::vector<AppendResult>& results)
{
	results.assign(messages.size(), AppendResult());
	// The counts the 1:1 sends need, that the cache lacks: one query.
	std::vector<std::string> uncounted;
	{
		std::set<std::string> seen;
		for (const NewMessage* pMessage: messages)
		{
			if (pMessage->toGroup.empty() && !_caches.pending(pMessage->toUid) && seen.insert(pMessage->toUid).second)
				uncounted.push_back(pMessage->toUid);
		}
	}
	if (!uncounted.empty()) countPending(uncounted);
	// Each in order, as append() decides; the inserts wait for the pipeline.
	enum Step { INSERT, INSERT_GROUP, REFUSE_FULL, REFUSE_NOT_MEMBER };
	std::vector<Step> steps(messages.size(), INSERT);
	std::vector<Poco::UInt64> ids(messages.size(), 0);
	std::vector<PostgresParams> inserts;
	std::vector<PostgresParams> groupInserts;
	for (std::size_t i = 0; i < messages.size(); ++i)
	{
		const NewMessage& message = *messages[i];
		if (!message.toGroup.empty())
		{
			const std::vector<std::string>* pMembers = members(message.toGroup);
			if (!pMembers || !std::binary_search(pMembers->begin(), pMembers->end(), message.fromUid))
			{
				steps[i] = REFUSE_NOT_MEMBER;
				continue;
			}
			steps[i] = INSERT_GROUP;
		}
		else
		{
			std::size_t pending = pendingCount(message.toUid);
			if (pending >= _limits.maxPendingPerRecipient)
			{
				if (stale(message.toUid)) pending = pendingCount(message.toUid);
			}
			if (pending >= _limits.maxPendingPerRecipient)
			{
				steps[i] = REFUSE_FULL;
				continue;
			}
			_caches.setCount(message.toUid, pending + 1);
		}
		Poco::UInt64 id = msgIdAt(nowMs);
		if (id <= _lastMsgId) id = _lastMsgId + 1;
		_lastMsgId = ids[i] = id;
		PostgresParams params;
		params.int64(static_cast<Poco::Int64>(id)).text(message.fromUid).bytes(message.fromDevice)
			.text(steps[i] == INSERT ? message.toUid : message.toGroup)
			.int64(static_cast<Poco::Int64>(message.clientMsgId)).int64(message.timestampMs).bytes(message.payload)
			.boolean(steps[i] == INSERT ? _limits.recordSent && message.fromUid != message.toUid : _limits.recordSent);
		(steps[i] == INSERT ? inserts : groupInserts).push_back(std::move(params));
	}
	std::vector<std::size_t> inserted;
	std::vector<std::size_t> groupInserted;
	if (!inserts.empty()) _connection.runAll(_insert, inserts, inserted);
	if (!groupInserts.empty()) _connection.runAll(_insertGroupMessage, groupInserts, groupInserted);
	std::size_t next = 0;
	std::size_t nextGroup = 0;
	for (std::size_t i = 0; i < messages.size(); ++i)
	{
		const NewMessage& message = *messages[i];
		AppendResult& result = results[i];
		switch (steps[i])
		{
		case REFUSE_FULL:
			if (!findSent(message, result)) result.outcome = AppendResult::RECIPIENT_FULL;
			break;
		case REFUSE_NOT_MEMBER:
			if (!findSent(message, result)) result.outcome = AppendResult::NOT_MEMBER;
			break;
		case INSERT:
			if (inserted[next++] == 0)
			{
				if (!findSent(message, result))
					throw Poco::Data::DataException("messages: an insert was skipped without a conflicting row");
				break;
			}
			result.outcome = AppendResult::STORED;
			result.msgId = ids[i];
			result.timestampMs = message.timestampMs;
			break;
		case INSERT_GROUP:
			{
				const std::vector<std::string>* pMembers = members(message.toGroup);
				if (groupInserted[nextGroup++] == 0)
				{
					// No row: a resend, or (found under its new id) a group
					// of the sender alone without recordSent.
					if (!findSent(message, result))
						throw Poco::Data::DataException("messages: an insert was skipped without a conflicting row");
					if (result.msgId != ids[i]) break;
					result = AppendResult();
				}
				for (const std::string& uid: *pMembers)
				{
					if (uid == message.fromUid) continue;
					_caches.addOne(uid);
				}
				result.outcome = AppendResult::STORED;
				result.msgId = ids[i];
				result.timestampMs = message.timestampMs;
				result.members = *pMembers;
			}
			break;
		}
	}
}


void PostgresWriter::countPending(const std::vector<std::string>& uids)
{
	PostgresParams params;
	params.textArray(uids);
	PostgresResult counts = _connection.run(_countPendingOf, params);
	_caches.makeRoom(uids.size());
	const Poco::Int64 now = monotonicMs();
	for (int row = 0; row < counts.rows(); ++row)
		_caches.remember(counts.text(row, 0), WriterCaches::PendingCount{static_cast<std::size_t>(counts.int64(row, 1)), true, counts.int64(row, 2), now});
}


bool PostgresWriter::findSent(const NewMessage& message, AppendResult& result)
{
	PostgresParams params;
	params.text(message.fromUid).bytes(message.fromDevice).int64(static_cast<Poco::Int64>(message.clientMsgId));
	PostgresResult found = _connection.run(_findSent, params);
	if (found.rows() == 0) return false;
	result.outcome = AppendResult::DUPLICATE;
	result.msgId = static_cast<Poco::UInt64>(found.int64(0, 0));
	result.timestampMs = found.int64(0, 1);
	return true;
}


const std::vector<std::string>* PostgresWriter::members(const std::string& gid)
{
	return _caches.members(gid, [this](const std::string& id, Group& group) { return readGroup(id, group); });
}


bool PostgresWriter::readGroup(const std::string& gid, Group& group)
{
	PostgresParams params;
	params.text(gid);
	PostgresResult found = _connection.run(_selectGroup, params);
	if (found.rows() == 0) return false;
	group.gid = gid;
	group.createdMs = found.int64(0, 0);
	PostgresResult members = _connection.run(_selectMembers, params);
	group.members.clear();
	for (int row = 0; row < members.rows(); ++row) group.members.push_back(members.text(row, 0));
	return true;
}


void PostgresWriter::changeGroup(const GroupChange& change, GroupResult& result)
{
	begin();
	Group group;
	const bool exists = readGroup(change.gid, group);
	if (!exists && change.kind != GroupChange::PUT)
	{
		result.outcome = GroupResult::NOT_FOUND;
		rollback();
		return;
	}
	PostgresParams gid;
	gid.text(change.gid);
	if (change.kind == GroupChange::REMOVE)
	{
		_connection.run(_deleteGroup, gid);
	}
	else
	{
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
			PostgresParams params;
			params.text(change.gid).int64(change.nowMs);
			_connection.run(_insertGroup, params);
		}
		std::vector<std::string> leaving;
		std::vector<std::string> joining;
		std::set_difference(group.members.begin(), group.members.end(), after.begin(), after.end(), std::back_inserter(leaving));
		std::set_difference(after.begin(), after.end(), group.members.begin(), group.members.end(), std::back_inserter(joining));
		if (!leaving.empty())
		{
			PostgresParams params;
			params.text(change.gid).textArray(leaving);
			_connection.run(_deleteMembers, params);
		}
		if (!joining.empty())
		{
			PostgresParams params;
			params.text(change.gid).textArray(joining);
			_connection.run(_insertMembers, params);
		}
		group.members = after;
		result.group = std::move(group);
	}
	// Other nodes see the version move and forget their copy of the members.
	const Poco::Int64 version = _connection.run(_bumpGroupVersion).int64(0, 0);
	commit();
	_groupVersion = version;
	_caches.forgetGroup(change.gid);
	result.outcome = GroupResult::OK;
}


void PostgresWriter::acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position)
{
	PostgresParams params;
	params.text(uid).bytes(device).int64(static_cast<Poco::Int64>(position));
	if (_connection.run(_savePosition, params).affected() == 0) return; // not above the saved one
	_caches.acknowledged(uid);
	if (!_limits.deleteOnAcknowledge) return;
	PostgresParams of;
	of.text(uid);
	_connection.run(_deleteAcknowledgedOf, of);
}


void PostgresWriter::openDevice(const std::string& uid, const std::string& device)
{
	PostgresParams params;
	params.text(uid).bytes(device);
	if (_connection.run(_openDevice, params).affected() > 0) _caches.forgetCount(uid);
}


void PostgresWriter::commit()
{
	if (_lastMsgId > _committedMsgId)
	{
		PostgresParams params;
		params.int64(static_cast<Poco::Int64>(_lastMsgId));
		_connection.run(_saveLastMsgId, params);
	}
	_connection.execute("COMMIT");
	_committedMsgId = _lastMsgId;
}


void PostgresWriter::probe(std::size_t bytes)
{
	begin();
	PostgresParams params;
	params.int64(static_cast<Poco::Int64>(bytes));
	_connection.run(_saveProbe, params);
	_connection.run(_dropProbe);
	commit();
}


void PostgresWriter::rollback()
{
	_lastMsgId = _committedMsgId;
	_caches.clear();
	if (!_connection.inTransaction()) return;
	try
	{
		_connection.execute("ROLLBACK");
	}
	catch (Poco::Exception&)
	{
		// A broken connection has no transaction left; the next begin()
		// reconnects.
	}
}


std::size_t PostgresWriter::deleteAcknowledged(Poco::UInt64 belowMsgId, std::size_t limit, Poco::UInt64& next)
{
	try
	{
		begin();
		PostgresParams range;
		range.int64(static_cast<Poco::Int64>(next)).int64(static_cast<Poco::Int64>(belowMsgId)).int64(static_cast<Poco::Int64>(limit));
		PostgresResult rows = _connection.run(_inboxRange, range);
		const std::size_t looked = static_cast<std::size_t>(rows.rows());
		if (looked > 0)
		{
			const Poco::UInt64 last = static_cast<Poco::UInt64>(rows.int64(rows.rows() - 1, 0));
			PostgresParams chunk;
			chunk.int64(static_cast<Poco::Int64>(next)).int64(static_cast<Poco::Int64>(last));
			_connection.run(_deleteAcknowledgedIn, chunk);
			// Rows of one msg_id may straddle two chunks: the next one
			// starts at the last msg_id again (what was deleted is gone).
			if (looked == limit) next = last > next ? last : last + 1;
			else next = belowMsgId;
		}
		else
		{
			next = belowMsgId;
		}
		commit();
		return looked;
	}
	catch (Poco::Exception&)
	{
		rollback();
		throw;
	}
}


std::size_t PostgresWriter::deleteExpired(Poco::UInt64 belowMsgId, std::size_t limit)
{
	try
	{
		begin();
		PostgresParams params;
		params.int64(static_cast<Poco::Int64>(belowMsgId)).int64(static_cast<Poco::Int64>(limit));
		const std::size_t deleted = _connection.run(_deleteExpired, params).affected();
		commit();
		if (deleted > 0) _caches.forgetCounts();
		return deleted;
	}
	catch (Poco::Exception&)
	{
		rollback();
		throw;
	}
}


std::size_t PostgresWriter::pendingCount(const std::string& uid)
{
	if (const WriterCaches::PendingCount* pCached = _caches.pending(uid)) return pCached->count;
	PostgresParams params;
	params.text(uid);
	PostgresResult counted = _connection.run(_countPending, params);
	const std::size_t count = static_cast<std::size_t>(counted.int64(0, 0));
	_caches.remember(uid, WriterCaches::PendingCount{count, true, counted.int64(0, 1), monotonicMs()});
	return count;
}


bool PostgresWriter::stale(const std::string& uid)
{
	const WriterCaches::PendingCount* pCached = _caches.pending(uid);
	if (!pCached) return false;
	bool drop = !pCached->exact || monotonicMs() - pCached->readAtMs >= RECOUNT_MS;
	if (!drop)
	{
		PostgresParams params;
		params.text(uid);
		drop = _connection.run(_highestPosition, params).int64(0, 0) != pCached->position;
	}
	if (drop) _caches.forgetCount(uid);
	return drop;
}


Poco::Int64 PostgresWriter::monotonicMs()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} } // namespace imgate::store
