//
// SeenIds.cpp
//

#include "clients/cpp/src/SeenIds.h"

namespace imgate {
namespace client {

SeenIds::SeenIds(std::size_t capacity):
	_capacity(capacity > 0 ? capacity : 1)
{
}


void SeenIds::add(Poco::UInt64 id)
{
	if (!_ids.insert(id).second) return;
	_order.push_back(id);
	if (_order.size() > _capacity)
	{
		_ids.erase(_order.front());
		_order.pop_front();
	}
}

} } // namespace imgate::client
