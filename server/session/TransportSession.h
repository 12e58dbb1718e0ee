//
// TransportSession.h
//
// Layer: session
// A session that comes over TLS, WebSocket, or WebSocket over TLS: the
// same Session, with the transport decoding its input and encoding its
// output.
//

#ifndef imgate_session_TransportSession_INCLUDED
#define imgate_session_TransportSession_INCLUDED

#include "server/net/TlsChannel.h"
#include "server/net/WebSocketChannel.h"
#include "server/session/Session.h"
#include <memory>

namespace imgate {
namespace session {

class TransportSession: public Session
	/// Loop thread only, as Session. Input: TLS decrypts, then WebSocket
	/// takes each binary message, which must be exactly one frame (else
	/// the WebSocket closes with 1002), and Session reads the frames.
	/// Output: Session appends frames to output() (plainOutput() here); at
	/// the loop's write, WebSocket makes one binary message of each frame
	/// and TLS encrypts. Once the session closes after flushing, a close
	/// frame (1000) and TLS close_notify go last.
	///
	/// The handshakes are bounded by the session's login timeout: a
	/// connection that has not logged in by then is closed, whatever
	/// stage its handshakes reached.
{
public:
	TransportSession(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, SessionManager& manager,
		std::shared_ptr<net::TlsContext> pTls, const net::WebSocketOptions* pWebSocket);
		/// pTls: TLS with that certificate (null: none); pWebSocket: the
		/// WebSocket listener's options (null: none). At least one is given.

	~TransportSession() override;

	Transport transport() const override;

protected:
	void onData(const char* data, std::size_t length) override;
	std::string& plainOutput() override;
	void encodeOutput() override;

private:
	class WireSink;
	class ClearSink;
	class TlsReader;
	class WebSocketReader;

	void receiveClear(const char* data, std::size_t length);
		/// Bytes TLS decrypted (or, without TLS, read): to WebSocket or Session.
	void onWebSocketClosing();
		/// The WebSocket reads no more: close after what is owed.
	void countError();
		/// A transport error (metrics: imgate_transport_errors_total).
	Poco::UInt16 onMessage(const char* data, std::size_t length);
		/// A complete binary WebSocket message: one whole frame for Session.

	std::unique_ptr<net::TlsChannel> _pTls;
	std::unique_ptr<net::WebSocketChannel> _pWebSocket;
	std::unique_ptr<std::string> _pPlain; /// Frames waiting for encodeOutput(); null when none.
};

} } // namespace imgate::session

#endif // imgate_session_TransportSession_INCLUDED
