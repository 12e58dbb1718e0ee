//
// TlsChannel.cpp
//
// Layer: net
//

#include "server/net/TlsChannel.h"
#include "Poco/Exception.h"
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <algorithm>
#include <cstring>

namespace imgate {
namespace net {

struct TlsBio
	/// The BIO method: reads TlsChannel::_pIn, writes to TlsChannel::_pWire.
{
	static BIO_METHOD* method()
	{
		static BIO_METHOD* pMethod = create();
		return pMethod;
	}

	static BIO_METHOD* create()
	{
		BIO_METHOD* p = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "imgate loop");
		if (!p) throw Poco::OutOfMemoryException("BIO_meth_new");
		BIO_meth_set_write(p, write);
		BIO_meth_set_read(p, read);
		BIO_meth_set_ctrl(p, ctrl);
		BIO_meth_set_create(p, created);
		return p;
	}

	static int created(BIO* pBio)
	{
		BIO_set_init(pBio, 1);
		return 1;
	}

	static int write(BIO* pBio, const char* data, int length)
	{
		BIO_clear_retry_flags(pBio);
		TlsChannel* pChannel = static_cast<TlsChannel*>(BIO_get_data(pBio));
		if (!pChannel || !pChannel->_pWire)
		{
			BIO_set_retry_write(pBio);
			return -1;
		}
		pChannel->_pWire->write(data, static_cast<std::size_t>(length));
		return length;
	}

	static int read(BIO* pBio, char* buffer, int length)
	{
		BIO_clear_retry_flags(pBio);
		TlsChannel* pChannel = static_cast<TlsChannel*>(BIO_get_data(pBio));
		if (!pChannel || pChannel->_inLength == 0)
		{
			BIO_set_retry_read(pBio);
			return -1;
		}
		const std::size_t n = std::min(static_cast<std::size_t>(length), pChannel->_inLength);
		std::memcpy(buffer, pChannel->_pIn, n);
		pChannel->_pIn += n;
		pChannel->_inLength -= n;
		return static_cast<int>(n);
	}

	static long ctrl(BIO* pBio, int command, long, void*)
	{
		switch (command)
		{
		case BIO_CTRL_FLUSH:
			return 1;
		case BIO_CTRL_PENDING:
		{
			TlsChannel* pChannel = static_cast<TlsChannel*>(BIO_get_data(pBio));
			return pChannel ? static_cast<long>(pChannel->_inLength) : 0;
		}
		case BIO_CTRL_WPENDING:
			return 0;
		default:
			return 0;
		}
	}
};


namespace {

class Reading
	/// Points the channel's BIO at a receive() call's input and output for
	/// its scope.
{
public:
	Reading(const char*& pIn, std::size_t& inLength, ByteSink*& pWire, const char* data, std::size_t length, ByteSink& wire):
		_pIn(pIn), _inLength(inLength), _pWire(pWire), _pSavedWire(pWire)
	{
		_pIn = data;
		_inLength = length;
		_pWire = &wire;
	}

	~Reading()
	{
		_pIn = nullptr;
		_inLength = 0;
		_pWire = _pSavedWire;
	}

private:
	const char*& _pIn;
	std::size_t& _inLength;
	ByteSink*& _pWire;
	ByteSink* _pSavedWire;
};


class Writing
	/// Points the channel's BIO output at wire for a send() or shutdown()
	/// and restores it after: a send() from within receive() (a handler that
	/// answers, as WebSocket's pong) must leave the input being read alone.
{
public:
	Writing(ByteSink*& pWire, ByteSink& wire):
		_pWire(pWire), _pSavedWire(pWire)
	{
		_pWire = &wire;
	}

	~Writing()
	{
		_pWire = _pSavedWire;
	}

private:
	ByteSink*& _pWire;
	ByteSink* _pSavedWire;
};


std::string errorText(int code)
{
	unsigned long error = ERR_get_error();
	ERR_clear_error();
	if (error != 0)
	{
		char text[256];
		ERR_error_string_n(error, text, sizeof(text));
		return text;
	}
	if (code == SSL_ERROR_SYSCALL) return "the peer closed the connection during the TLS handshake or without close_notify";
	return "TLS error " + std::to_string(code);
}

} // namespace


TlsChannel::TlsChannel(std::shared_ptr<TlsContext> pContext):
	_pContext(std::move(pContext))
{
	_pSsl = SSL_new(_pContext->native());
	if (!_pSsl) throw Poco::OutOfMemoryException("SSL_new");
	BIO* pBio = BIO_new(TlsBio::method());
	if (!pBio)
	{
		SSL_free(_pSsl);
		throw Poco::OutOfMemoryException("BIO_new");
	}
	BIO_set_data(pBio, this);
	SSL_set_bio(_pSsl, pBio, pBio); // one BIO both ways: SSL_free frees it once
	SSL_set_accept_state(_pSsl);
}


TlsChannel::~TlsChannel()
{
	SSL_free(_pSsl);
}


TlsChannel::Result TlsChannel::receive(const char* data, std::size_t length, ByteSink& wire, Handler& handler)
{
	Reading reading(_pIn, _inLength, _pWire, data, length, wire);
	ERR_clear_error();
	if (!_established)
	{
		const int done = SSL_do_handshake(_pSsl);
		if (done != 1)
		{
			const int error = SSL_get_error(_pSsl, done);
			if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return MORE;
			_pFailure.reset(new std::string(errorText(error)));
			return FAILED;
		}
		_established = true;
	}
	// One record at most (16 KiB) per SSL_read.
	char buffer[16384];
	while (!handler.stopped())
	{
		const int n = SSL_read(_pSsl, buffer, sizeof(buffer));
		if (n > 0)
		{
			handler.onPlain(buffer, static_cast<std::size_t>(n));
			continue;
		}
		const int error = SSL_get_error(_pSsl, n);
		if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return MORE;
		if (error == SSL_ERROR_ZERO_RETURN) return CLOSED;
		_pFailure.reset(new std::string(errorText(error)));
		return FAILED;
	}
	return MORE;
}


std::size_t TlsChannel::send(const char* data, std::size_t length, ByteSink& wire)
{
	if (!_established || _shutdown || length == 0) return 0;
	Writing writing(_pWire, wire);
	ERR_clear_error();
	std::size_t sent = 0;
	while (sent < length)
	{
		const int n = SSL_write(_pSsl, data + sent, static_cast<int>(std::min<std::size_t>(length - sent, 1 << 30)));
		if (n <= 0)
		{
			ERR_clear_error();
			break;
		}
		sent += static_cast<std::size_t>(n);
	}
	return sent;
}


void TlsChannel::shutdown(ByteSink& wire)
{
	if (!_established || _shutdown) return;
	_shutdown = true;
	Writing writing(_pWire, wire);
	SSL_shutdown(_pSsl);
	ERR_clear_error();
}


const std::string& TlsChannel::failure() const
{
	static const std::string NONE;
	return _pFailure ? *_pFailure : NONE;
}


const char* TlsChannel::version() const
{
	return SSL_get_version(_pSsl);
}

} } // namespace imgate::net
