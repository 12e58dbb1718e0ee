//
// StoreDatabase.h
//
// Layer: store
// The database under DurableMessageStore: it opens the writing and reading
// connections and explains the database's errors.
//

#ifndef imgate_store_StoreDatabase_INCLUDED
#define imgate_store_StoreDatabase_INCLUDED

#include "server/store/StoreReader.h"
#include "server/store/StoreWriter.h"
#include "Poco/Exception.h"
#include <memory>
#include <string>

namespace imgate {
namespace store {

class StoreDatabase
	/// Implementations: SqliteFile (store.type = sqlite) and
	/// PostgresDatabase (store.type = postgresql). Constructed before the
	/// store, so that whatever must hold before the first connection (a
	/// folder, a lock, a schema) is done and any failure thrown as a
	/// StoreException naming the database.
{
public:
	virtual ~StoreDatabase();

	virtual std::string name() const = 0;
		/// What log lines and errors call the database: a file's path, or
		/// a server's address and database (never a password).

	virtual std::string describe() const = 0;
		/// One line for the start-up log.

	virtual std::unique_ptr<StoreWriter> openWriter(const StoreWriter::Limits& limits) = 0;
		/// The one writing connection. Throws StoreException.

	virtual std::unique_ptr<StoreReader> openReader() = 0;
		/// A reading connection. Throws StoreException.

	virtual std::string cause(const Poco::Exception& exc) const = 0;
		/// The database's own words for exc ("database or disk is full").

	virtual bool isFull(const Poco::Exception& exc) const = 0;
		/// exc says the disk or the database's size limit is full: part of
		/// a batch may still fit.

	virtual bool isUnavailable(const Poco::Exception& exc) const;
		/// exc says the database cannot be reached for now (a server that
		/// is down or restarting): the sends are refused as busy, to be
		/// retried, not as failed. Default: false.
};

} } // namespace imgate::store

#endif // imgate_store_StoreDatabase_INCLUDED
