//
// AddressMatcher.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/AddressMatcher.h"
#include <arpa/inet.h>
#include <cstring>

namespace imgate {
namespace blacklist {

bool AddressMatcher::toBytes(const std::string& address, std::string& bytes)
{
	unsigned char buffer[16];
	if (::inet_pton(AF_INET, address.c_str(), buffer) == 1)
	{
		bytes.assign(reinterpret_cast<char*>(buffer), 4);
		return true;
	}
	// A link-local address may carry its zone ("fe80::1%eth0"): the
	// address is what is listed, whatever the interface.
	const std::string::size_type zone = address.find('%');
	const std::string unzoned = zone == std::string::npos ? address : address.substr(0, zone);
	if (::inet_pton(AF_INET6, unzoned.c_str(), buffer) == 1)
	{
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (std::memcmp(buffer, mapped, 12) == 0) bytes.assign(reinterpret_cast<char*>(buffer) + 12, 4);
		else bytes.assign(reinterpret_cast<char*>(buffer), 16);
		return true;
	}
	return false;
}


void AddressMatcher::mask(std::string& bytes, unsigned prefix)
{
	for (std::size_t i = 0; i < bytes.size(); ++i)
	{
		unsigned bitsHere = prefix >= 8 * (i + 1) ? 8 : (prefix > 8 * i ? prefix - 8 * static_cast<unsigned>(i) : 0);
		unsigned char m = bitsHere == 0 ? 0 : static_cast<unsigned char>(0xFF << (8 - bitsHere));
		bytes[i] = static_cast<char>(static_cast<unsigned char>(bytes[i]) & m);
	}
}


bool AddressMatcher::add(const std::string& entry, std::string& error)
{
	std::string address = entry;
	std::size_t slash = entry.find('/');
	long prefix = -1;
	if (slash != std::string::npos)
	{
		address = entry.substr(0, slash);
		std::string digits = entry.substr(slash + 1);
		if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
		{
			error = "bad prefix length in \"" + entry + "\"";
			return false;
		}
		prefix = std::stol(digits);
	}
	std::string bytes;
	if (!toBytes(address, bytes))
	{
		error = "not an IPv4 or IPv6 address: \"" + address + "\"";
		return false;
	}
	const unsigned bits = static_cast<unsigned>(bytes.size() * 8);
	if (prefix < 0) prefix = bits;
	// An IPv4-mapped IPv6 range keeps its meaning on the IPv4 bytes.
	if (bytes.size() == 4 && address.find(':') != std::string::npos)
	{
		if (prefix < 96)
		{
			error = "an IPv4-mapped range needs a prefix of at least 96: \"" + entry + "\"";
			return false;
		}
		prefix -= 96;
	}
	if (prefix > static_cast<long>(bits))
	{
		error = "prefix length above " + std::to_string(bits) + " in \"" + entry + "\"";
		return false;
	}
	mask(bytes, static_cast<unsigned>(prefix));
	auto& byPrefix = bytes.size() == 4 ? _v4 : _v6;
	if (byPrefix[static_cast<unsigned>(prefix)].insert(bytes).second) ++_size;
	return true;
}


bool AddressMatcher::contains(const std::string& address) const
{
	std::string bytes;
	if (_size == 0 || !toBytes(address, bytes)) return false;
	const auto& byPrefix = bytes.size() == 4 ? _v4 : _v6;
	for (const auto& entry: byPrefix)
	{
		std::string masked = bytes;
		mask(masked, entry.first);
		if (entry.second.count(masked)) return true;
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
