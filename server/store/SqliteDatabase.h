//
// SqliteDatabase.h
//
// Layer: store
// Opens connections to the durable store's SQLite file, creates and checks
// its schema, and turns SQLite's errors into messages naming the file.
//

#ifndef imgate_store_SqliteDatabase_INCLUDED
#define imgate_store_SqliteDatabase_INCLUDED

#include "Poco/Data/Session.h"
#include "Poco/Exception.h"
#include "Poco/Types.h"
#include <string>

namespace imgate {
namespace store {

class SqliteDatabase
	/// The schema (version 2):
	///
	///     imgate_schema(version)           one row: the schema version
	///     imgate_state(key, value)         last_msg_id, opened_ms
	///     messages(msg_id INTEGER PRIMARY KEY, from_uid, from_device,
	///              to_uid, group_id, client_msg_id, created_ms, payload BLOB)
	///       unique index (from_uid, from_device, client_msg_id)  idempotent resend
	///     inbox(uid, msg_id, sent, PRIMARY KEY(uid, msg_id)) WITHOUT ROWID
	///       a row per message a uid receives (sent = 0) or sent (sent = 1)
	///       index (msg_id)                   retention, unreferenced messages
	///     positions(uid, device, acked, PRIMARY KEY(uid, device)) WITHOUT ROWID
	///     chat_groups(gid PRIMARY KEY, created_ms) WITHOUT ROWID
	///     group_members(gid, uid, PRIMARY KEY(gid, uid)) WITHOUT ROWID
	///
	/// Version 1 (round 1: one messages table with a delivered flag) is
	/// migrated in place on first open, in one transaction (migrate1to2()).
	///
	/// The database is in WAL mode: readers never block the writer and
	/// see only committed transactions. The first open puts the SQLite
	/// library in multi-thread mode: a connection must never be used by
	/// two threads at once.
{
public:
	static constexpr int SCHEMA_VERSION = 2; /// constexpr: inline, so passing it by reference (a log call) needs no definition elsewhere

	static Poco::Data::Session openWriter(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes);
		/// Opens (creating if needed) the database, switches it to WAL,
		/// creates or checks the schema and proves it is writable. Throws
		/// StoreException naming path and the cause: cannot open, not a
		/// database, a database of another application, a newer schema,
		/// read-only.

	static Poco::Data::Session openReader(const std::string& path);
		/// A read-only connection to a database openWriter() prepared.

	static std::string cause(const Poco::Exception& exc);
		/// SQLite's own words for exc ("database or disk is full").

	static bool isFull(const Poco::Exception& exc);
		/// Whether exc is SQLITE_FULL: the disk or store.maxDatabaseBytes.

private:
	static void prepareSchema(Poco::Data::Session& session, const std::string& path);
	static void createSchema(Poco::Data::Session& session);
		/// Tables and indexes of SCHEMA_VERSION, and its row in imgate_schema.
	static void createTables(Poco::Data::Session& session);
		/// Tables and indexes of SCHEMA_VERSION.
	static void createReadIndexes(Poco::Data::Session& session);
		/// The indexes pending reads and a filtered HISTORY use (IF NOT EXISTS).
	static void addReadIndexes(Poco::Data::Session& session, const std::string& path);
		/// A version-2 database written before the read indexes existed
		/// gets them (logged: on a large database it takes a while).
	static void migrate1to2(Poco::Data::Session& session, const std::string& path);
		/// Inside prepareSchema()'s transaction: each version-1 message
		/// becomes a message with a row in its recipient's inbox (and one in
		/// its sender's, for history); each recipient gets the position
		/// below its oldest undelivered message (delivered messages above
		/// it are delivered once more: at least once).
};

} } // namespace imgate::store

#endif // imgate_store_SqliteDatabase_INCLUDED
