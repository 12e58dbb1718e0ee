//
// SqliteDatabase.cpp
//
// Layer: store
//

#include "server/store/SqliteDatabase.h"
#include "server/store/MessageStore.h"
#include "Poco/Data/SQLite/Connector.h"
#include "Poco/Data/SQLite/SQLiteException.h"
#include "Poco/Data/Statement.h"
#include "Poco/Logger.h"
#include "Poco/Path.h"
#include "Poco/Timestamp.h"
#include <sqlite3.h>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

using namespace Poco::Data::Keywords;

namespace imgate {
namespace store {

namespace {

void configureLibrary()
{
	// Before the first connection. Each connection is used by one thread
	// at a time (the writer, a reader thread, or callers in turn under a
	// lock), so SQLite's per-call connection mutex (serialized mode, the
	// default) and its global memory-statistics mutex (taken on every
	// sqlite3_malloc and sqlite3_free) only cost: together 11 % of
	// imgated's CPU at 1,000 pairs x window 16. sqlite3_config() refuses
	// (SQLITE_MISUSE) once the library is initialized, for instance by a
	// plugin that opened a database first: then the defaults stay, which
	// is slower and just as correct. Never sqlite3_shutdown(): it would
	// pull the library out from under such a plugin's open connections.
	if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK) return;
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}


void registerConnector()
{
	static std::once_flag once;
	std::call_once(once, []()
	{
		configureLibrary();
		Poco::Data::SQLite::Connector::registerConnector();
	});
}


void checkPath(const std::string& path)
{
	// SQLite says only "unable to open database file"; name the real cause.
	struct stat st;
	if (::stat(path.c_str(), &st) == 0)
	{
		if (S_ISDIR(st.st_mode)) throw StoreException(path + ": cannot open the database: it is a directory");
		if (::access(path.c_str(), R_OK) != 0)
			throw StoreException(path + ": cannot open the database: " + std::strerror(errno));
		return;
	}
	std::string folder = Poco::Path(path).parent().toString();
	if (::access(folder.c_str(), W_OK | X_OK) != 0)
		throw StoreException(path + ": cannot create the database in " + folder + ": " + std::strerror(errno));
}


Poco::Data::Session connect(const std::string& path, std::size_t busySeconds)
{
	registerConnector();
	checkPath(path);
	try
	{
		// Poco retries a failed open until the login timeout: keep it short.
		Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, path, 1);
		// Another connection may briefly hold the lock (a checkpoint);
		// wait for it rather than fail.
		session.setConnectionTimeout(busySeconds);
		return session;
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(path + ": cannot open the database: " + SqliteDatabase::cause(exc));
	}
}

} // namespace


std::string SqliteDatabase::cause(const Poco::Exception& exc)
{
	std::string text = exc.message().empty() ? exc.displayText() : exc.message();
	// Poco prefixes its own words to SQLite's.
	const std::string prefix = "Can't open DB file: ";
	if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
	// ... and sometimes repeats SQLite's message ("X: X").
	const std::size_t half = text.size() / 2;
	if (text.size() > 2 && text.size() % 2 == 0 && text.compare(half - 1, 2, ": ") == 0
		&& text.compare(0, half - 1, text, half + 1, std::string::npos) == 0)
		text.erase(half - 1);
	return text;
}


bool SqliteDatabase::isFull(const Poco::Exception& exc)
{
	return dynamic_cast<const Poco::Data::SQLite::DatabaseFullException*>(&exc) != nullptr;
}


