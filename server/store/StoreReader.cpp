//
// StoreReader.cpp
//
// Layer: store
//

#include "server/store/StoreReader.h"

namespace imgate {
namespace store {

StoreReader::~StoreReader()
{
}

} } // namespace imgate::store
