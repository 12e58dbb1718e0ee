//
// PostgresMessageStore.cpp
//
// Layer: store
//

#include "server/store/PostgresMessageStore.h"
#include "server/store/PostgresDatabase.h"

namespace imgate {
namespace store {

PostgresMessageStore::PostgresMessageStore(const Options& options):
	DurableMessageStore(std::unique_ptr<StoreDatabase>(new PostgresDatabase(options.connection, options.synchronousCommit, options.timeout)), options)
{
}

} } // namespace imgate::store
