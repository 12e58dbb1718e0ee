//
// SqliteStatement.cpp
//
// Layer: store
//

#include "server/store/SqliteStatement.h"
#include "Poco/Data/DataException.h"
#include "Poco/Data/SQLite/Utility.h"
#include <sqlite3.h>

namespace imgate {
namespace store {

SqliteStatement::SqliteStatement(sqlite3* pDb, const std::string& sql):
	_pDb(pDb)
{
	const int rc = sqlite3_prepare_v2(pDb, sql.c_str(), static_cast<int>(sql.size()) + 1, &_pStmt, nullptr);
	if (rc != SQLITE_OK) fail(rc);
}


SqliteStatement::~SqliteStatement()
{
	sqlite3_finalize(_pStmt);
}


void SqliteStatement::reset()
{
	// sqlite3_reset() repeats the last step's error; that was reported then.
	sqlite3_reset(_pStmt);
	sqlite3_clear_bindings(_pStmt);
}


SqliteStatement& SqliteStatement::bind(int index, Poco::Int64 value)
{
	const int rc = sqlite3_bind_int64(_pStmt, index, value);
	if (rc != SQLITE_OK) fail(rc);
	return *this;
}


SqliteStatement& SqliteStatement::bind(int index, const std::string& text)
{
	const int rc = sqlite3_bind_text(_pStmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
	if (rc != SQLITE_OK) fail(rc);
	return *this;
}


SqliteStatement& SqliteStatement::bindBlob(int index, const std::string& bytes)
{
	const int rc = bytes.empty()
		? sqlite3_bind_zeroblob(_pStmt, index, 0)
		: sqlite3_bind_blob(_pStmt, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
	if (rc != SQLITE_OK) fail(rc);
	return *this;
}


bool SqliteStatement::step()
{
	const int rc = sqlite3_step(_pStmt);
	if (rc == SQLITE_ROW) return true;
	if (rc == SQLITE_DONE) return false;
	fail(rc);
}


std::size_t SqliteStatement::run()
{
	while (step())
	{
	}
	const std::size_t changed = static_cast<std::size_t>(sqlite3_changes(_pDb));
	reset();
	return changed;
}


Poco::Int64 SqliteStatement::int64(int column) const
{
	return sqlite3_column_int64(_pStmt, column);
}


std::string SqliteStatement::text(int column) const
{
	const unsigned char* p = sqlite3_column_text(_pStmt, column);
	return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(_pStmt, column))) : std::string();
}


std::string SqliteStatement::blob(int column) const
{
	const void* p = sqlite3_column_blob(_pStmt, column);
	return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(_pStmt, column))) : std::string();
}


void SqliteStatement::fail(int rc) const
{
	// The extended code of the last call (e.g. SQLITE_FULL from a step).
	const int code = rc == SQLITE_ERROR ? sqlite3_extended_errcode(_pDb) & 0xFF : rc & 0xFF;
	Poco::Data::SQLite::Utility::throwException(_pDb, code);
	throw Poco::Data::DataException("SQLite result code " + std::to_string(rc)); // not reached
}

} } // namespace imgate::store
