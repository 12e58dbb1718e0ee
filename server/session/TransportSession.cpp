//
// TransportSession.cpp
//
// Layer: session
//

#include "server/session/TransportSession.h"
#include "server/protocol/FrameHeader.h"
#include "server/protocol/LogText.h"
#include "server/session/SessionManager.h"

namespace imgate {
namespace session {

class TransportSession::WireSink: public net::ByteSink
	/// Bytes for the socket.
{
public:
	explicit WireSink(TransportSession& session): _session(session)
	{
	}

	void write(const char* data, std::size_t length) override
	{
		_session.wireOutput().append(data, length);
	}

private:
	TransportSession& _session;
};


class TransportSession::ClearSink: public net::ByteSink
	/// Bytes WebSocket produced: to the wire, or, with TLS, collected and
	/// encrypted together by flush() (wslay writes a message's header and
	/// payload separately: one TLS record each would double the records and
	/// the server's work per message).
{
public:
	explicit ClearSink(TransportSession& session): _session(session), _wire(session)
	{
	}

	void write(const char* data, std::size_t length) override
	{
		if (_session._pTls) _pending.append(data, length);
		else _wire.write(data, length);
	}

	void flush()
		/// Encrypts what was collected. Call before the sink goes.
	{
		if (_pending.empty()) return;
		_session._pTls->send(_pending.data(), _pending.size(), _wire);
		_pending.clear();
	}

private:
	TransportSession& _session;
	WireSink _wire;
	std::string _pending;
};


class TransportSession::TlsReader: public net::TlsChannel::Handler
{
public:
	explicit TlsReader(TransportSession& session): _session(session)
	{
	}

	void onPlain(const char* data, std::size_t length) override
	{
		_session.receiveClear(data, length);
	}

	bool stopped() const override
	{
		return _session.closing();
	}

private:
	TransportSession& _session;
};


class TransportSession::WebSocketReader: public net::WebSocketChannel::Handler
{
public:
	explicit WebSocketReader(TransportSession& session): _session(session)
	{
	}

	Poco::UInt16 onMessage(const char* data, std::size_t length) override
	{
		return _session.onMessage(data, length);
	}

	bool stopped() const override
	{
		return _session.closing();
	}

	void onRequest(const net::WebSocketHandshake::Answer& answer) override
	{
		if (answer.outcome != net::WebSocketHandshake::REFUSED) return;
		_session.countError();
		_session.logWarning("WebSocket handshake refused with " + std::to_string(answer.status) + ": " + protocol::quoted(answer.reason));
	}

private:
	TransportSession& _session;
};


TransportSession::TransportSession(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, SessionManager& manager,
		std::shared_ptr<net::TlsContext> pTls, const net::WebSocketOptions* pWebSocket):
	Session(loop, socket, peer, manager)
{
	if (pTls) _pTls.reset(new net::TlsChannel(std::move(pTls)));
	if (pWebSocket) _pWebSocket.reset(new net::WebSocketChannel(*pWebSocket));
	setTransforming();
	loop.counters().connections[static_cast<unsigned>(transport())].add(1);
}


TransportSession::~TransportSession()
{
	loop().counters().connections[static_cast<unsigned>(transport())].add(-1);
}


void TransportSession::countError()
{
	loop().counters().transportErrors[static_cast<unsigned>(transport())].add();
}


Transport TransportSession::transport() const
{
	if (_pWebSocket) return _pTls ? Transport::WSS : Transport::WS;
	return Transport::TLS;
}


void TransportSession::onData(const char* data, std::size_t length)
{
	if (!_pTls)
	{
		receiveClear(data, length);
		return;
	}
	WireSink wire(*this);
	TlsReader reader(*this);
	const bool established = _pTls->established();
	const net::TlsChannel::Result result = _pTls->receive(data, length, wire, reader);
	if (result == net::TlsChannel::FAILED)
	{
		countError();
		logWarning(std::string(established ? "TLS error: " : "TLS handshake failed: ") + protocol::quoted(_pTls->failure()));
		closeAfterFlush(1); // the alert, if OpenSSL wrote one
		return;
	}
	if (result == net::TlsChannel::CLOSED && !closing())
	{
		closeAfterLinger(); // close_notify: answers still owed go out first
		return;
	}
	// Output appended before the handshake completed goes now.
	if (!established && _pTls->established() && _pPlain && !_pPlain->empty()) output();
}


void TransportSession::receiveClear(const char* data, std::size_t length)
{
	if (!_pWebSocket)
	{
		Session::onData(data, length);
		return;
	}
	ClearSink sink(*this);
	WebSocketReader reader(*this);
	_pWebSocket->receive(data, length, sink, reader);
	sink.flush();
	const net::WebSocketChannel::State state = _pWebSocket->state();
	if (state == net::WebSocketChannel::CLOSING || state == net::WebSocketChannel::FINISHED) onWebSocketClosing();
}


void TransportSession::onWebSocketClosing()
{
	// A refused handshake or a file answered, a close frame from the
	// client, or a close decided for its fault (CLOSING: the close frame
	// goes after the answers still owed): nothing more is read.
	if (closing()) return;
	const Poco::UInt16 code = _pWebSocket->closeCode();
	if (_pWebSocket->failed())
	{
		countError();
		logWarning("WebSocket closed with " + std::to_string(code) + (code == net::WebSocketChannel::UNSUPPORTED_DATA ? " (a text message)"
			: code == net::WebSocketChannel::MESSAGE_TOO_BIG ? " (a message over protocol.maxBodySize)" : " (a protocol error)"));
	}
	closeAfterLinger();
}


Poco::UInt16 TransportSession::onMessage(const char* data, std::size_t length)
{
	if (length < protocol::FrameHeader::SIZE
		|| protocol::FrameHeader::read(data).bodyLength != length - protocol::FrameHeader::SIZE)
	{
		logWarning("WebSocket message of " + std::to_string(length) + " bytes is not exactly one frame");
		return net::WebSocketChannel::PROTOCOL_ERROR;
	}
	Session::onData(data, length);
	return 0;
}


std::string& TransportSession::plainOutput()
{
	if (!_pPlain) _pPlain = takeSpareBuffer();
	return *_pPlain;
}


namespace {

std::size_t frameLength(const char* data, std::size_t length)
{
	if (length < protocol::FrameHeader::SIZE) return 0;
	const std::size_t total = protocol::FrameHeader::SIZE + protocol::FrameHeader::read(data).bodyLength;
	return total <= length ? total : 0;
}

} // namespace


void TransportSession::encodeOutput()
{
	if (_pPlain && !_pPlain->empty())
	{
		std::size_t used;
		if (_pWebSocket)
		{
			ClearSink sink(*this);
			used = _pWebSocket->send(_pPlain->data(), _pPlain->size(), sink, frameLength);
			sink.flush();
		}
		else
		{
			WireSink wire(*this);
			used = _pTls->send(_pPlain->data(), _pPlain->size(), wire);
		}
		_pPlain->erase(0, used);
	}
	if (_pPlain && _pPlain->empty()) giveSpareBuffer(std::move(_pPlain));
	if (closing() && !expectsOutput() && !_pPlain)
	{
		if (_pWebSocket && (_pWebSocket->state() == net::WebSocketChannel::OPEN || _pWebSocket->state() == net::WebSocketChannel::CLOSING))
		{
			ClearSink sink(*this);
			_pWebSocket->close(net::WebSocketChannel::NORMAL, "", sink);
			sink.flush();
		}
		if (_pTls)
		{
			WireSink wire(*this);
			_pTls->shutdown(wire);
		}
	}
}

} } // namespace imgate::session
