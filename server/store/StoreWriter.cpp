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

} } // namespace imgate::store
