//
// PostgresConnection.h
//
// Layer: store
// One connection to PostgreSQL, opened through Poco::Data::PostgreSQL,
// with statements prepared once and run with binary parameters.
//

#ifndef imgate_store_PostgresConnection_INCLUDED
#define imgate_store_PostgresConnection_INCLUDED

#include "Poco/Data/Session.h"
#include "Poco/Types.h"
#include <chrono>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace imgate {
namespace store {

class PostgresParams
	/// The parameters of one run: $1, $2, ... in the order added. Integers,
	/// booleans and bytea go in PostgreSQL's binary format (the SQL casts
	/// each parameter, "$1::bigint", so the server knows its type); arrays
	/// as text. Text and bytes are not copied: they must stay unchanged
	/// until the run returns.
{
public:
	PostgresParams& int64(Poco::Int64 value);
	PostgresParams& boolean(bool value);
	PostgresParams& text(const std::string& value);
	PostgresParams& bytes(const std::string& value);
	PostgresParams& textArray(const std::vector<std::string>& values);
		/// A text[] literal: {"a","b"} with " and \ escaped.
	PostgresParams& int64Array(const std::vector<Poco::UInt64>& values);

	void clear();

	int count() const;
	void resolve(std::vector<const char*>& values, std::vector<int>& lengths, std::vector<int>& formats) const;
		/// The arrays PQexecPrepared takes.

private:
	struct Param
	{
		const char* pData;   /// Null: _owned[owned].
		int length;
		int format;          /// 0 text, 1 binary
		std::size_t owned;
	};

	PostgresParams& own(std::string&& value, int format);

	std::vector<Param> _params;
	std::vector<std::string> _owned;
};


class PostgresResult
	/// The rows of one run, in binary format. Move-only; frees the libpq
	/// result.
{
public:
	explicit PostgresResult(pg_result* pResult = nullptr);
	PostgresResult(PostgresResult&& other) noexcept;
	PostgresResult& operator = (PostgresResult&& other) noexcept;
	~PostgresResult();

	PostgresResult(const PostgresResult&) = delete;
	PostgresResult& operator = (const PostgresResult&) = delete;

	int rows() const;
	std::size_t affected() const;
		/// Rows an INSERT, UPDATE or DELETE changed (without RETURNING).
	bool isNull(int row, int column) const;
	Poco::Int64 int64(int row, int column) const;
		/// bigint, integer, smallint or boolean; 0 for NULL.
	std::string text(int row, int column) const;
		/// text or bytea; "" for NULL.

private:
	pg_result* _pResult;
};


class PostgresConnection
	/// Not thread-safe: one thread uses a connection at a time. A
	/// connection that breaks (the server restarted, the network failed)
	/// is opened again by reconnect(), which prepares the statements again.
	/// Every failure throws PostgresException.
	///
	/// Every round trip has a deadline, sending included (the connection
	/// is in libpq's non-blocking mode, so a server that stopped reading
	/// cannot hold a send on a full socket buffer): a server that neither
	/// answers nor closes the connection within timeoutMs (stopped, or
	/// behind a network that silently drops packets) costs the connection, which
	/// is shut and counted lost (PostgresException::connectionLost()), so
	/// that the caller's transaction fails as "unavailable" and the next
	/// reconnect() opens a new connection.
{
public:
	PostgresConnection(const std::string& connectionString, const std::string& name, int timeoutMs);
		/// Connects (bounded by the string's connect_timeout); name is what
		/// errors call the database; timeoutMs bounds every later wait for
		/// an answer.

	~PostgresConnection();

	PostgresConnection(PostgresConnection&& other) = default;
	PostgresConnection(const PostgresConnection&) = delete;
	PostgresConnection& operator = (const PostgresConnection&) = delete;

	using Statement = std::size_t;

	void setUp(const std::string& sql);
		/// Runs sql (a SET) now, and again after each reconnect.

	Statement prepare(const std::string& sql);
		/// Prepares sql on the server (and again after each reconnect).

	PostgresResult run(Statement statement, const PostgresParams& params);
		/// Runs a prepared statement; the result holds its rows.

	PostgresResult run(Statement statement);
		/// Without parameters.

	void runAll(Statement statement, const std::vector<PostgresParams>& runs, std::vector<std::size_t>& affected);
		/// Runs statement once per element of runs in libpq's pipeline
		/// mode (PIPELINE_CHUNK runs per round trip, so neither side's
		/// socket buffer fills while the other waits), and appends the
		/// rows each changed to affected, in order. The first failure
		/// throws, after the pipeline is drained (the runs after it did
		/// not happen; the transaction is aborted).

	enum
	{
		PIPELINE_CHUNK = 512
	};

	void execute(const std::string& sql);
		/// Runs SQL without parameters or prepared statement (BEGIN,
		/// COMMIT, SET; several statements separated by ";" too).

	PostgresResult query(const std::string& sql);
		/// Runs one statement without parameters, unprepared; its rows in
		/// binary format.

	bool reconnect();
		/// If the connection is broken, opens it again and prepares the
		/// statements; returns true if it did. Throws if the server still
		/// cannot be reached.

	bool inTransaction() const;
		/// A transaction is open (or failed and not yet rolled back).

	Poco::Data::Session& session();
		/// The Poco session, for schema work.

private:
	using Clock = std::chrono::steady_clock;
	using Deadline = Clock::time_point;

	pg_conn* handle();
	Deadline deadline() const;
		/// Now plus the timeout.
	pg_result* nextResult(pg_conn* pConn, Deadline until);
		/// PQgetResult() that sends what libpq still holds and waits for
		/// the server until the deadline at most, then abandon()s the
		/// connection.
	pg_result* finish(pg_conn* pConn, Deadline until);
		/// Every result of the query sent, up to libpq's closing null:
		/// the first error, else the last result (what PQexec returns).
	[[noreturn]] void abandon(pg_conn* pConn);
	[[noreturn]] void fail(pg_result* pResult, const std::string& what);
		/// Throws the error of pResult (frees it) or of the connection.
	void prepareOnServer(Statement statement);
	void makeNonBlocking();
		/// libpq's non-blocking mode, on each new connection.

	Poco::Data::Session _session;
	std::string _name;
	int _timeoutMs;
	std::vector<std::string> _setUp;
	std::vector<std::string> _statements;
};

} } // namespace imgate::store

#endif // imgate_store_PostgresConnection_INCLUDED
