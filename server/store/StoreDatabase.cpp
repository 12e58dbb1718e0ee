//
// StoreDatabase.cpp
//
// Layer: store
//

#include "server/store/StoreDatabase.h"

namespace imgate {
namespace store {

StoreDatabase::~StoreDatabase()
{
}


bool StoreDatabase::isUnavailable(const Poco::Exception&) const
{
	return false;
}

} } // namespace imgate::store