Poco::Data::Session SqliteDatabase::openWriter(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes)
{
	Poco::Data::Session session = connect(path, 5);
	try
	{
		std::string mode;
		session << "PRAGMA journal_mode = WAL", into(mode), now;
		if (mode != "wal")
			throw StoreException(path + ": cannot switch the database to WAL mode (it stays in \"" + mode + "\" mode)");
		// WAL with synchronous=FULL syncs the log on every commit; NORMAL
		// syncs only at checkpoints: a process crash loses nothing, a power
		// cut may lose the last commits.
		session << (fullSync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"), now;
		// Keep the log from staying huge after a burst.
		session << "PRAGMA journal_size_limit = 67108864", now;
		// The hot index pages of many recipients stay in memory (64 MiB).
		session << "PRAGMA cache_size = -65536", now;
		if (maxDatabaseBytes > 0)
		{
			Poco::UInt64 pageSize = 0;
			session << "PRAGMA page_size", into(pageSize), now;
			Poco::UInt64 pages = pageSize ? maxDatabaseBytes / pageSize : 0;
			session << "PRAGMA max_page_count = " + std::to_string(pages < 1 ? 1 : pages), now;
		}
		prepareSchema(session, path);
	}
	catch (StoreException&)
	{
		throw;
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(path + ": cannot use the database: " + cause(exc));
	}
	return session;
}


Poco::Data::Session SqliteDatabase::openReader(const std::string& path)
{
	Poco::Data::Session session = connect(path, 1);
	try
	{
		session << "PRAGMA query_only = 1", now;
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(path + ": cannot open the database for reading: " + cause(exc));
	}
	return session;
}


void SqliteDatabase::prepareSchema(Poco::Data::Session& session, const std::string& path)
{
	// BEGIN IMMEDIATE takes the write lock at once: a read-only file fails
	// here, at start-up, rather than at the first message.
	session << "BEGIN IMMEDIATE", now;
	try
	{
		int hasSchema = 0;
		int tables = 0;
		session << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'imgate_schema'", into(hasSchema), now;
		session << "SELECT count(*) FROM sqlite_master", into(tables), now;
		if (!hasSchema)
		{
			if (tables > 0)
				throw StoreException(path + ": is an SQLite database of another application (it has tables but no imgate_schema); refusing to touch it");
			createSchema(session);
		}
		else
		{
			int version = 0;
			session << "SELECT max(version) FROM imgate_schema", into(version), now;
			if (version > SCHEMA_VERSION)
				throw StoreException(path + ": schema version " + std::to_string(version) + " is newer than this imgated supports ("
					+ std::to_string(SCHEMA_VERSION) + "); run a newer imgated or use another store.path");
			if (version < 1)
				throw StoreException(path + ": imgate_schema holds no valid version (" + std::to_string(version) + ")");
			if (version == 1) migrate1to2(session, path);
			else addReadIndexes(session, path);
		}
		Poco::Int64 nowMs = Poco::Timestamp().epochMicroseconds() / 1000;
		session << "INSERT OR REPLACE INTO imgate_state(key, value) VALUES('opened_ms', ?)", use(nowMs), now;
		session << "COMMIT", now;
	}
	catch (...)
	{
		try
		{
			session << "ROLLBACK", now;
		}
		catch (Poco::Exception&)
		{
			// The failure being reported matters more.
		}
		throw;
	}
}


void SqliteDatabase::createSchema(Poco::Data::Session& session)
{
	session << "CREATE TABLE imgate_schema(version INTEGER NOT NULL)", now;
	session << "INSERT INTO imgate_schema(version) VALUES(" + std::to_string(SCHEMA_VERSION) + ")", now;
	session << "CREATE TABLE imgate_state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID", now;
	createTables(session);
}


void SqliteDatabase::createTables(Poco::Data::Session& session)
{
	session << "CREATE TABLE messages("
		"msg_id INTEGER PRIMARY KEY, "
		"from_uid TEXT NOT NULL, "
		"from_device TEXT NOT NULL DEFAULT '', "
		"to_uid TEXT, "
		"group_id TEXT, "
		"client_msg_id INTEGER NOT NULL, "
		"created_ms INTEGER NOT NULL, "
		"payload BLOB NOT NULL)", now;
	session << "CREATE UNIQUE INDEX messages_by_sender ON messages(from_uid, from_device, client_msg_id)", now;
	session << "CREATE TABLE inbox("
		"uid TEXT NOT NULL, "
		"msg_id INTEGER NOT NULL, "
		"sent INTEGER NOT NULL, "
		"PRIMARY KEY(uid, msg_id)) WITHOUT ROWID", now;
	session << "CREATE INDEX inbox_by_message ON inbox(msg_id)", now;
	session << "CREATE TABLE positions("
		"uid TEXT NOT NULL, "
		"device TEXT NOT NULL, "
		"acked INTEGER NOT NULL, "
		"PRIMARY KEY(uid, device)) WITHOUT ROWID", now;
	session << "CREATE TABLE chat_groups(gid TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) WITHOUT ROWID", now;
	session << "CREATE TABLE group_members(gid TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY(gid, uid)) WITHOUT ROWID", now;
	createReadIndexes(session);
}


void SqliteDatabase::createReadIndexes(Poco::Data::Session& session)
{
	// What a uid still has to receive, without walking the rows of what it
	// sent (a uid that mostly sends, a bot, has many of those).
	session << "CREATE INDEX IF NOT EXISTS inbox_received ON inbox(uid, msg_id) WHERE sent = 0", now;
	// One entry per message (not per inbox row), so that a filtered
	// HISTORY walks only the conversation asked for.
	session << "CREATE INDEX IF NOT EXISTS messages_by_pair ON messages(from_uid, to_uid, msg_id) WHERE to_uid IS NOT NULL", now;
	session << "CREATE INDEX IF NOT EXISTS messages_by_group ON messages(group_id, msg_id) WHERE group_id IS NOT NULL", now;
}


void SqliteDatabase::addReadIndexes(Poco::Data::Session& session, const std::string& path)
{
	int indexes = 0;
	session << "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('inbox_received', 'messages_by_pair', 'messages_by_group')",
		into(indexes), now;
	if (indexes == 3) return;
	Poco::Logger& logger = Poco::Logger::get("imgate.store");
	logger.notice("%s: adding the read indexes of schema version %d (once; the time grows with the messages stored)", path, SCHEMA_VERSION);
	createReadIndexes(session);
	logger.notice("%s: read indexes added", path);
}


void SqliteDatabase::migrate1to2(Poco::Data::Session& session, const std::string& path)
{
	Poco::Logger& logger = Poco::Logger::get("imgate.store");
	int messages = 0;
	int pending = 0;
	session << "SELECT count(*), coalesce(sum(delivered = 0), 0) FROM messages", into(messages), into(pending), now;
	logger.notice("%s: migrating schema version 1 to %d (%d messages, %d undelivered)", path, SCHEMA_VERSION, messages, pending);
	session << "DROP INDEX IF EXISTS messages_by_sender", now;
	session << "DROP INDEX IF EXISTS messages_pending", now;
	session << "DROP INDEX IF EXISTS messages_delivered", now;
	session << "ALTER TABLE messages RENAME TO messages_v1", now;
	createTables(session);
	session << "INSERT INTO messages(msg_id, from_uid, from_device, to_uid, group_id, client_msg_id, created_ms, payload) "
		"SELECT msg_id, from_uid, '', to_uid, NULL, client_msg_id, created_ms, payload FROM messages_v1", now;
	session << "INSERT INTO inbox(uid, msg_id, sent) SELECT to_uid, msg_id, 0 FROM messages_v1", now;
	session << "INSERT INTO inbox(uid, msg_id, sent) SELECT from_uid, msg_id, 1 FROM messages_v1 WHERE from_uid <> to_uid", now;
	// Below the oldest undelivered message, or at the newest if none is.
	session << "INSERT INTO positions(uid, device, acked) "
		"SELECT to_uid, '', coalesce(min(CASE WHEN delivered = 0 THEN msg_id END) - 1, max(msg_id)) "
		"FROM messages_v1 GROUP BY to_uid", now;
	session << "DROP TABLE messages_v1", now;
	session << "UPDATE imgate_schema SET version = " + std::to_string(SCHEMA_VERSION), now;
	logger.notice("%s: now at schema version %d", path, SCHEMA_VERSION);
}

} } // namespace imgate::store
