//
// PeerAddress.cpp
//
// Layer: net
//

#include "server/net/PeerAddress.h"
#include "Poco/Net/IPAddress.h"
#include "Poco/Net/SocketAddress.h"
#include <cstring>

namespace imgate {
namespace net {

PeerAddress::PeerAddress()
{
	std::memset(_bytes, 0, sizeof(_bytes));
}


PeerAddress::PeerAddress(const Poco::Net::StreamSocket& socket)
{
	std::memset(_bytes, 0, sizeof(_bytes));
	try
	{
		Poco::Net::SocketAddress address = socket.peerAddress();
		const Poco::Net::IPAddress host = address.host();
		const Poco::UInt8 length = static_cast<Poco::UInt8>(host.length());
		if (length != 4 && length != 16) return;
		std::memcpy(_bytes, host.addr(), length);
		_length = length;
		_port = address.port();
	}
	catch (Poco::Exception&)
	{
		// No peer any more: stays empty.
	}
}


std::string PeerAddress::host() const
{
	if (empty()) return std::string();
	return Poco::Net::IPAddress(_bytes, _length).toString();
}


std::string PeerAddress::toString() const
{
	if (empty()) return "(unknown)";
	if (_length == 16) return "[" + host() + "]:" + std::to_string(_port);
	return host() + ":" + std::to_string(_port);
}

} } // namespace imgate::net
