//
// MessageStore.cpp
//
// Layer: store
//

#include "server/store/MessageStore.h"

namespace imgate {
namespace store {

MessageStore::~MessageStore()
{
}


void MessageStore::close()
{
}

} } // namespace imgate::store
