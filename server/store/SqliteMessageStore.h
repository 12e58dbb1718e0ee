//
// SqliteMessageStore.h
//
// Layer: store
// The durable MessageStore on an SQLite file (store.type = sqlite, the
// default).
//

#ifndef imgate_store_SqliteMessageStore_INCLUDED
#define imgate_store_SqliteMessageStore_INCLUDED

#include "server/store/DurableMessageStore.h"

namespace imgate {
namespace store {

class SqliteMessageStore: public DurableMessageStore
	/// DurableMessageStore on a SqliteFile.
{
public:
	struct Options: DurableMessageStore::Options
	{
		std::string path;                  /// The database file; PATH-wal, PATH-shm and PATH.lock sit beside it.
		bool fullSync = true;              /// store.sync = full (fsync each commit) or normal.
		Poco::UInt64 maxDatabaseBytes = 0; /// 0: no limit but the disk.
	};

	explicit SqliteMessageStore(const Options& options);
		/// Creates the database's folder if missing, locks, opens and
		/// checks the database and opens the reader connections; starts no
		/// thread (start() does). Throws StoreException naming the file and
		/// the cause.
};

} } // namespace imgate::store

#endif // imgate_store_SqliteMessageStore_INCLUDED
