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


void MessageStore::start()
{
}


void MessageStore::close()
{
}


POCO_IMPLEMENT_EXCEPTION(StoreException, Poco::IOException, "Message store error")

} } // namespace imgate::store
