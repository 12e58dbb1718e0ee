//
// SqliteStatement.h
//
// Layer: store
// One SQL statement compiled once and run many times on a connection that
// Poco::Data opened and configured.
//

#ifndef imgate_store_SqliteStatement_INCLUDED
#define imgate_store_SqliteStatement_INCLUDED

#include "Poco/Types.h"
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace imgate {
namespace store {

class SqliteStatement
	/// Why not Poco::Data::Statement: Poco 1.11's SQLite connector compiles
	/// the SQL again (sqlite3_prepare_v2) on every execute(), and on the
	/// store's hot path that was half of imgated's CPU (perf, see
	/// docs/benchmarks.md). This compiles once and then only resets, binds
	/// and steps.
	///
	/// Use: reset(), bind the parameters (1-based), step() until it returns
	/// false (or read the one row you need), reset() again to release the
	/// statement. Errors throw what Poco's SQLite connector throws for the
	/// same result code (Poco::Data::SQLite::Utility::throwException), so
	/// SQLITE_FULL is a DatabaseFullException here too; after an error the
	/// statement is still usable once reset.
	///
	/// Bound text and blobs are not copied: they must stay unchanged until
	/// the last step() of that use. Not thread-safe (one connection, one
	/// thread).
{
public:
	SqliteStatement(sqlite3* pDb, const std::string& sql);
		/// Throws the connector's exception if sql does not compile.

	~SqliteStatement();

	SqliteStatement(const SqliteStatement&) = delete;
	SqliteStatement& operator = (const SqliteStatement&) = delete;

	void reset();
		/// Ends the current use and unbinds the parameters.

	SqliteStatement& bind(int index, Poco::Int64 value);
	SqliteStatement& bind(int index, const std::string& text);
	SqliteStatement& bindBlob(int index, const std::string& bytes);
		/// An empty blob is bound as a zero-length blob, not NULL.

	bool step();
		/// True with a row to read, false when done.

	std::size_t run();
		/// reset() must have been called and parameters bound: steps to the
		/// end, resets, and returns the rows changed.

	Poco::Int64 int64(int column) const;
	std::string text(int column) const;
	std::string blob(int column) const;

private:
	[[noreturn]] void fail(int rc) const;

	sqlite3* _pDb;
	sqlite3_stmt* _pStmt = nullptr;
};

} } // namespace imgate::store

#endif // imgate_store_SqliteStatement_INCLUDED
