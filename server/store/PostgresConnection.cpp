//
// PostgresConnection.cpp
//
// Layer: store
//

#include "server/store/PostgresConnection.h"
#include "server/store/PostgresException.h"
#include "Poco/ByteOrder.h"
#include "Poco/Data/DataException.h"
#include "Poco/Data/PostgreSQL/Connector.h"
#include "Poco/Data/PostgreSQL/SessionImpl.h"
#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <mutex>

namespace imgate {
namespace store {

namespace {

bool endedWhileIdle(pg_conn* pConn)
	/// An idle connection has nothing to read. If it has, the server
	/// ended it while it sat unused (its FATAL at a shutdown or restart,
	/// or the end of the stream), which PQstatus() only reports after
	/// the next query has failed on it.
{
	if (PQtransactionStatus(pConn) != PQTRANS_IDLE) return false;
	pollfd fd{PQsocket(pConn), POLLIN, 0};
	return fd.fd >= 0 && ::poll(&fd, 1, 0) > 0;
}


Poco::Data::Session openSession(const std::string& connectionString, const std::string& name)
{
	static std::once_flag registered;
	std::call_once(registered, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
	try
	{
		return Poco::Data::Session(Poco::Data::PostgreSQL::Connector::KEY, connectionString);
	}
	catch (Poco::Exception& exc)
	{
		// Poco's words wrap libpq's ("... connection to server at ... failed: ...").
		std::string text = exc.message().empty() ? exc.displayText() : exc.message();
		while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
		throw PostgresException("cannot connect to " + name + ": " + text, "", true);
	}
}


std::string firstLine(const char* pText)
{
	std::string text = pText ? pText : "";
	const std::size_t end = text.find('\n');
	if (end != std::string::npos) text.erase(end);
	return text;
}

} // namespace


PostgresParams& PostgresParams::int64(Poco::Int64 value)
{
	const Poco::Int64 big = Poco::ByteOrder::toBigEndian(value);
	return own(std::string(reinterpret_cast<const char*>(&big), sizeof(big)), 1);
}


PostgresParams& PostgresParams::boolean(bool value)
{
	return own(std::string(1, value ? '\1' : '\0'), 1);
}


PostgresParams& PostgresParams::text(const std::string& value)
{
	_params.push_back(Param{value.data(), static_cast<int>(value.size()), 0, 0});
	return *this;
}


PostgresParams& PostgresParams::bytes(const std::string& value)
{
	// An empty bytea is an empty value, not NULL: pData must not be null.
	_params.push_back(Param{value.empty() ? "" : value.data(), static_cast<int>(value.size()), 1, 0});
	return *this;
}


PostgresParams& PostgresParams::textArray(const std::vector<std::string>& values)
{
	std::string literal = "{";
	for (const std::string& value: values)
	{
		if (literal.size() > 1) literal += ',';
		literal += '"';
		for (char c: value)
		{
			if (c == '"' || c == '\\') literal += '\\';
			literal += c;
		}
		literal += '"';
	}
	literal += '}';
	return own(std::move(literal), 0);
}


PostgresParams& PostgresParams::int64Array(const std::vector<Poco::UInt64>& values)
{
	std::string literal = "{";
	for (Poco::UInt64 value: values)
	{
		if (literal.size() > 1) literal += ',';
		literal += std::to_string(value);
	}
	literal += '}';
	return own(std::move(literal), 0);
}


PostgresParams& PostgresParams::own(std::string&& value, int format)
{
	_owned.push_back(std::move(value));
	_params.push_back(Param{nullptr, static_cast<int>(_owned.back().size()), format, _owned.size() - 1});
	return *this;
}


void PostgresParams::clear()
{
	_params.clear();
	_owned.clear();
}


int PostgresParams::count() const
{
	return static_cast<int>(_params.size());
}


void PostgresParams::resolve(std::vector<const char*>& values, std::vector<int>& lengths, std::vector<int>& formats) const
{
	values.clear();
	lengths.clear();
	formats.clear();
	for (const Param& param: _params)
	{
		values.push_back(param.pData ? param.pData : _owned[param.owned].data());
		lengths.push_back(param.length);
		formats.push_back(param.format);
	}
}


PostgresResult::PostgresResult(pg_result* pResult):
	_pResult(pResult)
{
}


PostgresResult::PostgresResult(PostgresResult&& other) noexcept:
	_pResult(other._pResult)
{
	other._pResult = nullptr;
}


PostgresResult& PostgresResult::operator = (PostgresResult&& other) noexcept
{
	if (this != &other)
	{
		if (_pResult) PQclear(_pResult);
		_pResult = other._pResult;
		other._pResult = nullptr;
	}
	return *this;
}


PostgresResult::~PostgresResult()
{
	if (_pResult) PQclear(_pResult);
}


int PostgresResult::rows() const
{
	return _pResult ? PQntuples(_pResult) : 0;
}


std::size_t PostgresResult::affected() const
{
	if (!_pResult) return 0;
	const char* pTuples = PQcmdTuples(_pResult);
	return pTuples && *pTuples ? static_cast<std::size_t>(std::strtoull(pTuples, nullptr, 10)) : 0;
}


bool PostgresResult::isNull(int row, int column) const
{
	return PQgetisnull(_pResult, row, column) != 0;
}


Poco::Int64 PostgresResult::int64(int row, int column) const
{
	if (isNull(row, column)) return 0;
	const char* p = PQgetvalue(_pResult, row, column);
	switch (PQgetlength(_pResult, row, column))
	{
	case 8:
		{
			Poco::Int64 value;
			std::memcpy(&value, p, sizeof(value));
			return Poco::ByteOrder::fromBigEndian(value);
		}
	case 4:
		{
			Poco::Int32 value;
			std::memcpy(&value, p, sizeof(value));
			return Poco::ByteOrder::fromBigEndian(value);
		}
	case 2:
		{
			Poco::Int16 value;
			std::memcpy(&value, p, sizeof(value));
			return Poco::ByteOrder::fromBigEndian(value);
		}
	case 1:
		return static_cast<unsigned char>(*p);
	default:
		throw Poco::Data::DataException("PostgreSQL returned an integer of an unexpected size");
	}
}


std::string PostgresResult::text(int row, int column) const
{
	if (isNull(row, column)) return std::string();
	return std::string(PQgetvalue(_pResult, row, column), static_cast<std::size_t>(PQgetlength(_pResult, row, column)));
}


PostgresConnection::PostgresConnection(const std::string& connectionString, const std::string& name, int timeoutMs):
	_session(openSession(connectionString, name)),
	_name(name),
	_timeoutMs(std::max(timeoutMs, 1))
{
	makeNonBlocking();
}


PostgresConnection::~PostgresConnection()
{
	// The session closes the connection, and the server forgets its
	// prepared statements with it.
}


pg_conn* PostgresConnection::handle()
{
	auto* pImpl = dynamic_cast<Poco::Data::PostgreSQL::SessionImpl*>(_session.impl());
	if (!pImpl) throw PostgresException(_name + ": not a PostgreSQL session", "", true);
	return pImpl->handle();
}


void PostgresConnection::setUp(const std::string& sql)
{
	execute(sql);
	_setUp.push_back(sql);
}


PostgresConnection::Statement PostgresConnection::prepare(const std::string& sql)
{
	_statements.push_back(sql);
	prepareOnServer(_statements.size() - 1);
	return _statements.size() - 1;
}


void PostgresConnection::prepareOnServer(Statement statement)
{
	const std::string name = "imgate_" + std::to_string(statement);
	pg_conn* pConn = handle();
	if (PQsendPrepare(pConn, name.c_str(), _statements[statement].c_str(), 0, nullptr) != 1) fail(nullptr, "cannot prepare a statement");
	PGresult* pResult = finish(pConn, deadline());
	if (!pResult || PQresultStatus(pResult) != PGRES_COMMAND_OK) fail(pResult, "cannot prepare a statement");
	PQclear(pResult);
}


PostgresResult PostgresConnection::run(Statement statement, const PostgresParams& params)
{
	std::vector<const char*> values;
	std::vector<int> lengths;
	std::vector<int> formats;
	params.resolve(values, lengths, formats);
	const std::string name = "imgate_" + std::to_string(statement);
	pg_conn* pConn = handle();
	if (PQsendQueryPrepared(pConn, name.c_str(), params.count(),
		values.empty() ? nullptr : values.data(), lengths.empty() ? nullptr : lengths.data(),
		formats.empty() ? nullptr : formats.data(), 1) != 1) fail(nullptr, "");
	PGresult* pResult = finish(pConn, deadline());
	const ExecStatusType status = pResult ? PQresultStatus(pResult) : PGRES_FATAL_ERROR;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(pResult, "");
	return PostgresResult(pResult);
}


PostgresResult PostgresConnection::run(Statement statement)
{
	return run(statement, PostgresParams());
}


void PostgresConnection::runAll(Statement statement, const std::vector<PostgresParams>& runs, std::vector<std::size_t>& affected)
{
	pg_conn* pConn = handle();
	const std::string name = "imgate_" + std::to_string(statement);
	std::vector<const char*> values;
	std::vector<int> lengths;
	std::vector<int> formats;
	const std::size_t base = affected.size();
	for (std::size_t first = 0; first < runs.size(); first += PIPELINE_CHUNK)
	{
		const std::size_t last = std::min(runs.size(), first + PIPELINE_CHUNK);
		const Deadline until = deadline();
		if (PQenterPipelineMode(pConn) != 1) fail(nullptr, "cannot enter pipeline mode");
		std::size_t sent = 0;
		for (std::size_t i = first; i < last; ++i)
		{
			runs[i].resolve(values, lengths, formats);
			if (PQsendQueryPrepared(pConn, name.c_str(), runs[i].count(), values.empty() ? nullptr : values.data(),
				lengths.empty() ? nullptr : lengths.data(), formats.empty() ? nullptr : formats.data(), 1) != 1) break;
			++sent;
		}
		const bool synced = PQpipelineSync(pConn) == 1;
		// Read every answer up to the sync point, keeping the first error.
		PGresult* pError = nullptr;
		try
		{
			for (std::size_t i = 0; i < sent; ++i)
			{
				PGresult* pResult = nextResult(pConn, until);
				if (!pResult) break; // connection lost
				const ExecStatusType status = PQresultStatus(pResult);
				if ((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) && !pError)
				{
					PostgresResult result(pResult);
					affected.push_back(result.affected());
				}
				else if (status == PGRES_FATAL_ERROR && !pError)
				{
					pError = pResult;
				}
				else
				{
					PQclear(pResult);
				}
				while ((pResult = nextResult(pConn, until)) != nullptr) PQclear(pResult); // the NULL after each query's results
			}
			if (synced)
			{
				for (PGresult* pResult = nextResult(pConn, until); pResult; pResult = nextResult(pConn, until))
				{
					const bool sync = PQresultStatus(pResult) == PGRES_PIPELINE_SYNC;
					PQclear(pResult);
					if (sync) break;
				}
			}
		}
		catch (...)
		{
			PQclear(pError); // no answer in time: the connection is gone
			throw;
		}
		PQexitPipelineMode(pConn);
		if (pError) fail(pError, "");
		if (sent < last - first || !synced || affected.size() - base < last) fail(nullptr, "");
	}
}


void PostgresConnection::execute(const std::string& sql)
{
	pg_conn* pConn = handle();
	if (PQsendQuery(pConn, sql.c_str()) != 1) fail(nullptr, "");
	PGresult* pResult = finish(pConn, deadline());
	const ExecStatusType status = pResult ? PQresultStatus(pResult) : PGRES_FATAL_ERROR;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(pResult, "");
	PQclear(pResult);
}


PostgresResult PostgresConnection::query(const std::string& sql)
{
	pg_conn* pConn = handle();
	if (PQsendQueryParams(pConn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1) != 1) fail(nullptr, "");
	PGresult* pResult = finish(pConn, deadline());
	const ExecStatusType status = pResult ? PQresultStatus(pResult) : PGRES_FATAL_ERROR;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(pResult, "");
	return PostgresResult(pResult);
}


PostgresConnection::Deadline PostgresConnection::deadline() const
{
	return Clock::now() + std::chrono::milliseconds(_timeoutMs);
}


pg_result* PostgresConnection::nextResult(pg_conn* pConn, Deadline until)
{
	while (PQstatus(pConn) == CONNECTION_OK && PQisBusy(pConn))
	{
		// The connection is non-blocking: what libpq could not send yet
		// goes out here, within the same deadline as the answer (a
		// server that stopped reading fills the socket buffers).
		const int unsent = PQflush(pConn);
		if (unsent < 0) break; // lost: PQgetResult reports it
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
		pollfd fd{PQsocket(pConn), static_cast<short>(unsent ? POLLIN | POLLOUT : POLLIN), 0};
		const int ready = left > 0 ? ::poll(&fd, 1, static_cast<int>(std::min<Poco::Int64>(left, 60000))) : 0;
		if (ready < 0 && errno == EINTR) continue;
		if (ready == 0 && Clock::now() < until) continue;
		if (ready <= 0) abandon(pConn);
		if (PQconsumeInput(pConn) != 1) break; // lost: PQgetResult reports it
	}
	return PQgetResult(pConn);
}


pg_result* PostgresConnection::finish(pg_conn* pConn, Deadline until)
{
	// PQexec's choice: the first error, else the last result.
	PGresult* pKept = nullptr;
	try
	{
		for (PGresult* pResult = nextResult(pConn, until); pResult; pResult = nextResult(pConn, until))
		{
			if (pKept && PQresultStatus(pKept) == PGRES_FATAL_ERROR)
			{
				PQclear(pResult);
				continue;
			}
			PQclear(pKept);
			pKept = pResult;
		}
	}
	catch (...)
	{
		PQclear(pKept);
		throw;
	}
	return pKept;
}


void PostgresConnection::abandon(pg_conn* pConn)
{
	// The server neither answers nor closes (stopped, or a network that
	// drops packets silently): shutting the socket makes libpq count the
	// connection lost, and reconnect() opens a new one. The server rolls
	// back whatever transaction the old one had open.
	::shutdown(PQsocket(pConn), SHUT_RDWR);
	PQconsumeInput(pConn);
	throw PostgresException("no answer in " + std::to_string((_timeoutMs + 999) / 1000) + " s (store.postgresqlTimeout): dropped the connection", "", true);
}


void PostgresConnection::fail(pg_result* pResult, const std::string& what)
{
	pg_conn* pConn = handle();
	const bool lost = PQstatus(pConn) == CONNECTION_BAD;
	std::string sqlState;
	std::string message;
	if (pResult)
	{
		const char* pState = PQresultErrorField(pResult, PG_DIAG_SQLSTATE);
		if (pState) sqlState = pState;
		message = firstLine(PQresultErrorField(pResult, PG_DIAG_MESSAGE_PRIMARY));
		PQclear(pResult);
	}
	if (message.empty()) message = firstLine(PQerrorMessage(pConn));
	if (message.empty()) message = "no answer";
	if (lost && sqlState.empty()) message = "lost the connection: " + message;
	if (!what.empty()) message = what + ": " + message;
	throw PostgresException(message, sqlState, lost);
}


bool PostgresConnection::reconnect()
{
	pg_conn* pConn = handle();
	if (PQstatus(pConn) == CONNECTION_OK && !endedWhileIdle(pConn)) return false;
	PQreset(pConn);
	if (PQstatus(pConn) != CONNECTION_OK)
		throw PostgresException("cannot connect: " + firstLine(PQerrorMessage(pConn)), "", true);
	makeNonBlocking();
	for (const std::string& sql: _setUp) execute(sql);
	for (Statement i = 0; i < _statements.size(); ++i) prepareOnServer(i);
	return true;
}


void PostgresConnection::makeNonBlocking()
{
	// Sends then never wait on a full socket buffer: libpq keeps what it
	// could not write, and nextResult() sends it within the deadline.
	// libpq's own synchronous calls (Poco's, for the schema) still wait.
	if (PQsetnonblocking(handle(), 1) != 0)
		throw PostgresException(_name + ": cannot switch to non-blocking mode: " + firstLine(PQerrorMessage(handle())), "", true);
}


bool PostgresConnection::inTransaction() const
{
	auto* pImpl = dynamic_cast<Poco::Data::PostgreSQL::SessionImpl*>(const_cast<Poco::Data::Session&>(_session).impl());
	if (!pImpl) return false;
	return PQtransactionStatus(pImpl->handle()) != PQTRANS_IDLE;
}


Poco::Data::Session& PostgresConnection::session()
{
	return _session;
}

} } // namespace imgate::store
