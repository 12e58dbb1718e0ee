//
// SeenIds.h
//
// imgate C++ client: the ids of the last deliveries the application has
// had, so that a repeat (a retransmission, a redelivery after a reconnect
// or a server restart) is acknowledged without being handed over again.
//

#ifndef imgate_client_SeenIds_INCLUDED
#define imgate_client_SeenIds_INCLUDED

#include "Poco/Types.h"
#include <deque>
#include <unordered_set>

namespace imgate {
namespace client {

class SeenIds
	/// The last capacity ids added, in a set; the oldest go first. Not
	/// thread-safe.
{
public:
	explicit SeenIds(std::size_t capacity = 4096);

	bool contains(Poco::UInt64 id) const;

	void add(Poco::UInt64 id);
		/// Remembers id (once), forgetting the oldest beyond capacity.

	std::size_t size() const;

private:
	std::size_t _capacity;
	std::deque<Poco::UInt64> _order;
	std::unordered_set<Poco::UInt64> _ids;
};


inline bool SeenIds::contains(Poco::UInt64 id) const
{
	return _ids.count(id) != 0;
}


inline std::size_t SeenIds::size() const
{
	return _ids.size();
}

} } // namespace imgate::client

#endif // imgate_client_SeenIds_INCLUDED
