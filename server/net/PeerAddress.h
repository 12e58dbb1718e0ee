//
// PeerAddress.h
//
// Layer: net
// A connection's remote address, taken once at accept and kept in 20
// bytes: getpeername() fails once the peer has reset the connection, and
// the address is still wanted then (close hooks, logs, kicks by address).
//

#ifndef imgate_net_PeerAddress_INCLUDED
#define imgate_net_PeerAddress_INCLUDED

#include "Poco/Net/StreamSocket.h"
#include <string>

namespace imgate {
namespace net {

class PeerAddress
{
public:
	PeerAddress();
		/// Empty: host() is "", port() is 0.

	explicit PeerAddress(const Poco::Net::StreamSocket& socket);
		/// The socket's peer, or empty if it has none (already reset).
		/// Never throws.

	bool empty() const;

	std::string host() const;
		/// "203.0.113.7", "2001:db8::1", "::ffff:203.0.113.7" (no brackets,
		/// no port, no scope id); "" if empty.

	Poco::UInt16 port() const;

	std::string toString() const;
		/// "203.0.113.7:5000", "[2001:db8::1]:5000"; "(unknown)" if empty.

private:
	unsigned char _bytes[16];
	Poco::UInt16 _port = 0;
	Poco::UInt8 _length = 0; /// 4 (IPv4), 16 (IPv6) or 0 (empty).
};


inline bool PeerAddress::empty() const
{
	return _length == 0;
}


inline Poco::UInt16 PeerAddress::port() const
{
	return _port;
}

} } // namespace imgate::net

#endif // imgate_net_PeerAddress_INCLUDED
