//
// WebSocketChannel.h
//
// Layer: net
// One server-side WebSocket connection (RFC 6455) over a byte stream: the
// opening handshake (WebSocketHandshake), then messages framed by wslay.
//

#ifndef imgate_net_WebSocketChannel_INCLUDED
#define imgate_net_WebSocketChannel_INCLUDED

#include "server/net/ByteSink.h"
#include "server/net/WebSocketHandshake.h"
#include "Poco/Types.h"
#include <memory>
#include <string>

namespace imgate {
namespace net {

class WebSocketChannel
	/// Loop thread only. Small on purpose (an idle WebSocket session must
	/// stay a few hundred bytes): it keeps the options, a state byte, and
	/// the bytes of an incomplete message (null while there are none).
	///
	/// wslay's event context holds 8.8 KB (measured with mallinfo2 in
	/// libwslay 1.1.1), so a connection does not own one: received bytes
	/// are cut at the end of the last complete message (a frame with FIN
	/// that ends a data message, and the control frames before it) and
	/// only whole messages go through the thread's one wslay context,
	/// which is therefore always between messages when the next connection
	/// uses it (and is made anew after it sent or received a close).
	/// wslay checks masking, opcodes, control frame rules, UTF-8 of close
	/// reasons and sizes, answers pings and closes, and reassembles
	/// fragments; this class only finds where messages end.
{
public:
	class Handler
	{
	public:
		virtual Poco::UInt16 onMessage(const char* data, std::size_t length) = 0;
			/// One complete binary message. Returns 0, or a close code
			/// (e.g. 1002) to close the WebSocket with.

		virtual bool stopped() const = 0;
			/// True once the connection closes: no more messages are wanted.

		virtual void onRequest(const WebSocketHandshake::Answer& answer) = 0;
			/// An HTTP request was answered (the upgrade, a file, or a
			/// refusal with its reason), before the answer is written.

	protected:
		~Handler() = default;
	};

	enum State: Poco::UInt8
	{
		HANDSHAKE, /// Reading HTTP requests (the upgrade, or GETs of static files).
		OPEN,      /// Messages flow.
		CLOSING,   /// The server decided to close (closeCode()): nothing more is read, frames still go out, close() sends the close frame.
		FINISHED   /// A close frame or an HTTP answer was sent: close once it is flushed.
	};

	enum CloseCode: Poco::UInt16
	{
		NORMAL = 1000,
		GOING_AWAY = 1001,
		PROTOCOL_ERROR = 1002,
		UNSUPPORTED_DATA = 1003,
		MESSAGE_TOO_BIG = 1009
	};

	using FrameLength = std::size_t (*)(const char* data, std::size_t length);
		/// The length of the first whole message in data (0 if data does
		/// not start with a complete one): how send() cuts its input.

	explicit WebSocketChannel(const WebSocketOptions& options);
	~WebSocketChannel();

	void receive(const char* data, std::size_t length, ByteSink& out, Handler& handler);
		/// Bytes from the peer. HANDSHAKE: answers the request head into
		/// out (bounded by MAX_HEAD_SIZE: 431): the upgrade makes it OPEN,
		/// anything else (a file, a refusal) FINISHED. OPEN: passes complete
		/// binary messages to handler and answers pings; a text message
		/// (1003), one larger than options.maxMessageSize (1009) or a code
		/// from the handler make it CLOSING, so that what is owed goes out
		/// before close() sends the close frame; a framing error wslay finds
		/// (an unmasked frame, a bad opcode: 1002) or the peer's close is
		/// answered at once (FINISHED). A handler's exception is thrown
		/// again once the thread's context is safe (FINISHED). Otherwise:
		/// ignored.

	std::size_t send(const char* data, std::size_t length, ByteSink& out, FrameLength frameLength);
		/// Sends each whole message data holds (cut by frameLength) as one
		/// binary message and returns the bytes it used (an incomplete
		/// message at the end stays for the next call). Unless OPEN or
		/// CLOSING, nothing is sent and everything counts as used.

	void close(Poco::UInt16 code, const std::string& reason, ByteSink& out);
		/// Sends a close frame and becomes FINISHED: with code and reason if
		/// OPEN, with closeCode() and its reason if CLOSING; nothing else.

	State state() const;

	Poco::UInt16 closeCode() const;
		/// The code of the close frame sent or decided (0 if none).

	bool failed() const;
		/// The server closes (or closed) it for the client's fault: a code
		/// of its own, not the echo of the client's close.

private:
	class Engine;
	friend class Engine;

	void receiveHead(const char* data, std::size_t length, ByteSink& out, Handler& handler);
	void receiveMessages(const char* data, std::size_t length, ByteSink& out, Handler& handler);
	static std::size_t completeMessages(const unsigned char* p, std::size_t n, std::size_t maxMessage, Poco::UInt16& error);
		/// The length of the longest prefix of p that ends between two
		/// messages; error becomes a close code if a frame can never be
		/// accepted (a control frame over 125 bytes, a message over maxMessage).

	const WebSocketOptions& _options;
	std::unique_ptr<std::string> _pInput; /// Incomplete request head or message; null when none.
	Poco::UInt16 _closeCode = 0;
	State _state = HANDSHAKE;
	bool _failed = false;
};


inline WebSocketChannel::State WebSocketChannel::state() const
{
	return _state;
}


inline Poco::UInt16 WebSocketChannel::closeCode() const
{
	return _closeCode;
}


inline bool WebSocketChannel::failed() const
{
	return _failed;
}

} } // namespace imgate::net

#endif // imgate_net_WebSocketChannel_INCLUDED
