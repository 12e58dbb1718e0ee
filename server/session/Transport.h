//
// Transport.h
//
// Layer: session
// The transports a session may come over (protocol 1.1, section 1).
//

#ifndef imgate_session_Transport_INCLUDED
#define imgate_session_Transport_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace session {

enum class Transport: Poco::UInt8
{
	TCP = 0,
	TLS = 1,
	WS = 2,
	WSS = 3
};

static constexpr unsigned TRANSPORT_COUNT = 4;

inline const char* transportName(Transport transport)
	/// "tcp", "tls", "ws" or "wss": the admin API's field and the metrics' label.
{
	static const char* const NAMES[TRANSPORT_COUNT] = {"tcp", "tls", "ws", "wss"};
	return NAMES[static_cast<unsigned>(transport) % TRANSPORT_COUNT];
}

} } // namespace imgate::session

#endif // imgate_session_Transport_INCLUDED
