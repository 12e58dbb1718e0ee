//
// WebSocketChannel.cpp
//
// Layer: net
//

#include "server/net/WebSocketChannel.h"
#include "Poco/Bugcheck.h"
#include "Poco/Exception.h"
#include <wslay/wslay.h>
#include <cstring>
#include <exception>

namespace imgate {
namespace net {

class WebSocketChannel::Engine
	/// The thread's wslay event context and what the call under way reads
	/// from and writes to.
{
public:
	struct Outcome
	{
		Poco::UInt16 sent = 0;       /// Code of a close frame wslay sent (0: none).
		bool echo = false;           /// That close answered the peer's.
		Poco::UInt16 requested = 0;  /// A close the handler or the message type asks for (not sent yet).
		std::exception_ptr pException; /// What a handler threw (rethrow it).
	};

	static Engine& current()
	{
		thread_local Engine engine;
		return engine;
	}

	~Engine()
	{
		retire();
	}

	wslay_event_context_ptr begin(const WebSocketOptions& options, const unsigned char* pIn, std::size_t inLength, ByteSink& out, Handler* pHandler)
	{
		if (!_pContext)
		{
			static const wslay_event_callbacks callbacks = {recvCallback, sendCallback, nullptr, nullptr, nullptr, nullptr, onMessageCallback};
			if (wslay_event_context_server_init(&_pContext, &callbacks, this) != 0)
			{
				_pContext = nullptr;
				throw Poco::OutOfMemoryException("wslay_event_context_server_init");
			}
		}
		wslay_event_config_set_max_recv_msg_length(_pContext, options.maxMessageSize);
		_pIn = pIn;
		_inLength = inLength;
		_pOut = &out;
		_pHandler = pHandler;
		_requested = 0;
		_pException = nullptr;
		return _pContext;
	}

	Outcome end()
		/// Sends what wslay queued (pongs, a close) and says what happened.
		/// A context that sent or received a close, or stopped reading, is
		/// not used again: the next call gets a new one.
	{
		wslay_event_send(_pContext);
		Outcome outcome;
		const bool sent = wslay_event_get_close_sent(_pContext) != 0;
		const bool received = wslay_event_get_close_received(_pContext) != 0;
		if (sent)
		{
			outcome.sent = wslay_event_get_status_code_sent(_pContext);
			if (outcome.sent == 0 || outcome.sent == WSLAY_CODE_NO_STATUS_RCVD) outcome.sent = NORMAL;
			outcome.echo = received;
		}
		outcome.requested = _requested;
		outcome.pException = _pException;
		if (sent || received || !wslay_event_get_read_enabled(_pContext)) retire();
		_pIn = nullptr;
		_pOut = nullptr;
		_pHandler = nullptr;
		_requested = 0;
		_pException = nullptr;
		return outcome;
	}

private:
	void request(Poco::UInt16 code)
		/// Stops reading: the channel sends the close frame once what is
		/// owed has gone out.
	{
		_requested = code;
		wslay_event_shutdown_read(_pContext);
	}

	void retire()
	{
		if (_pContext) wslay_event_context_free(_pContext);
		_pContext = nullptr;
	}

	static ssize_t recvCallback(wslay_event_context_ptr pContext, uint8_t* pBuffer, std::size_t length, int, void* pUser)
	{
		Engine& e = *static_cast<Engine*>(pUser);
		if (e._inLength == 0)
		{
			wslay_event_set_error(pContext, WSLAY_ERR_WOULDBLOCK);
			return -1;
		}
		const std::size_t n = length < e._inLength ? length : e._inLength;
		std::memcpy(pBuffer, e._pIn, n);
		e._pIn += n;
		e._inLength -= n;
		return static_cast<ssize_t>(n);
	}

	static ssize_t sendCallback(wslay_event_context_ptr, const uint8_t* pData, std::size_t length, int, void* pUser)
	{
		Engine& e = *static_cast<Engine*>(pUser);
		e._pOut->write(reinterpret_cast<const char*>(pData), length);
		return static_cast<ssize_t>(length);
	}

	static void onMessageCallback(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* pArg, void* pUser)
	{
		Engine& e = *static_cast<Engine*>(pUser);
		if (!e._pHandler || e._requested || e._pException) return;
		if (pArg->opcode == WSLAY_TEXT_FRAME)
		{
			e.request(UNSUPPORTED_DATA);
		}
		else if (pArg->opcode == WSLAY_BINARY_FRAME)
		{
			if (e._pHandler->stopped()) return;
			try
			{
				const Poco::UInt16 code = e._pHandler->onMessage(reinterpret_cast<const char*>(pArg->msg), pArg->msg_length);
				if (code) e.request(code);
			}
			catch (...)
			{
				// Not through wslay's C frames: kept, and thrown again once
				// the context is left between messages (or retired).
				e._pException = std::current_exception();
				wslay_event_shutdown_read(e._pContext);
			}
		}
		// Pings are answered and closes echoed by wslay itself.
	}

	wslay_event_context_ptr _pContext = nullptr;
	const unsigned char* _pIn = nullptr;
	std::size_t _inLength = 0;
	ByteSink* _pOut = nullptr;
	Handler* _pHandler = nullptr;
	Poco::UInt16 _requested = 0;
	std::exception_ptr _pException;
};


namespace {

const char* reasonFor(Poco::UInt16 code)
	/// The close frame's reason for a close the server decides.
{
	switch (code)
	{
	case WebSocketChannel::UNSUPPORTED_DATA:
		return "text messages are not accepted: send each frame as one binary message";
	case WebSocketChannel::PROTOCOL_ERROR:
		return "protocol error: each binary message must hold exactly one whole frame";
	case WebSocketChannel::MESSAGE_TOO_BIG:
		return "message too big";
	default:
		return "";
	}
}

} // namespace


WebSocketChannel::WebSocketChannel(const WebSocketOptions& options):
	_options(options)
{
}


WebSocketChannel::~WebSocketChannel()
{
}


void WebSocketChannel::receive(const char* data, std::size_t length, ByteSink& out, Handler& handler)
{
	if (_state == HANDSHAKE) receiveHead(data, length, out, handler);
	else if (_state == OPEN) receiveMessages(data, length, out, handler);
}


void WebSocketChannel::receiveHead(const char* data, std::size_t length, ByteSink& out, Handler& handler)
{
	if (!_pInput) _pInput.reset(new std::string);
	_pInput->append(data, length);
	if (handler.stopped()) return;
	const std::string::size_type end = _pInput->find("\r\n\r\n");
	const std::size_t headSize = end == std::string::npos ? _pInput->size() : end + 4;
	const bool tooLong = headSize > WebSocketHandshake::MAX_HEAD_SIZE;
	if (end == std::string::npos && !tooLong) return; // more to come
	WebSocketHandshake::Answer answer;
	if (tooLong)
	{
		answer.status = 431;
		answer.reason = "request head over 8192 bytes";
		answer.response = WebSocketHandshake::refusal(431, answer.reason);
	}
	else answer = WebSocketHandshake::answer(_pInput->substr(0, headSize), _options);
	handler.onRequest(answer);
	out.write(answer.response.data(), answer.response.size());
	// One request per connection: a file is answered with "Connection:
	// close", so pipelined requests cannot pile up answers.
	_state = answer.outcome == WebSocketHandshake::UPGRADE ? OPEN : FINISHED;
	if (_state == FINISHED || _pInput->size() == headSize)
	{
		_pInput.reset();
		return;
	}
	// Frames that came with the upgrade request.
	std::unique_ptr<std::string> pRest(std::move(_pInput));
	receiveMessages(pRest->data() + headSize, pRest->size() - headSize, out, handler);
}


void WebSocketChannel::receiveMessages(const char* data, std::size_t length, ByteSink& out, Handler& handler)
{
	std::unique_ptr<std::string> pBuffered;
	if (_pInput)
	{
		_pInput->append(data, length);
		pBuffered = std::move(_pInput);
		data = pBuffered->data();
		length = pBuffered->size();
	}
	const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
	Poco::UInt16 error = 0;
	const std::size_t complete = completeMessages(p, length, _options.maxMessageSize, error);
	Poco::UInt16 requested = error;
	if (complete > 0)
	{
		Engine& engine = Engine::current();
		wslay_event_recv(engine.begin(_options, p, complete, out, &handler));
		const Engine::Outcome outcome = engine.end();
		if (outcome.pException)
		{
			_state = FINISHED;
			_pInput.reset();
			std::rethrow_exception(outcome.pException);
		}
		if (outcome.sent)
		{
			// wslay's own verdict (an unmasked frame, a bad opcode...) or
			// the answer to the peer's close: the close frame is out.
			_closeCode = outcome.sent;
			_failed = !outcome.echo;
			_state = FINISHED;
			_pInput.reset();
			return;
		}
		if (outcome.requested) requested = outcome.requested;
	}
	if (requested)
	{
		_closeCode = requested;
		_failed = true;
		_state = CLOSING;
		_pInput.reset();
		return;
	}
	if (complete < length)
	{
		// Bounded: completeMessages() refuses a message over the limit, and
		// control frames between fragments may add at most this much more.
		if (length - complete > _options.maxMessageSize + 64 * 1024)
		{
			_closeCode = MESSAGE_TOO_BIG;
			_failed = true;
			_state = CLOSING;
			_pInput.reset();
			return;
		}
		if (pBuffered)
		{
			pBuffered->erase(0, complete);
			_pInput = std::move(pBuffered);
		}
		else _pInput.reset(new std::string(data + complete, length - complete));
	}
}


std::size_t WebSocketChannel::completeMessages(const unsigned char* p, std::size_t n, std::size_t maxMessage, Poco::UInt16& error)
{
	std::size_t pos = 0;
	std::size_t boundary = 0;
	bool inMessage = false;
	Poco::UInt64 messageSize = 0;
	while (n - pos >= 2)
	{
		const bool fin = (p[pos] & 0x80) != 0;
		const bool control = (p[pos] & 0x08) != 0;
		Poco::UInt64 payload = p[pos + 1] & 0x7f;
		std::size_t head = 2;
		if (payload == 126)
		{
			if (n - pos < 4) break;
			payload = (static_cast<Poco::UInt64>(p[pos + 2]) << 8) | p[pos + 3];
			head = 4;
		}
		else if (payload == 127)
		{
			if (n - pos < 10) break;
			payload = 0;
			for (int i = 2; i < 10; ++i) payload = (payload << 8) | p[pos + i];
			head = 10;
		}
		if (p[pos + 1] & 0x80) head += 4;
		if (control)
		{
			if (payload > 125 || !fin)
			{
				error = PROTOCOL_ERROR;
				break;
			}
		}
		else if (payload > maxMessage || messageSize + payload > maxMessage)
		{
			error = MESSAGE_TOO_BIG;
			break;
		}
		if (n - pos < head || n - pos - head < payload) break;
		pos += head + static_cast<std::size_t>(payload);
		if (!control)
		{
			messageSize += payload;
			inMessage = !fin;
			if (fin) messageSize = 0;
		}
		if (!inMessage) boundary = pos;
	}
	return boundary;
}


std::size_t WebSocketChannel::send(const char* data, std::size_t length, ByteSink& out, FrameLength frameLength)
{
	if (_state != OPEN && _state != CLOSING) return length;
	Engine& engine = Engine::current();
	wslay_event_context_ptr pContext = engine.begin(_options, nullptr, 0, out, nullptr);
	std::size_t used = 0;
	while (used < length)
	{
		const std::size_t n = frameLength(data + used, length - used);
		if (n == 0) break;
		wslay_event_msg message = {WSLAY_BINARY_FRAME, reinterpret_cast<const uint8_t*>(data + used), n};
		if (wslay_event_queue_msg(pContext, &message) != 0) break;
		used += n;
	}
	engine.end();
	return used;
}


void WebSocketChannel::close(Poco::UInt16 code, const std::string& reason, ByteSink& out)
{
	if (_state == OPEN || _state == CLOSING)
	{
		const std::string text = _state == CLOSING ? std::string(reasonFor(_closeCode)) : reason;
		if (_state == CLOSING) code = _closeCode;
		Engine& engine = Engine::current();
		wslay_event_context_ptr pContext = engine.begin(_options, nullptr, 0, out, nullptr);
		wslay_event_queue_close(pContext, code, reinterpret_cast<const uint8_t*>(text.data()), text.size());
		engine.end();
		_closeCode = code;
	}
	_state = FINISHED;
	_pInput.reset();
}

} } // namespace imgate::net
