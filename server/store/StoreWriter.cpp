//
// StoreWriter.cpp
//
// Layer: store
//

#include "server/store/StoreWriter.h"

namespace imgate {
namespace store {

StoreWriter::~StoreWriter()
{
}


void StoreWriter::appendAll(const std::vector<const NewMessage*>& messages, Poco::Int64 nowMs, std::vector<AppendResult>& results)
{
	results.assign(messages.size(), AppendResult());
	for (std::size_t i = 0; i < messages.size(); ++i) append(*messages[i], nowMs, results[i]);
}

} } // namespace imgate::store
