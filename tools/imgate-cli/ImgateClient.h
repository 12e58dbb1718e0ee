//
// ImgateClient.h
//
// A blocking protocol-v1 client on one connection (plain TCP, TLS,
// WebSocket or WebSocket over TLS), for imgate-cli, the integration tests
// and small tools. Not for servers.
//

#ifndef imgate_client_ImgateClient_INCLUDED
#define imgate_client_ImgateClient_INCLUDED

#include "server/protocol/Command.h"
#include "server/protocol/FrameDecoder.h"
#include "server/protocol/Status.h"
#include "tools/imgate-cli/ClientTlsContext.h"
#include "tools/imgate-cli/WebSocketFramer.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Timespan.h"
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>
#include <string>

namespace google {
namespace protobuf {
class MessageLite;
} }

namespace imgate {
namespace client {

struct Reply
	/// One frame received from the server.
{
	Poco::UInt16 cmd = 0;
	Poco::UInt16 status = 0;
	Poco::UInt32 seq = 0;
	std::string body;

	protocol::Command command() const { return static_cast<protocol::Command>(cmd); }
	protocol::Status result() const { return static_cast<protocol::Status>(status); }

	template <class M>
	M parse() const
		/// The body as message M; throws Poco::DataFormatException if it does not parse.
	{
		M m;
		if (!m.ParseFromString(body)) throw Poco::DataFormatException("body does not parse");
		return m;
	}
};


class TlsChannel;


struct WebSocketOptions
	/// How connectWebSocket() asks for the upgrade.
{
	std::string caFile;                  /// wss: as TlsOptions::caFile (empty: not verified).
	TlsOptions tls;                      /// wss: the rest of the TLS settings; caFile above wins when set.
	std::string origin;                  /// The Origin header; empty: none sent.
	std::string subprotocol = "imgate.v1";
		/// Sec-WebSocket-Protocol asked for; empty: the header is not sent
		/// (to test the server's 400). The server's answer must name it.
	std::vector<std::pair<std::string, std::string>> headers;
		/// More request headers, sent after the standard ones.
};


class ImgateClient
	/// One thread at a time. Frames that arrive while waiting for a
	/// particular reply are queued and returned by later receive() calls, so
	/// nothing the server sends is lost.
	///
	/// Every transport behaves the same from send() to waitClosed(): over
	/// WebSocket each imgate frame travels as one binary message both ways
	/// (protocol-v1.1 section 1), pings from the server are answered with
	/// pongs as they are read, and a close from the server ends the
	/// connection as an end of stream does on TCP (closed() turns true; the
	/// code and reason stay readable).
{
public:
	enum Transport
	{
		TCP,
		TLS,
		WS,     /// WebSocket on plain TCP.
		WSS     /// WebSocket over TLS.
	};

	ImgateClient(const std::string& host, Poco::UInt16 port, Poco::Timespan connectTimeout = Poco::Timespan(5, 0),
		const std::string& sourceAddress = "");
		/// Plain TCP. Connects (from sourceAddress, if given); throws
		/// Poco::Net::NetException naming host and port.

	static std::unique_ptr<ImgateClient> connectTls(const std::string& host, Poco::UInt16 port, const std::string& caFile,
		Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// TLS: connects and completes the handshake within timeout,
		/// verifying the server's certificate against the CA certificates
		/// in caFile (PEM) and against host (an IP address is matched with
		/// the certificate's IP entries, a name with its DNS names).
		/// Throws Poco::Net::NetException naming host and port and saying
		/// why ("certificate verify failed: certificate has expired", "IP
		/// address mismatch", "tlsv1 alert protocol version", ...),
		/// Poco::TimeoutException when the handshake does not complete, and
		/// Poco::OpenFileException when caFile cannot be read.

	static std::unique_ptr<ImgateClient> connectTls(const std::string& host, Poco::UInt16 port, const TlsOptions& options,
		Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// As above with every TLS setting (versions offered, the name
		/// checked, no verification at all).

	static std::unique_ptr<ImgateClient> connectWebSocket(const std::string& url, const std::string& caFile = "",
		const std::string& origin = "", Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// WebSocket: url is ws://HOST:PORT/PATH or wss://HOST:PORT/PATH
		/// (default ports 80 and 443). Connects, for wss completes the TLS
		/// handshake (verified against caFile as connectTls() does; an
		/// empty caFile does not verify), and asks for the upgrade with
		/// Sec-WebSocket-Protocol: imgate.v1 and, if not empty, Origin.
		/// The server must answer 101 with the right Sec-WebSocket-Accept
		/// and the subprotocol. Throws Poco::Net::WebSocketException when
		/// the server refuses the upgrade: its code() is the HTTP status
		/// (404, 400, 403, ...) and its message has the status line;
		/// code() 0 when the answer is not a valid upgrade. Throws
		/// Poco::SyntaxException for a bad url, and what connectTls()
		/// throws for TLS.

	static std::unique_ptr<ImgateClient> connectWebSocket(const std::string& url, const WebSocketOptions& options,
		Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// As above with every upgrade setting.

	~ImgateClient();

	void sendRaw(const std::string& bytes);
		/// TCP and TLS: bytes as they are on the stream. WebSocket: bytes
		/// as one binary message (so a test can send a malformed imgate
		/// frame the same way on every transport).

	void send(protocol::Command cmd, Poco::UInt32 seq, const google::protobuf::MessageLite& body);
	void send(protocol::Command cmd, Poco::UInt32 seq);
		/// One frame (one binary message over WebSocket).

	void sendStream(const std::string& bytes);
		/// Bytes as they are on the byte stream under any framing (inside
		/// TLS for TLS and wss; under the WebSocket framing for ws and wss):
		/// for tests that write broken WebSocket frames by hand.

	Poco::UInt32 nextSeq();
		/// 1, 2, 3, ...

	bool receive(Reply& reply, Poco::Timespan timeout);
		/// The next frame (queued first). False on timeout or when the server
		/// closed the connection (then closed() is true).

	bool receiveReply(Reply& reply, protocol::Command cmd, Poco::UInt32 seq, Poco::Timespan timeout);
		/// Waits for the frame with this cmd and seq, or an ERROR with this
		/// seq (returned instead); other frames stay queued.

	bool receiveCommand(Reply& reply, protocol::Command cmd, Poco::Timespan timeout);
		/// Waits for the next frame with this cmd; other frames stay queued.

	Reply login(const std::string& uid, const std::string& token, const std::string& device = "", Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// Sends LOGIN and returns LOGIN_RESP. Throws Poco::TimeoutException.

	Reply sendMessage(const std::string& toUid, Poco::UInt64 clientMsgId, const std::string& payload, Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// Sends MSG_SEND and returns its MSG_SEND_ACK. Throws Poco::TimeoutException.

	void ackDeliveries(const std::vector<Poco::UInt64>& msgIds);
		/// Sends MSG_DELIVER_ACK.

	bool closed() const;
		/// True once the server closed the connection.

	bool waitClosed(Poco::Timespan timeout);
		/// Reads (and queues) until the server closes; false on timeout.

	void close();
		/// Closes the socket at once (no TLS close_notify, no WebSocket
		/// close frame): to the server, a client that went away.

	Poco::Net::StreamSocket& socket();
		/// The TCP socket under every transport.

	Transport transport() const;

	std::string transportName() const;
		/// "tcp", "tls", "ws" or "wss", as the admin API names them.

	// TLS (TLS and WSS only; "" otherwise)

	std::string tlsVersion() const;
		/// "TLSv1.3" or "TLSv1.2".

	std::string tlsCipher() const;

	std::string tlsPeerSubject() const;
		/// The server certificate's subject, RFC 2253 ("CN=imgate-test").

	std::string tlsPeerSerial() const;
		/// The server certificate's serial number, hexadecimal: tells two
		/// certificates apart (the reload test).

	// WebSocket (WS and WSS only)

	const std::string& webSocketProtocol() const;
		/// The subprotocol the server's 101 answer named.

	const std::string& webSocketResponseHeader(const std::string& name) const;
		/// A header of the server's 101 answer, "" if absent.

	void sendWebSocketFrame(unsigned opcode, const std::string& payload, bool fin = true, bool masked = true, unsigned rsv = 0);
		/// Writes one raw frame: any opcode (WebSocketFramer::TEXT, BINARY,
		/// CONTINUATION, PING, PONG, CLOSE or a reserved one), FIN clear for
		/// the first parts of a fragmented message (then CONTINUATION
		/// frames, the last with fin), masked or not (a client must mask:
		/// the server is to close with 1002), RSV bits (0-7). Examples: a
		/// text message: (TEXT, "hi"); two imgate frames in one message:
		/// (BINARY, frameA + frameB); a message in two fragments:
		/// (BINARY, part1, false) then (CONTINUATION, part2); a ping:
		/// (PING, "x") then waitPong("x", ...).

	void sendWebSocketClose(Poco::UInt16 code = 1000, const std::string& reason = "");
		/// A CLOSE frame with code and reason; the server answers with its
		/// own close and ends the connection (waitClosed() sees it).

	bool waitPong(const std::string& payload, Poco::Timespan timeout);
		/// Reads (frames are queued) until a PONG with this payload arrives;
		/// false on timeout or when the connection closed first. A pong
		/// is taken once: each waitPong() needs a pong of its own.

	unsigned webSocketPingsReceived() const;
		/// PINGs the server sent (each was answered with a PONG).

	unsigned webSocketPongsReceived() const;
		/// PONGs received, whether waited for or not.

	Poco::UInt16 webSocketCloseCode() const;
		/// The code of the server's CLOSE frame: 0 while open, 1005 when its
		/// close frame had no code, 1006 when the connection ended with no
		/// close frame (RFC 6455 7.1.5).

	const std::string& webSocketCloseReason() const;
		/// The reason text of the server's CLOSE frame.

private:
	void startTls(const std::string& host, Poco::Timespan timeout);
	void upgrade(const std::string& hostHeader, const std::string& target, const WebSocketOptions& options, Transport transport, Poco::Timespan timeout);
	void writeStream(const char* data, std::size_t length);
	int readStream(char* buffer, std::size_t length, Poco::Timespan timeout);
		/// > 0 bytes, 0 at end of stream, -1 on timeout.
	bool readSome(Poco::Timespan timeout);
	void onStreamBytes(const char* data, std::size_t length);
	void onWebSocketFrame(const WebSocketFramer::Frame& frame);
	void onFrameBytes(const char* data, std::size_t length);
	void onMessage(const char* data, std::size_t length);
	void endOfStream();
	bool receiveMatching(Reply& reply, Poco::Timespan timeout, const std::function<bool(const Reply&)>& match);
	bool isWebSocket() const;

	Poco::Net::StreamSocket _socket;
	protocol::FrameDecoder _decoder;
	std::deque<Reply> _queue;
	Poco::UInt32 _seq = 0;
	bool _closed = false;
	Transport _transport = TCP;
	std::unique_ptr<ClientTlsContext> _pTlsContext;
	std::unique_ptr<TlsChannel> _pTls;
	// WebSocket
	std::unique_ptr<WebSocketFramer> _pFramer;
	std::string _message;                /// A fragmented binary message so far.
	bool _inMessage = false;
	std::string _protocol;
	std::vector<std::pair<std::string, std::string>> _responseHeaders;
	std::deque<std::string> _pongs;      /// Payloads of pongs not yet waited for.
	unsigned _pingsReceived = 0;
	unsigned _pongsReceived = 0;
	Poco::UInt16 _closeCode = 0;
	std::string _closeReason;
	bool _closeSent = false;
};


inline bool ImgateClient::closed() const
{
	return _closed;
}


inline ImgateClient::Transport ImgateClient::transport() const
{
	return _transport;
}


inline bool ImgateClient::isWebSocket() const
{
	return _transport == WS || _transport == WSS;
}


inline const std::string& ImgateClient::webSocketProtocol() const
{
	return _protocol;
}


inline unsigned ImgateClient::webSocketPingsReceived() const
{
	return _pingsReceived;
}


inline unsigned ImgateClient::webSocketPongsReceived() const
{
	return _pongsReceived;
}


inline Poco::UInt16 ImgateClient::webSocketCloseCode() const
{
	return _closeCode;
}


inline const std::string& ImgateClient::webSocketCloseReason() const
{
	return _closeReason;
}


inline Poco::Net::StreamSocket& ImgateClient::socket()
{
	return _socket;
}

} } // namespace imgate::client

#endif // imgate_client_ImgateClient_INCLUDED
