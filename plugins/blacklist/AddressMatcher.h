//
// AddressMatcher.h
//
// Plugin: blacklist
// A set of IPv4/IPv6 addresses and CIDR ranges with lookup cost
// independent of its size.
//

#ifndef imgate_blacklist_AddressMatcher_INCLUDED
#define imgate_blacklist_AddressMatcher_INCLUDED

#include "imgate/Address.h"
#include <map>
#include <string>
#include <unordered_set>

namespace imgate {
namespace blacklist {

class AddressMatcher
	/// Entries are kept per prefix length, masked, in hash sets: a lookup
	/// masks the address once per prefix length in use (at most 33 for IPv4
	/// and 129 for IPv6) whatever the number of entries. Entries and
	/// addresses are read by the SDK's imgate::AddressRange (imgate/Address.h):
	/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 entries, and
	/// only those (an IPv6 range such as ::/0 does not cover IPv4 clients);
	/// a looked-up address's zone ("fe80::1%eth0") is ignored. Not
	/// thread-safe for writes; const members may be called concurrently.
{
public:
	bool add(const std::string& entry, std::string& error);
		/// Adds "a.b.c.d", "a.b.c.d/n", "x:y::z" or "x:y::/n", read by
		/// AddressRange::parse(): strictly, no zone, no host bits. Returns
		/// false with error set (AddressRange's text) if entry does not
		/// parse.

	void add(const AddressRange& range);
		/// Adds a block already read.

	bool contains(const std::string& address) const;
		/// Whether address (no port) falls in any entry; false if it does
		/// not parse.

	std::size_t size() const;
	bool empty() const;

private:
	std::map<unsigned, std::unordered_set<std::string>> _v4; /// prefix length -> AddressRange::key() of the blocks
	std::map<unsigned, std::unordered_set<std::string>> _v6;
	std::size_t _size = 0;
};

} } // namespace imgate::blacklist

#endif // imgate_blacklist_AddressMatcher_INCLUDED
