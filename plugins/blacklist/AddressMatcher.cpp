//
// AddressMatcher.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/AddressMatcher.h"

namespace imgate {
namespace blacklist {

bool AddressMatcher::add(const std::string& entry, std::string& error)
{
	AddressRange range;
	if (!AddressRange::parse(entry, range, error)) return false;
	add(range);
	return true;
}


void AddressMatcher::add(const AddressRange& range)
{
	auto& byPrefix = range.isIPv4() ? _v4 : _v6;
	if (byPrefix[range.prefix()].insert(range.key()).second) ++_size;
}


bool AddressMatcher::contains(const std::string& address) const
{
	AddressRange peer;
	if (_size == 0 || !AddressRange::parsePeer(address, peer)) return false;
	const auto& byPrefix = peer.isIPv4() ? _v4 : _v6;
	for (const auto& entry: byPrefix)
	{
		if (entry.second.count(peer.masked(entry.first).key())) return true;
	}
	return false;
}


std::size_t AddressMatcher::size() const
{
	return _size;
}


bool AddressMatcher::empty() const
{
	return _size == 0;
}

} } // namespace imgate::blacklist
