//
// WebSocketHandshake.h
//
// Layer: net
// The server's side of the HTTP request that opens a WebSocket (RFC 6455,
// section 4.2), and the GET of a static file on the same port.
//

#ifndef imgate_net_WebSocketHandshake_INCLUDED
#define imgate_net_WebSocketHandshake_INCLUDED

#include "server/net/StaticFiles.h"
#include <string>
#include <vector>

namespace imgate {
namespace net {

struct WebSocketOptions
	/// What a WebSocket listener accepts; shared by its connections and
	/// immutable while they live.
{
	std::string path = "/imgate";       /// The request target that upgrades.
	std::string subprotocol = "imgate.v1"; /// Sec-WebSocket-Protocol the client must offer.
	std::vector<std::string> allowedOrigins; /// Exact Origin values (any case); empty: any origin.
	const StaticFiles* pFiles = nullptr;  /// Served at "/" + name when not null (websocket.demo).
	std::size_t maxMessageSize = 65536;  /// Largest WebSocket message (one imgate frame).
};


class WebSocketHandshake
	/// Decides what to answer to one HTTP request head. Pure: no I/O, any
	/// thread.
{
public:
	static constexpr std::size_t MAX_HEAD_SIZE = 8192;
		/// A request head (request line and headers) may be this long.

	enum Outcome
	{
		UPGRADE,  /// 101: the connection speaks WebSocket from the next byte.
		SERVED,   /// 200: a static file, with "Connection: close": close after it.
		REFUSED   /// An error status; close after sending it.
	};

	struct Answer
	{
		Outcome outcome = REFUSED;
		int status = 400;
		std::string response; /// The whole HTTP response (head and body).
		std::string reason;   /// Why it was refused, for the log (the client sees the body).
	};

	static Answer answer(const std::string& head, const WebSocketOptions& options);
		/// head: the request up to and including its blank line. A foreign
		/// path (neither the WebSocket path nor a served file) answers 404;
		/// an Origin outside a non-empty allow list 403; a missing or
		/// foreign subprotocol 400; any other malformed upgrade 400 (426
		/// with the version we speak for another Sec-WebSocket-Version);
		/// a method other than GET (or HEAD, for a file) 405.

	static std::string contentType(const std::string& name);
		/// The Content-Type of a served file, by its extension.

	static std::string refusal(int status, const std::string& message);
		/// A complete "Connection: close" response with a text body.
};

} } // namespace imgate::net

#endif // imgate_net_WebSocketHandshake_INCLUDED
