//
// AddressMatcher.h
//
// Plugin: blacklist
// A set of IPv4/IPv6 addresses and CIDR ranges with lookup cost
// independent of its size.
//

#ifndef imgate_blacklist_AddressMatcher_INCLUDED
#define imgate_blacklist_AddressMatcher_INCLUDED

#include <map>
#include <string>
#include <unordered_set>

namespace imgate {
namespace blacklist {

class AddressMatcher
	/// Entries are kept per prefix length, masked, in hash sets: a lookup
	/// masks the address once per prefix length in use (at most 33 for IPv4
	/// and 129 for IPv6) whatever the number of entries. IPv4-mapped IPv6
	/// addresses (::ffff:a.b.c.d) match IPv4 entries, and only those (an
	/// IPv6 range such as ::/0 does not cover IPv4 clients). A zone suffix
	/// ("fe80::1%eth0") is ignored. Not thread-safe for
	/// writes; const members may be called concurrently.
{
public:
	bool add(const std::string& entry, std::string& error);
		/// Adds "a.b.c.d", "a.b.c.d/n", "x:y::z" or "x:y::/n". Returns false
		/// with error set if entry does not parse (host bits set under the
		/// prefix are allowed and ignored).

	bool contains(const std::string& address) const;
		/// Whether address (no port) falls in any entry; false if it does
		/// not parse.

	std::size_t size() const;
	bool empty() const;

	static bool toBytes(const std::string& address, std::string& bytes);
		/// 4 bytes for IPv4 (also for IPv4-mapped IPv6), 16 for IPv6.

private:
	static void mask(std::string& bytes, unsigned prefix);

	std::map<unsigned, std::unordered_set<std::string>> _v4; /// prefix length -> masked addresses
	std::map<unsigned, std::unordered_set<std::string>> _v6;
	std::size_t _size = 0;
};

} } // namespace imgate::blacklist

#endif // imgate_blacklist_AddressMatcher_INCLUDED
