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
	/// The schema (version 1):
	///
	///     imgate_schema(version)           one row: the schema version
	///     imgate_state(key, value)         last_msg_id, opened_ms
	///     messages(msg_id INTEGER PRIMARY KEY, to_uid, from_uid,
	///              client_msg_id, created_ms, delivered, payload BLOB)
	///       unique index (from_uid, client_msg_id)      idempotent resend
	///       partial index (to_uid, msg_id) WHERE delivered = 0   paging
	///       partial index (msg_id) WHERE delivered = 1           retention
	///
	/// The database is in WAL mode: readers never block the writer and
	/// see only committed transactions. The first open puts the SQLite
	/// library in multi-thread mode: a connection must never be used by
	/// two threads at once.
{
public:
	static const int SCHEMA_VERSION = 1;

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
};

} } // namespace imgate::store

#endif // imgate_store_SqliteDatabase_INCLUDED
