//
// SqliteMessageStore.cpp
//
// Layer: store
//

#include "server/store/SqliteMessageStore.h"
#include "server/store/SqliteFile.h"

namespace imgate {
namespace store {

SqliteMessageStore::SqliteMessageStore(const Options& options):
	DurableMessageStore(std::unique_ptr<StoreDatabase>(new SqliteFile(options.path, options.fullSync, options.maxDatabaseBytes)), options)
{
}

} } // namespace imgate::store
