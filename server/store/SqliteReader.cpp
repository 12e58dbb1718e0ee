//
// SqliteReader.cpp
//
// Layer: store
//

#include "server/store/SqliteReader.h"
#include "server/store/SqliteDatabase.h"
#include "Poco/Data/SQLite/Utility.h"
#include <sqlite3.h>
#include <limits>

using namespace Poco::Data::Keywords;

namespace imgate {
namespace store {

namespace {

class ReadTransaction
	/// BEGIN now, COMMIT when done (or when an exception leaves the scope):
	/// the statements run in between read one snapshot.
{
public:
	ReadTransaction(SqliteStatement& begin, SqliteStatement& end):
		_end(end)
	{
		begin.reset();
		begin.run();
	}

	~ReadTransaction()
	{
		try
		{
			_end.reset();
			_end.run();
		}
		catch (Poco::Exception&)
		{
			// A read transaction has nothing to lose; the next BEGIN reports a real problem.
		}
	}

private:
	SqliteStatement& _end;
};

} // namespace


SqliteReader::SqliteReader(const std::string& path):
	_session(SqliteDatabase::openReader(path))
{
	prepare();
}


void SqliteReader::prepare()
{
	sqlite3* pDb = Poco::Data::SQLite::Utility::dbHandle(_session);
	// Above the device's position (for a device without one, the highest
	// of the uid's): without carbons what it received (the inbox_received
	// index), with carbons also what its other devices sent.
	const std::string above = "i.msg_id > max(?3, coalesce((SELECT acked FROM positions WHERE uid = ?1 AND device = ?2), "
		"(SELECT max(acked) FROM positions WHERE uid = ?1), 0)) ORDER BY i.msg_id LIMIT ?4";
	// (SQLite would rather walk the primary key, sent rows and all, than
	// the partial index: INDEXED BY says which.)
	const std::string columns = "SELECT m.msg_id, m.from_uid, m.from_device, m.to_uid, m.group_id, m.payload, m.created_ms, i.sent ";
	_pendingQuery.reset(new SqliteStatement(pDb, columns + "FROM inbox i INDEXED BY inbox_received JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = ?1 AND i.sent = 0 AND " + above));
	_pendingCarbonsQuery.reset(new SqliteStatement(pDb, columns + "FROM inbox i JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = ?1 AND (i.sent = 0 OR m.from_device <> ?2) AND " + above));
	_countQuery.reset(new SqliteStatement(pDb, "SELECT count(*) FROM inbox INDEXED BY inbox_received WHERE uid = ?1 AND sent = 0 "
		"AND msg_id > coalesce((SELECT max(acked) FROM positions WHERE uid = ?1), 0)"));
	// HISTORY, newest first below before_msg_id (?2), at or above the
	// lowest msg_id (?3) and time (?4) history keeps: the whole inbox, a
	// conversation with a uid (?5), or a group (?6). The filtered ones walk
	// the messages_by_pair or messages_by_group index, so a rare peer or
	// group costs no scan of a large inbox.
	const std::string range = "m.msg_id < ?2 AND m.msg_id >= ?3 AND m.created_ms >= ?4 ";
	_historyQuery.reset(new SqliteStatement(pDb, columns + "FROM inbox i JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = ?1 AND i.msg_id < ?2 AND i.msg_id >= ?3 AND m.created_ms >= ?4 "
		"ORDER BY i.msg_id DESC LIMIT ?7"));
	// Both directions merged in msg_id order (a compound ORDER BY on two
	// index walks); to oneself, one direction only.
	_historyWithQuery.reset(new SqliteStatement(pDb, columns + "FROM messages m JOIN inbox i ON i.uid = ?1 AND i.msg_id = m.msg_id "
		"WHERE m.from_uid = ?1 AND m.to_uid = ?5 AND " + range
		+ "UNION ALL " + columns + "FROM messages m JOIN inbox i ON i.uid = ?1 AND i.msg_id = m.msg_id "
		"WHERE m.from_uid = ?5 AND m.to_uid = ?1 AND ?5 <> ?1 AND " + range
		+ "ORDER BY 1 DESC LIMIT ?7"));
	_historyGroupQuery.reset(new SqliteStatement(pDb, columns + "FROM messages m JOIN inbox i ON i.uid = ?1 AND i.msg_id = m.msg_id "
		"WHERE m.group_id = ?6 AND " + range + "ORDER BY m.msg_id DESC LIMIT ?7"));
	_memberQuery.reset(new SqliteStatement(pDb, "SELECT count(*) FROM group_members WHERE gid = ?1 AND uid = ?2"));
	_groupQuery.reset(new SqliteStatement(pDb, "SELECT created_ms FROM chat_groups WHERE gid = ?1"));
	_membersQuery.reset(new SqliteStatement(pDb, "SELECT uid FROM group_members WHERE gid = ?1 ORDER BY uid"));
	_groupsQuery.reset(new SqliteStatement(pDb, "SELECT gid FROM chat_groups WHERE gid >= ?1 ORDER BY gid LIMIT ?2"));
	_beginRead.reset(new SqliteStatement(pDb, "BEGIN"));
	_endRead.reset(new SqliteStatement(pDb, "COMMIT"));
}


void SqliteReader::pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages)
{
	SqliteStatement& q = inbox.carbons ? *_pendingCarbonsQuery : *_pendingQuery;
	q.reset();
	try
	{
		q.bind(1, inbox.uid).bind(2, inbox.device).bind(3, static_cast<Poco::Int64>(afterMsgId)).bind(4, static_cast<Poco::Int64>(limit));
		while (q.step())
		{
			StoredMessage m = inboxRow(q);
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


void SqliteReader::history(const HistoryQuery& query, HistoryPage& page)
{
	// The membership and the page in one snapshot.
	ReadTransaction snapshot(*_beginRead, *_endRead);
	SqliteStatement& q = !query.withUid.empty() ? *_historyWithQuery : !query.groupId.empty() ? *_historyGroupQuery : *_historyQuery;
	try
	{
		if (!query.groupId.empty())
		{
			_memberQuery->reset();
			_memberQuery->bind(1, query.groupId).bind(2, query.uid);
			const bool member = _memberQuery->step() && _memberQuery->int64(0) > 0;
			_memberQuery->reset();
			if (!member)
			{
				page.notMember = true;
				return;
			}
		}
		q.reset();
		const Poco::Int64 before = query.beforeMsgId ? static_cast<Poco::Int64>(query.beforeMsgId) : std::numeric_limits<Poco::Int64>::max();
		// msg_ids encode their time (SqliteWriter): none sent at or after
		// sinceMs is below sinceMs << 10.
		const Poco::Int64 lowest = query.sinceMs > 0 ? query.sinceMs << 10 : 0;
		q.bind(1, query.uid).bind(2, before).bind(3, lowest).bind(4, query.sinceMs).bind(5, query.withUid).bind(6, query.groupId)
			.bind(7, static_cast<Poco::Int64>(query.limit + 1));
		std::size_t bytes = 0;
		while (q.step())
		{
			if (page.messages.size() == query.limit)
			{
				page.more = true;
				break;
			}
			StoredMessage m = inboxRow(q);
			const std::size_t size = historyBytes(m);
			if (!page.messages.empty() && query.maxBytes && bytes + size > query.maxBytes)
			{
				page.more = true;
				break;
			}
			bytes += size;
			page.messages.push_back(std::move(m));
		}
		q.reset();
	}
	catch (Poco::Exception&)
	{
		q.reset();
		_memberQuery->reset();
		throw;
	}
}


StoredMessage SqliteReader::inboxRow(const SqliteStatement& q)
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
	return m;
}


bool SqliteReader::findGroup(const std::string& gid, Group& group)
{
	// The group and its members in one snapshot.
	ReadTransaction snapshot(*_beginRead, *_endRead);
	try
	{
		_groupQuery->reset();
		_groupQuery->bind(1, gid);
		const bool found = _groupQuery->step();
		if (found)
		{
			group.gid = gid;
			group.createdMs = _groupQuery->int64(0);
			group.members.clear();
			_membersQuery->reset();
			_membersQuery->bind(1, gid);
			while (_membersQuery->step()) group.members.push_back(_membersQuery->text(0));
			_membersQuery->reset();
		}
		_groupQuery->reset();
		return found;
	}
	catch (Poco::Exception&)
	{
		_groupQuery->reset();
		_membersQuery->reset();
		throw;
	}
}


std::vector<std::string> SqliteReader::listGroups(const std::string& prefix, std::size_t limit, bool& truncated)
{
	std::vector<std::string> gids;
	truncated = false;
	SqliteStatement& q = *_groupsQuery;
	q.reset();
	try
	{
		q.bind(1, prefix).bind(2, static_cast<Poco::Int64>(limit + 1));
		while (q.step())
		{
			std::string gid = q.text(0);
			if (gid.compare(0, prefix.size(), prefix) != 0) break; // past the prefix
			if (gids.size() == limit)
			{
				truncated = true;
				break;
			}
			gids.push_back(std::move(gid));
		}
	}
	catch (Poco::Exception&)
	{
		q.reset();
		throw;
	}
	q.reset();
	return gids;
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
