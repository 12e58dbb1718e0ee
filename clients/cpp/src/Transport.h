//
// Transport.h
//
// imgate C++ client: the byte stream under the frames: plain TCP, TLS, or
// WebSocket on either (one frame per binary message both ways; the
// transport takes the frames out of the messages and puts them in),
// connected with a deadline. Reads never wait (the client polls fd()
// first); writes wait at most the send timeout.
//

#ifndef imgate_client_Transport_INCLUDED
#define imgate_client_Transport_INCLUDED

#include "imgate/client/Client.h"
#include "Poco/Net/StreamSocket.h"
#include <memory>
#include <string>

namespace imgate {
namespace client {

class ClientTlsContext;
class TlsChannel;
class WebSocketFramer;

class Transport
	/// One connection. One thread at a time.
{
public:
	static std::unique_ptr<Transport> connect(const ClientOptions& options, const ClientTlsContext* pTls);
		/// Connects to options.host:port within options.connectTimeout and,
		/// with pTls, completes the TLS handshake, verifying the server's
		/// certificate; with options.webSocketPath, asks for the WebSocket
		/// upgrade. Writes give up after options.connectTimeout. Throws
		/// Poco::Exception saying why, naming host and port (an upgrade the
		/// server refuses: Poco::Net::WebSocketException with its HTTP status).

	~Transport();

	Transport(const Transport&) = delete;
	Transport& operator = (const Transport&) = delete;

	int fd() const;
		/// The socket, to poll for reading.

	int receive(char* buffer, std::size_t length);
		/// Bytes that have arrived (> 0), 0 when the server closed (or the
		/// connection failed: lastError() says why), -1 when nothing has
		/// arrived. Never waits.

	void send(const std::string& bytes);
		/// Writes everything (whole frames: over WebSocket each goes as one
		/// message); throws Poco::Exception when the connection is gone or
		/// the server takes nothing for the send timeout.

	const std::string& lastError() const;

private:
	Transport();

	void upgrade(const ClientOptions& options);
	int readStream(char* buffer, std::size_t length, Poco::Timespan timeout);
		/// The bytes under any WebSocket framing: > 0, 0 at the end, -1 when none came within timeout.
	void writeStream(const std::string& bytes);
	int receiveMessages(char* buffer, std::size_t length);

	Poco::Net::StreamSocket _socket;
	std::unique_ptr<TlsChannel> _pTls;
	std::unique_ptr<WebSocketFramer> _pFramer; /// WebSocket only.
	std::string _plain;                        /// WebSocket: frame bytes taken out of messages, not yet returned.
	std::string _lastError;
};


inline const std::string& Transport::lastError() const
{
	return _lastError;
}

} } // namespace imgate::client

#endif // imgate_client_Transport_INCLUDED
