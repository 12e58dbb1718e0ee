//
// PostgresDatabase.h
//
// Layer: store
// The durable store on a PostgreSQL server (store.type = postgresql): its
// schema, its connections, and PostgreSQL's errors in the store's terms.
//

#ifndef imgate_store_PostgresDatabase_INCLUDED
#define imgate_store_PostgresDatabase_INCLUDED

#include "server/store/StoreDatabase.h"
#include "server/store/PostgresConnection.h"
#include "Poco/Logger.h"
#include <string>
#include <vector>

namespace imgate {
namespace store {

class PostgresDatabase: public StoreDatabase
	/// The schema (version 1), shared by every node of a cluster:
	///
	///     imgate_schema(version)
	///     imgate_state(key, value)    last_msg_id, group_version: the rows
	///                                 every write transaction locks first
	///     messages(msg_id bigint PRIMARY KEY, from_uid, from_device bytea,
	///              to_uid, group_id, client_msg_id, created_ms, payload bytea)
	///       unique (from_uid, from_device, client_msg_id)   idempotent resend
	///     inbox(uid, msg_id, sent, PRIMARY KEY(uid, msg_id))
	///       index (msg_id); partial index (uid, msg_id) WHERE NOT sent
	///     positions(uid, device bytea, acked, PRIMARY KEY(uid, device))
	///     chat_groups(gid PRIMARY KEY, created_ms)
	///     group_members(gid, uid, PRIMARY KEY(gid, uid))
	///     imgate_probe(data bytea)      the readiness probe's scratch row
	///
	/// Text columns collate "C" (byte order, as SQLite and the memory
	/// store sort). The model and the msg_id scheme are SQLite's
	/// (SqliteDatabase, StoreWriter).
{
public:
	static constexpr int SCHEMA_VERSION = 1;

	PostgresDatabase(const std::string& connectionString, bool synchronousCommit, int timeoutSeconds);
		/// Connects once, creates the schema in an empty database (under
		/// an advisory lock: nodes starting together create it once) or
		/// checks the one there, and proves the database takes writes.
		/// Throws StoreException naming the server and the cause: cannot
		/// connect, tables of another application, a newer schema,
		/// read-only. connectionString is libpq's (keywords or a URI),
		/// completed by withDefaults(); every connection waits
		/// timeoutSeconds at most for an answer (PostgresConnection).

	std::string name() const override;
		/// "postgresql host=... port=... dbname=... user=...", never the password.
	std::string describe() const override;
	std::unique_ptr<StoreWriter> openWriter(const StoreWriter::Limits& limits) override;
	std::unique_ptr<StoreReader> openReader() override;
	std::string cause(const Poco::Exception& exc) const override;
	bool isFull(const Poco::Exception& exc) const override;
		/// SQLSTATE 53100 (disk full).
	bool isUnavailable(const Poco::Exception& exc) const override;
		/// PostgresException::isUnavailable().

	static std::string withDefaults(const std::string& connectionString);
		/// connectionString in keyword form, with what it leaves unset
		/// set as a server needs it: connect_timeout=5,
		/// fallback_application_name=imgated, TCP keepalives (idle 10 s,
		/// interval 5 s, count 3), tcp_user_timeout=30000 (ms). Throws
		/// StoreException if libpq cannot parse it, or if a value holds
		/// a space (Poco 1.11's connector splits the string at spaces).

	static std::vector<std::string> sessionSettings(const std::string& connectionString);
		/// The SETs every connection runs (again after a reconnect):
		/// idle_in_transaction_session_timeout = 10 s, unless the
		/// string's options set it.

	static std::string safeName(const std::string& connectionString);
		/// name() for connectionString; throws StoreException if libpq
		/// cannot parse it (the message says where).

private:
	void prepareSchema();
	PostgresConnection connect() const;
		/// A connection for a writer or a reader; throws StoreException.

	std::string _connectionString;
	const std::vector<std::string> _sessionSettings;
	const std::string _name;
	const bool _synchronousCommit;
	const int _timeoutMs;
	Poco::Logger& _logger;
};

} } // namespace imgate::store

#endif // imgate_store_PostgresDatabase_INCLUDED
