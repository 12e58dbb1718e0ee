//
// PostgresDatabase.cpp
//
// Layer: store
//

#include "server/store/PostgresDatabase.h"
#include "server/store/PostgresConnection.h"
#include "server/store/PostgresException.h"
#include "server/store/PostgresReader.h"
#include "server/store/PostgresWriter.h"
#include "Poco/String.h"
#include <libpq-fe.h>
#include <map>
#include <vector>

namespace imgate {
namespace store {

namespace {

const char* const SCHEMA_SQL =
	"CREATE TABLE imgate_schema(version integer NOT NULL);"
	"CREATE TABLE imgate_state(key text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL);"
	"INSERT INTO imgate_state(key, value) VALUES('last_msg_id', 0), ('group_version', 0);"
	"CREATE TABLE messages(msg_id bigint PRIMARY KEY, from_uid text COLLATE \"C\" NOT NULL, from_device bytea NOT NULL, "
		"to_uid text COLLATE \"C\", group_id text COLLATE \"C\", client_msg_id bigint NOT NULL, created_ms bigint NOT NULL, payload bytea NOT NULL);"
	"CREATE UNIQUE INDEX messages_by_sender ON messages(from_uid, from_device, client_msg_id);"
	"CREATE INDEX messages_by_pair ON messages(from_uid, to_uid, msg_id) WHERE to_uid IS NOT NULL;"
	"CREATE INDEX messages_by_group ON messages(group_id, msg_id) WHERE group_id IS NOT NULL;"
	"CREATE TABLE inbox(uid text COLLATE \"C\" NOT NULL, msg_id bigint NOT NULL, sent boolean NOT NULL, PRIMARY KEY(uid, msg_id));"
	"CREATE INDEX inbox_by_message ON inbox(msg_id);"
	"CREATE INDEX inbox_received ON inbox(uid, msg_id) WHERE NOT sent;"
	"CREATE TABLE positions(uid text COLLATE \"C\" NOT NULL, device bytea NOT NULL, acked bigint NOT NULL, PRIMARY KEY(uid, device));"
	"CREATE TABLE chat_groups(gid text COLLATE \"C\" PRIMARY KEY, created_ms bigint NOT NULL);"
	"CREATE TABLE group_members(gid text COLLATE \"C\" NOT NULL, uid text COLLATE \"C\" NOT NULL, PRIMARY KEY(gid, uid));"
	"CREATE TABLE imgate_probe(data bytea NOT NULL);";

// Serializes the schema's creation between nodes that start together
// (pg_advisory_xact_lock's key: "imgate" in ASCII).
const char* const SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(116105109103097116)";

bool holdsPassword(const std::string& connectionString)
	/// password= in either form, or a URI's user:password@.
{
	if (Poco::toLower(connectionString).find("password") != std::string::npos) return true;
	const std::size_t scheme = connectionString.find("://");
	if (scheme == std::string::npos) return false;
	const std::size_t at = connectionString.find('@', scheme + 3);
	return at != std::string::npos && connectionString.find(':', scheme + 3) < at;
}


std::map<std::string, std::string> parse(const std::string& connectionString)
{
	char* pError = nullptr;
	PQconninfoOption* pOptions = PQconninfoParse(connectionString.c_str(), &pError);
	if (!pOptions)
	{
		std::string why = pError ? pError : "out of memory";
		if (pError) PQfreemem(pError);
		while (!why.empty() && why.back() == '\n') why.pop_back();
		// libpq quotes the part it could not read (of a URI, all of it),
		// which may hold a secret.
		if (holdsPassword(connectionString))
			why = "libpq's message is not shown, as the string holds a password (use passfile=)";
		throw StoreException("store.postgresql: not a libpq connection string (keyword=value pairs or a postgresql:// URI): " + why);
	}
	std::map<std::string, std::string> options;
	for (PQconninfoOption* p = pOptions; p->keyword; ++p)
	{
		if (p->val) options[p->keyword] = p->val;
	}
	PQconninfoFree(pOptions);
	return options;
}


std::string quote(const std::string& value)
{
	std::string quoted = "'";
	for (char c: value)
	{
		if (c == '\'' || c == '\\') quoted += '\\';
		quoted += c;
	}
	return quoted + "'";
}

} // namespace


PostgresDatabase::PostgresDatabase(const std::string& connectionString, bool synchronousCommit, int timeoutSeconds):
	_connectionString(withDefaults(connectionString)),
	_sessionSettings(sessionSettings(connectionString)),
	_name(safeName(connectionString)),
	_synchronousCommit(synchronousCommit),
	_timeoutMs(timeoutSeconds * 1000),
	_logger(Poco::Logger::get("imgate.store"))
{
	prepareSchema();
}


std::string PostgresDatabase::withDefaults(const std::string& connectionString)
{
	std::map<std::string, std::string> options = parse(connectionString);
	for (const auto& option: options)
	{
		// Poco 1.11's PostgreSQL connector splits the string at every
		// space, quoted or escaped: such a value would reach libpq cut.
		if (option.second.find_first_of(" \t\n\r") == std::string::npos) continue;
		if (option.first == "password")
			throw StoreException("store.postgresql: the password holds a space, which the PostgreSQL connector (Poco 1.11) cannot pass on: put it in a passfile");
		throw StoreException("store.postgresql: " + option.first + "'s value (" + option.second
			+ ") holds a space, which the PostgreSQL connector (Poco 1.11) cannot pass on"
			+ (option.first == "options" ? ": write one option without spaces (-cname=value), or set them for imgated's role (ALTER ROLE ... SET name = value)" : ""));
	}
	// A bounded connect, and a name in pg_stat_activity.
	options.emplace("connect_timeout", "5");
	options.emplace("fallback_application_name", "imgated");
	// A peer that vanished (a host down, a network partition) is noticed
	// in about 25 s on an idle connection, in 30 s with data unacknowledged.
	options.emplace("keepalives", "1");
	options.emplace("keepalives_idle", "10");
	options.emplace("keepalives_interval", "5");
	options.emplace("keepalives_count", "3");
	options.emplace("tcp_user_timeout", "30000");
	std::string keywords;
	for (const auto& option: options)
	{
		if (!keywords.empty()) keywords += ' ';
		keywords += option.first + "=" + quote(option.second);
	}
	return keywords;
}


std::vector<std::string> PostgresDatabase::sessionSettings(const std::string& connectionString)
{
	std::vector<std::string> settings;
	// A node that stops mid-transaction (SIGSTOP, a frozen VM) would hold
	// the lock every node's writer takes: the server ends its session.
	const std::map<std::string, std::string> options = parse(connectionString);
	auto it = options.find("options");
	if (it == options.end() || it->second.find("idle_in_transaction_session_timeout") == std::string::npos)
		settings.push_back("SET idle_in_transaction_session_timeout = 10000");
	return settings;
}


PostgresConnection PostgresDatabase::connect() const
{
	try
	{
		PostgresConnection connection(_connectionString, _name, _timeoutMs);
		for (const std::string& sql: _sessionSettings) connection.setUp(sql);
		return connection;
	}
	catch (Poco::Exception& exc)
	{
		throw StoreException(exc.message());
	}
}


std::string PostgresDatabase::safeName(const std::string& connectionString)
{
	const std::map<std::string, std::string> options = parse(connectionString);
	std::string name = "postgresql";
	for (const char* key: {"host", "hostaddr", "port", "dbname", "user"})
	{
		auto it = options.find(key);
		if (it != options.end() && !it->second.empty()) name += std::string(" ") + key + "=" + it->second;
	}
	return name;
}


void PostgresDatabase::prepareSchema()
{
	try
	{
		PostgresConnection connection = connect();
		connection.execute("BEGIN");
		connection.execute(SCHEMA_LOCK);
		PostgresResult found = connection.query("SELECT to_regclass('imgate_schema') IS NOT NULL, "
			"coalesce((SELECT string_agg(relname, ', ' ORDER BY relname) FROM pg_class "
			"WHERE relname IN ('messages', 'inbox', 'positions', 'chat_groups', 'group_members', 'imgate_state') "
			"AND relnamespace = current_schema()::regnamespace AND relkind = 'r'), '')");
		const bool ours = found.int64(0, 0) != 0;
		const std::string tables = found.text(0, 1);
		if (!ours && !tables.empty())
			throw StoreException(_name + " holds tables of another application (" + tables
				+ ") and no imgate_schema: give imgated a database of its own");
		if (!ours)
		{
			connection.execute(SCHEMA_SQL);
			connection.execute("INSERT INTO imgate_schema(version) VALUES(" + std::to_string(SCHEMA_VERSION) + ")");
			_logger.information("%s: created the store's schema (version %d)", _name, SCHEMA_VERSION);
		}
		else
		{
			PostgresResult version = connection.query("SELECT max(version) FROM imgate_schema");
			if (version.isNull(0, 0))
				throw StoreException(_name + ": imgate_schema is empty: the store is damaged");
			const Poco::Int64 v = version.int64(0, 0);
			if (v > SCHEMA_VERSION)
				throw StoreException(_name + ": the store's schema is version " + std::to_string(v)
					+ ", newer than this imgated's (" + std::to_string(SCHEMA_VERSION) + "): run the newer imgated");
			if (v < SCHEMA_VERSION)
				throw StoreException(_name + ": the store's schema is version " + std::to_string(v) + ", which this imgated cannot read");
		}
		// Proves the database takes writes (not a standby, not read-only).
		connection.execute("UPDATE imgate_state SET value = value WHERE key = 'last_msg_id'");
		connection.execute("COMMIT");
	}
	catch (PostgresException& exc)
	{
		if (exc.sqlState() == "25006")
			throw StoreException(_name + " is read-only (a standby, or default_transaction_read_only): " + exc.message());
		if (exc.sqlState() == "42501")
			throw StoreException(_name + ": permission denied: " + exc.message() + " (imgated's user needs CREATE on the schema, or the tables must exist)");
		// A failed connect names the server already.
		const bool named = exc.message().find(_name) != std::string::npos;
		throw StoreException(named ? exc.message() : _name + ": " + exc.message());
	}
}


std::string PostgresDatabase::name() const
{
	return _name;
}


std::string PostgresDatabase::describe() const
{
	return _name + " (synchronous_commit=" + (_synchronousCommit ? "on" : "off") + ", group commit)";
}


std::unique_ptr<StoreWriter> PostgresDatabase::openWriter(const StoreWriter::Limits& limits)
{
	return std::unique_ptr<StoreWriter>(new PostgresWriter(connect(), _name, _synchronousCommit, limits));
}


std::unique_ptr<StoreReader> PostgresDatabase::openReader()
{
	return std::unique_ptr<StoreReader>(new PostgresReader(connect(), _name));
}


std::string PostgresDatabase::cause(const Poco::Exception& exc) const
{
	return exc.message().empty() ? exc.displayText() : exc.message();
}


bool PostgresDatabase::isFull(const Poco::Exception& exc) const
{
	auto* pError = dynamic_cast<const PostgresException*>(&exc);
	return pError && pError->isFull();
}


bool PostgresDatabase::isUnavailable(const Poco::Exception& exc) const
{
	auto* pError = dynamic_cast<const PostgresException*>(&exc);
	return pError && pError->isUnavailable();
}

} } // namespace imgate::store
