//
// WebSocketUpgrade.h
//
// The client side of the WebSocket opening handshake (RFC 6455 4.1): the
// upgrade request, and the check of the server's answer. No I/O: the
// caller writes request() and hands over what it reads until the answer's
// head is complete. For ImgateClient and the C++ client library.
//

#ifndef imgate_client_WebSocketUpgrade_INCLUDED
#define imgate_client_WebSocketUpgrade_INCLUDED

#include <string>
#include <utility>
#include <vector>

namespace imgate {
namespace client {

class WebSocketUpgrade
	/// One handshake.
{
public:
	using Headers = std::vector<std::pair<std::string, std::string>>;

	WebSocketUpgrade(const std::string& hostHeader, const std::string& target, const std::string& subprotocol,
		const std::string& origin = "", const Headers& headers = Headers());
		/// A fresh random Sec-WebSocket-Key. An empty subprotocol or origin
		/// sends no such header; headers are sent after the standard ones.

	const std::string& request() const;
		/// The whole request, to write as it is.

	bool feed(const char* data, std::size_t length);
		/// Takes bytes of the answer; true once its head is complete (then
		/// call check()). Throws Poco::Net::WebSocketException when the
		/// head grows above 16 KiB.

	void check();
		/// Checks the answer: 101, Upgrade: websocket, Connection: Upgrade,
		/// the right Sec-WebSocket-Accept and, if one was asked for, the
		/// subprotocol. Throws Poco::Net::WebSocketException saying what is
		/// wrong; its code() is the HTTP status when the server refused
		/// (404, 400, 403, ...).

	std::string rest() const;
		/// Bytes after the answer's head: the first WebSocket frames.

	const std::string& protocol() const;
		/// The subprotocol the server chose (after check()).

	const Headers& responseHeaders() const;
		/// The answer's headers (after check()).

	std::string describe() const;
		/// "WebSocket upgrade of TARGET at HOST": for messages.

	std::string firstLine() const;
		/// The answer's status line so far ("" before any byte).

private:
	std::string _key;
	std::string _request;
	std::string _subprotocol;
	std::string _what;
	std::string _answer;
	std::string::size_type _end = std::string::npos;
	std::string _protocol;
	Headers _headers;
};


inline const std::string& WebSocketUpgrade::request() const
{
	return _request;
}


inline const std::string& WebSocketUpgrade::protocol() const
{
	return _protocol;
}


inline const WebSocketUpgrade::Headers& WebSocketUpgrade::responseHeaders() const
{
	return _headers;
}


inline std::string WebSocketUpgrade::describe() const
{
	return _what;
}

} } // namespace imgate::client

#endif // imgate_client_WebSocketUpgrade_INCLUDED
