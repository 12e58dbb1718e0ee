//
// Address.h
//
// imgate plugin SDK: IPv4 and IPv6 addresses and CIDR blocks, parsed one
// way for everything that takes them (the admin API's bans, the blacklist
// plugin's files), and the block a peer is counted and banned by.
//

#ifndef imgate_Address_INCLUDED
#define imgate_Address_INCLUDED

#include <arpa/inet.h>
#include <cstring>
#include <string>

namespace imgate {

class AddressRange
	/// An IPv4 or IPv6 address block: a network address and a prefix
	/// length ("10.0.0.0/8", "2001:db8::/32"). One address is the block of
	/// its full length (/32, /128). An IPv4-mapped IPv6 address or block
	/// ("::ffff:203.0.113.7", "::ffff:198.51.100.0/120") is the IPv4 one
	/// ("203.0.113.7", "198.51.100.0/24"): a dual-stack listener sees IPv4
	/// peers that way, and they match IPv4 blocks, and only those.
	///
	/// A value type; header-only, like the rest of the SDK.
{
public:
	AddressRange();
		/// 0.0.0.0/0.

	static bool parse(const std::string& text, AddressRange& range, std::string& error);
		/// What a person writes (a ban list line, an admin API ban):
		/// "ADDRESS" or "ADDRESS/PREFIX", read strictly: inet_pton's
		/// spellings only (no "127.1", no leading zeros, no spaces), no
		/// zone, a prefix of 1 to 3 digits up to the address's length, and
		/// no host bits: "10.0.0.1/8" is refused, since it may mean the
		/// block 10.0.0.0/8 or the address 10.0.0.1, sixteen million
		/// addresses apart. Returns false with error saying what is wrong,
		/// without naming a field or file (the caller adds that):
		///   expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got "TEXT"
		///   the prefix length of TEXT must be 0 to 32
		///   TEXT has host bits set (did you mean 10.0.0.0/8?)
		///   TEXT: addresses here take no zone (%eth0); write fe80::1

	static bool parsePeer(const std::string& address, AddressRange& range);
		/// A connection's address as hooks get it (PeerInfo::address): one
		/// address, its zone ("fe80::1%eth0") ignored. False if it does not
		/// parse.

	bool isIPv4() const;
		/// After mapping: also for "::ffff:a.b.c.d".

	unsigned bits() const;
		/// The address's length: 32 or 128.

	unsigned prefix() const;

	bool isAddress() const;
		/// One address: prefix() == bits().

	std::string key() const;
		/// The network address as 4 or 16 bytes in network order, for a
		/// hash set of blocks of one prefix length.

	AddressRange masked(unsigned prefix) const;
		/// The block of prefix bits (at most bits()) this one lies in.

	bool contains(const AddressRange& other) const;
		/// Whether other (an address or a block) lies wholly in this
		/// block; never across IPv4 and IPv6.

	std::string toString() const;
		/// The one spelling: inet_ntop's ("2001:DB8:0::/32" is written
		/// "2001:db8::/32"), the prefix only for a block shorter than the
		/// address ("10.0.0.0/8", "203.0.113.7").

	bool operator == (const AddressRange& other) const;
	bool operator != (const AddressRange& other) const;

private:
	bool read(const std::string& address);
		/// inet_pton, IPv4-mapped IPv6 as IPv4; prefix the full length.

	unsigned char _bytes[16];
	unsigned _bits;
	unsigned _prefix;
};


inline std::string addressBlock(const std::string& address);
	/// An IPv4 address as it is ("203.0.113.7"); an IPv6 address as its /64
	/// ("2001:db8:1:2::/64"), since one host commonly holds a whole /64 and
	/// can pick a new address in it for every connection; an IPv4-mapped
	/// IPv6 address ("::ffff:203.0.113.7") as its IPv4 address. A zone
	/// ("%eth0") is ignored. Anything else is returned as it is.
	///
	/// The ratelimit plugin counts per block, and the blacklist keeps
	/// temporary address bans per block, so a ban covers what was counted.


//
// inlines
//

inline AddressRange::AddressRange():
	_bits(32),
	_prefix(0)
{
	std::memset(_bytes, 0, sizeof(_bytes));
}


inline bool AddressRange::read(const std::string& address)
{
	std::memset(_bytes, 0, sizeof(_bytes));
	// inet_pton reads up to a NUL: "1.2.3.4\0junk" is not an address.
	if (address.find('\0') != std::string::npos) return false;
	if (::inet_pton(AF_INET, address.c_str(), _bytes) == 1)
	{
		_bits = _prefix = 32;
		return true;
	}
	unsigned char bytes[16];
	if (::inet_pton(AF_INET6, address.c_str(), bytes) != 1) return false;
	static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (std::memcmp(bytes, V4_MAPPED, sizeof(V4_MAPPED)) == 0)
	{
		std::memcpy(_bytes, bytes + 12, 4);
		_bits = _prefix = 32;
	}
	else
	{
		std::memcpy(_bytes, bytes, 16);
		_bits = _prefix = 128;
	}
	return true;
}


inline bool AddressRange::parse(const std::string& text, AddressRange& range, std::string& error)
{
	const std::string::size_type slash = text.find('/');
	const std::string host = text.substr(0, slash);
	const std::string::size_type zone = host.find('%');
	AddressRange parsed;
	if (zone != std::string::npos && host.find(':') != std::string::npos && parsed.read(host.substr(0, zone)))
	{
		error = text + ": addresses here take no zone (" + host.substr(zone) + "); write " + std::string(text).erase(zone, host.size() - zone);
		return false;
	}
	if (!parsed.read(host))
	{
		error = "expected an IPv4 or IPv6 address or a CIDR block like 10.0.0.0/8, got \"" + text + "\"";
		return false;
	}
	// A mapped block counts its prefix over the IPv6 address: 96 bits
	// more than over the IPv4 one it is.
	const unsigned written = parsed._bits == 32 && host.find(':') != std::string::npos ? 128 : parsed._bits;
	unsigned prefix = written;
	if (slash != std::string::npos)
	{
		const std::string digits = text.substr(slash + 1);
		bool ok = !digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos;
		if (ok) prefix = static_cast<unsigned>(std::stoul(digits));
		if (!ok || prefix > written)
		{
			error = "the prefix length of " + text + " must be 0 to " + std::to_string(written);
			return false;
		}
	}
	if (written != parsed._bits)
	{
		// ::ffff:a.b.c.d/N: below /96 the block is no longer all mapped
		// addresses, and its host bits include the ffff.
		if (prefix < 96)
		{
			unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
			std::memcpy(v6 + 12, parsed._bytes, 4);
			std::memcpy(parsed._bytes, v6, 16);
			parsed._bits = 128;
			const AddressRange network = parsed.masked(prefix);
			error = text + " has host bits set (did you mean " + network.toString() + "?)";
			return false;
		}
		prefix -= 96;
	}
	const AddressRange network = parsed.masked(prefix);
	if (std::memcmp(network._bytes, parsed._bytes, parsed._bits / 8) != 0)
	{
		// Written as the user wrote it: an IPv4-mapped block keeps its form.
		std::string suggestion = network.toString();
		if (written != parsed._bits)
		{
			suggestion = "::ffff:" + suggestion.substr(0, suggestion.find('/')) + "/" + std::to_string(prefix + 96);
		}
		error = text + " has host bits set (did you mean " + suggestion + "?)";
		return false;
	}
	range = network;
	return true;
}


inline bool AddressRange::parsePeer(const std::string& address, AddressRange& range)
{
	const std::string::size_type zone = address.find('%');
	AddressRange parsed;
	if (!parsed.read(zone == std::string::npos || address.find(':') == std::string::npos ? address : address.substr(0, zone))) return false;
	range = parsed;
	return true;
}


inline bool AddressRange::isIPv4() const
{
	return _bits == 32;
}


inline unsigned AddressRange::bits() const
{
	return _bits;
}


inline unsigned AddressRange::prefix() const
{
	return _prefix;
}


inline bool AddressRange::isAddress() const
{
	return _prefix == _bits;
}


inline std::string AddressRange::key() const
{
	return std::string(reinterpret_cast<const char*>(_bytes), _bits / 8);
}


inline AddressRange AddressRange::masked(unsigned prefix) const
{
	AddressRange range(*this);
	if (prefix > _bits) prefix = _bits;
	range._prefix = prefix;
	for (unsigned i = 0; i < _bits / 8; ++i)
	{
		const unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
		range._bytes[i] = static_cast<unsigned char>(_bytes[i] & (keep == 0 ? 0 : 0xFF << (8 - keep)));
	}
	return range;
}


inline bool AddressRange::contains(const AddressRange& other) const
{
	return other._bits == _bits && other._prefix >= _prefix && other.masked(_prefix) == *this;
}


inline std::string AddressRange::toString() const
{
	char text[INET6_ADDRSTRLEN];
	::inet_ntop(_bits == 32 ? AF_INET : AF_INET6, _bytes, text, sizeof(text));
	std::string result(text);
	if (_prefix < _bits) result += "/" + std::to_string(_prefix);
	return result;
}


inline bool AddressRange::operator == (const AddressRange& other) const
{
	return _bits == other._bits && _prefix == other._prefix && std::memcmp(_bytes, other._bytes, _bits / 8) == 0;
}


inline bool AddressRange::operator != (const AddressRange& other) const
{
	return !(*this == other);
}


inline std::string addressBlock(const std::string& address)
{
	if (address.find(':') == std::string::npos) return address;
	AddressRange peer;
	if (!AddressRange::parsePeer(address, peer)) return address;
	if (peer.isIPv4()) return peer.toString();
	return peer.masked(64).toString();
}

} // namespace imgate

#endif // imgate_Address_INCLUDED
