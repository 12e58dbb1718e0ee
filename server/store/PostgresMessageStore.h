//
// PostgresMessageStore.h
//
// Layer: store
// The durable MessageStore on PostgreSQL (store.type = postgresql): one
// node's, or a cluster's shared store.
//

#ifndef imgate_store_PostgresMessageStore_INCLUDED
#define imgate_store_PostgresMessageStore_INCLUDED

#include "server/store/DurableMessageStore.h"

namespace imgate {
namespace store {

class PostgresMessageStore: public DurableMessageStore
	/// DurableMessageStore on a PostgresDatabase.
{
public:
	struct Options: DurableMessageStore::Options
	{
		std::string connection;        /// store.postgresql: libpq's connection string.
		bool synchronousCommit = true; /// store.sync = full (synchronous_commit on) or normal (off).
		int timeout = 30;              /// store.postgresqlTimeout: seconds a connection waits for an answer.
	};

	explicit PostgresMessageStore(const Options& options);
		/// Connects, creates or checks the schema and opens the reader
		/// connections; starts no thread (start() does). Throws
		/// StoreException naming the server and the cause.
};

} } // namespace imgate::store

#endif // imgate_store_PostgresMessageStore_INCLUDED
