//
// WebSocketFramer.h
//
// The client side of RFC 6455 framing, for ImgateClient (imgate-cli, the
// integration tests) and imgate-bench: encodes frames (masked, as a client
// must, unless a test asks otherwise) and decodes the server's frames
// incrementally. No I/O, no handshake.
//

#ifndef imgate_client_WebSocketFramer_INCLUDED
#define imgate_client_WebSocketFramer_INCLUDED

#include <cstddef>
#include <cstdint>
#include <string>

namespace imgate {
namespace client {

class WebSocketFramer
	/// One per connection, one thread at a time. The decoder keeps the
	/// input it has not consumed yet; a frame it returns points into that
	/// buffer and stays valid until the next feed() or next().
{
public:
	enum Opcode
	{
		CONTINUATION = 0x0,
		TEXT = 0x1,
		BINARY = 0x2,
		CLOSE = 0x8,
		PING = 0x9,
		PONG = 0xA
	};

	struct Frame
		/// One decoded frame; payload is unmasked already.
	{
		bool fin = true;
		unsigned rsv = 0;        /// The three RSV bits (0 unless an extension was agreed).
		unsigned opcode = 0;
		bool masked = false;     /// A server must never mask (RFC 6455 5.1).
		const char* payload = nullptr;
		std::size_t length = 0;
	};

	enum Result
	{
		NEED_MORE,  /// No whole frame buffered.
		FRAME,      /// The frame argument holds the next frame.
		TOO_LARGE   /// The next frame's payload is above maxPayload: the stream cannot continue.
	};

	explicit WebSocketFramer(std::size_t maxPayload = 16 * 1024 * 1024 + 64);

	void feed(const char* data, std::size_t length);
		/// Appends input read from the server.

	Result next(Frame& frame);
		/// Takes the next whole frame from the input.

	std::size_t buffered() const;
		/// Input bytes not yet returned as frames.

	static long parse(const char* data, std::size_t size, Frame& frame, std::size_t maxPayload);
		/// Parses the first whole frame in data in place: returns its size
		/// (frame filled in; payload points into data and is still masked if
		/// masked is set), 0 if more input is needed, -1 if its payload is
		/// above maxPayload. For readers that keep their own buffer
		/// (imgate-bench).

	static void append(std::string& out, unsigned opcode, const char* data, std::size_t length,
		bool fin = true, bool mask = true, unsigned rsv = 0);
		/// Appends one frame. With mask (what a client must do) the payload is
		/// masked with a fresh random key; without, it is sent in clear (only
		/// to test that a server refuses it). rsv sets the RSV1-3 bits (0-7).

	static void appendMasked(std::string& out, unsigned opcode, const char* data, std::size_t length, std::uint32_t maskKey);
		/// One whole (FIN) masked frame with the caller's key: the load
		/// generator's fast path (its key comes from a cheap generator).

	static std::string closePayload(std::uint16_t code, const std::string& reason);
		/// The payload of a CLOSE frame: the code in network order, then reason.

private:
	std::string _in;
	std::size_t _at = 0;       /// Start of the unconsumed input in _in.
	std::size_t _maxPayload;
};


inline std::size_t WebSocketFramer::buffered() const
{
	return _in.size() - _at;
}

} } // namespace imgate::client

#endif // imgate_client_WebSocketFramer_INCLUDED
