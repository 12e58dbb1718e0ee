//
// PostgresReader.cpp
//
// Layer: store
//

#include "server/store/PostgresReader.h"
#include "server/store/PostgresException.h"
#include <limits>

namespace imgate {
namespace store {

namespace {

template <class Read>
auto retried(PostgresConnection& connection, Read read) -> decltype(read())
	/// Runs read, and once more on a new connection if the old one was
	/// lost: a connection the server closed while it was idle (a restart,
	/// a crash, a failover) shows it only when it is next used, and a read
	/// changes nothing, so it may run again.
{
	connection.reconnect();
	try
	{
		return read();
	}
	catch (PostgresException& exc)
	{
		if (!exc.connectionLost()) throw;
	}
	connection.reconnect();
	return read();
}

} // namespace


class PostgresReader::Snapshot
	/// BEGIN now, COMMIT when done (ROLLBACK if an exception leaves the
	/// scope): the queries run in between read one snapshot.
{
public:
	explicit Snapshot(PostgresConnection& connection):
		_connection(connection)
	{
		_connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	}

	~Snapshot()
	{
		try
		{
			_connection.execute(_done ? "COMMIT" : "ROLLBACK");
		}
		catch (Poco::Exception&)
		{
			// A read transaction has nothing to lose; a broken connection is
			// opened again by the next read.
		}
	}

	void done()
	{
		_done = true;
	}

private:
	PostgresConnection& _connection;
	bool _done = false;
};


PostgresReader::PostgresReader(PostgresConnection&& connection, const std::string& name):
	_connection(std::move(connection))
{
	try
	{
		prepare();
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(name + ": cannot prepare the readers: " + exc.message());
	}
}


void PostgresReader::prepare()
{
	// Above the device's position (for a device without one, the highest
	// of the uid's): without carbons what it received, with carbons also
	// what its other devices sent.
	const std::string above = "i.msg_id > greatest($3::bigint, coalesce((SELECT acked FROM positions WHERE uid = $1::text AND device = $2::bytea), "
		"(SELECT max(acked) FROM positions WHERE uid = $1::text), 0)) ORDER BY i.msg_id LIMIT $4::bigint";
	const std::string columns = "SELECT m.msg_id, m.from_uid, m.from_device, m.to_uid, m.group_id, m.payload, m.created_ms, i.sent ";
	_pendingQuery = _connection.prepare(columns + "FROM inbox i JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = $1::text AND NOT i.sent AND " + above);
	_pendingCarbonsQuery = _connection.prepare(columns + "FROM inbox i JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = $1::text AND (NOT i.sent OR m.from_device <> $2::bytea) AND " + above);
	_countQuery = _connection.prepare("SELECT count(*) FROM inbox WHERE uid = $1::text AND NOT sent "
		"AND msg_id > coalesce((SELECT max(acked) FROM positions WHERE uid = $1::text), 0)");
	// HISTORY, newest first below before_msg_id ($2), at or above the
	// lowest msg_id ($3) and time ($4) history keeps: the whole inbox, a
	// conversation with a uid ($5), or a group ($6); $7 rows at most.
	const std::string range = "m.msg_id < $2::bigint AND m.msg_id >= $3::bigint AND m.created_ms >= $4::bigint ";
	_historyQuery = _connection.prepare(columns + "FROM inbox i JOIN messages m ON m.msg_id = i.msg_id "
		"WHERE i.uid = $1::text AND i.msg_id < $2::bigint AND i.msg_id >= $3::bigint AND m.created_ms >= $4::bigint "
		"ORDER BY i.msg_id DESC LIMIT $5::bigint");
	_historyWithQuery = _connection.prepare("(" + columns + "FROM messages m JOIN inbox i ON i.uid = $1::text AND i.msg_id = m.msg_id "
		"WHERE m.from_uid = $1::text AND m.to_uid = $5::text AND " + range
		+ ") UNION ALL (" + columns + "FROM messages m JOIN inbox i ON i.uid = $1::text AND i.msg_id = m.msg_id "
		"WHERE m.from_uid = $5::text AND m.to_uid = $1::text AND $5::text <> $1::text AND " + range
		+ ") ORDER BY 1 DESC LIMIT $6::bigint");
	_historyGroupQuery = _connection.prepare(columns + "FROM messages m JOIN inbox i ON i.uid = $1::text AND i.msg_id = m.msg_id "
		"WHERE m.group_id = $5::text AND " + range + "ORDER BY m.msg_id DESC LIMIT $6::bigint");
	_memberQuery = _connection.prepare("SELECT 1 FROM group_members WHERE gid = $1::text AND uid = $2::text");
	_groupQuery = _connection.prepare("SELECT created_ms FROM chat_groups WHERE gid = $1::text");
	_membersQuery = _connection.prepare("SELECT uid FROM group_members WHERE gid = $1::text ORDER BY uid");
	_groupsQuery = _connection.prepare("SELECT gid FROM chat_groups WHERE gid >= $1::text ORDER BY gid LIMIT $2::bigint");
}


void PostgresReader::pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages)
{
	PostgresParams params;
	params.text(inbox.uid).bytes(inbox.device).int64(static_cast<Poco::Int64>(afterMsgId)).int64(static_cast<Poco::Int64>(limit));
	PostgresResult rows = retried(_connection, [&] { return _connection.run(inbox.carbons ? _pendingCarbonsQuery : _pendingQuery, params); });
	for (int row = 0; row < rows.rows(); ++row) messages.push_back(inboxRow(rows, row));
}


void PostgresReader::history(const HistoryQuery& query, HistoryPage& page)
{
	retried(_connection, [&]
	{
		page = HistoryPage();
		readHistory(query, page);
	});
}


void PostgresReader::readHistory(const HistoryQuery& query, HistoryPage& page)
{
	Snapshot snapshot(_connection);
	if (!query.groupId.empty())
	{
		PostgresParams member;
		member.text(query.groupId).text(query.uid);
		if (_connection.run(_memberQuery, member).rows() == 0)
		{
			page.notMember = true;
			snapshot.done();
			return;
		}
	}
	const Poco::Int64 before = query.beforeMsgId ? static_cast<Poco::Int64>(query.beforeMsgId) : std::numeric_limits<Poco::Int64>::max();
	// msg_ids encode their time (StoreWriter): none sent at or after
	// sinceMs is below sinceMs << 10.
	const Poco::Int64 lowest = query.sinceMs > 0 ? query.sinceMs << 10 : 0;
	PostgresParams params;
	params.text(query.uid).int64(before).int64(lowest).int64(query.sinceMs);
	PostgresConnection::Statement statement = _historyQuery;
	if (!query.withUid.empty())
	{
		params.text(query.withUid);
		statement = _historyWithQuery;
	}
	else if (!query.groupId.empty())
	{
		params.text(query.groupId);
		statement = _historyGroupQuery;
	}
	params.int64(static_cast<Poco::Int64>(query.limit + 1));
	PostgresResult rows = _connection.run(statement, params);
	snapshot.done();
	std::size_t bytes = 0;
	for (int row = 0; row < rows.rows(); ++row)
	{
		if (page.messages.size() == query.limit)
		{
			page.more = true;
			break;
		}
		StoredMessage m = inboxRow(rows, row);
		const std::size_t size = historyBytes(m);
		if (!page.messages.empty() && query.maxBytes && bytes + size > query.maxBytes)
		{
			page.more = true;
			break;
		}
		bytes += size;
		page.messages.push_back(std::move(m));
	}
}


StoredMessage PostgresReader::inboxRow(const PostgresResult& result, int row)
{
	StoredMessage m;
	m.msgId = static_cast<Poco::UInt64>(result.int64(row, 0));
	m.fromUid = result.text(row, 1);
	m.fromDevice = result.text(row, 2);
	m.toUid = result.text(row, 3);
	m.groupId = result.text(row, 4);
	m.payload = result.text(row, 5);
	m.timestampMs = result.int64(row, 6);
	m.sent = result.int64(row, 7) != 0;
	return m;
}


bool PostgresReader::findGroup(const std::string& gid, Group& group)
{
	return retried(_connection, [&] { return readGroup(gid, group); });
}


bool PostgresReader::readGroup(const std::string& gid, Group& group)
{
	Snapshot snapshot(_connection);
	PostgresParams params;
	params.text(gid);
	PostgresResult found = _connection.run(_groupQuery, params);
	if (found.rows() == 0)
	{
		snapshot.done();
		return false;
	}
	PostgresResult members = _connection.run(_membersQuery, params);
	snapshot.done();
	group.gid = gid;
	group.createdMs = found.int64(0, 0);
	group.members.clear();
	for (int row = 0; row < members.rows(); ++row) group.members.push_back(members.text(row, 0));
	return true;
}


std::vector<std::string> PostgresReader::listGroups(const std::string& prefix, std::size_t limit, bool& truncated)
{
	PostgresParams params;
	params.text(prefix).int64(static_cast<Poco::Int64>(limit + 1));
	PostgresResult rows = retried(_connection, [&] { return _connection.run(_groupsQuery, params); });
	std::vector<std::string> gids;
	truncated = false;
	for (int row = 0; row < rows.rows(); ++row)
	{
		std::string gid = rows.text(row, 0);
		if (gid.compare(0, prefix.size(), prefix) != 0) break; // past the prefix
		if (gids.size() == limit)
		{
			truncated = true;
			break;
		}
		gids.push_back(std::move(gid));
	}
	return gids;
}


std::size_t PostgresReader::pendingCount(const std::string& uid)
{
	PostgresParams params;
	params.text(uid);
	return static_cast<std::size_t>(retried(_connection, [&] { return _connection.run(_countQuery, params); }).int64(0, 0));
}

} } // namespace imgate::store
