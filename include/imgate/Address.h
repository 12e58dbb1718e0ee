//
// Address.h
//
// imgate plugin SDK: the address block a peer is counted and banned by.
//

#ifndef imgate_Address_INCLUDED
#define imgate_Address_INCLUDED

#include <arpa/inet.h>
#include <cstring>
#include <string>

namespace imgate {

inline std::string addressBlock(const std::string& address)
	/// An IPv4 address as it is ("203.0.113.7"); an IPv6 address as its /64
	/// ("2001:db8:1:2::/64"), since one host commonly holds a whole /64 and
	/// can pick a new address in it for every connection; an IPv4-mapped
	/// IPv6 address ("::ffff:203.0.113.7") as its IPv4 address. A zone
	/// ("%eth0") is ignored. Anything else is returned as it is.
	///
	/// The ratelimit plugin counts per block, and the blacklist keeps
	/// temporary address bans per block, so a ban covers what was counted.
{
	if (address.find(':') == std::string::npos) return address;
	const std::string::size_type zone = address.find('%');
	unsigned char bytes[16];
	if (inet_pton(AF_INET6, address.substr(0, zone).c_str(), bytes) != 1) return address;
	static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char text[INET6_ADDRSTRLEN];
	if (std::memcmp(bytes, V4_MAPPED, sizeof(V4_MAPPED)) == 0)
	{
		inet_ntop(AF_INET, bytes + 12, text, sizeof(text));
		return text;
	}
	std::memset(bytes + 8, 0, 8);
	inet_ntop(AF_INET6, bytes, text, sizeof(text));
	return std::string(text) + "/64";
}

} // namespace imgate

#endif // imgate_Address_INCLUDED
