//
// TlsChannel.cpp
//

#include "tools/imgate-cli/TlsChannel.h"
#include "Poco/Net/NetException.h"
#include "Poco/Timestamp.h"
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <cerrno>
#include <climits>
#include <sys/socket.h>

namespace imgate {
namespace client {

namespace {

constexpr std::size_t CHUNK = 16 * 1024;

} // namespace


TlsChannel::TlsChannel(Poco::Net::StreamSocket& socket, const ClientTlsContext& context, const std::string& host):
	_socket(socket),
	_pSsl(context.newSsl(host)),
	_pIn(BIO_new(BIO_s_mem())),
	_pOut(BIO_new(BIO_s_mem()))
{
	// An empty input BIO means "more to come", not end of stream: the end
	// is what recv() says.
	BIO_set_mem_eof_return(_pIn, -1);
	SSL_set_bio(_pSsl, _pIn, _pOut); // the SSL object owns both now
	SSL_set_connect_state(_pSsl);
}


TlsChannel::~TlsChannel()
{
	SSL_free(_pSsl);
}


void TlsChannel::handshake(Poco::Timespan timeout)
{
	Poco::Timestamp start;
	while (true)
	{
		ERR_clear_error();
		const int r = SSL_do_handshake(_pSsl);
		// Also after a failure: the alert that tells the server why.
		const bool sent = flushOutput();
		if (r == 1) return;
		const int error = SSL_get_error(_pSsl, r);
		if (error == SSL_ERROR_WANT_READ && sent)
		{
			const Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
			const int n = left > 0 ? readSocket(left) : -1;
			if (n < 0) throw Poco::TimeoutException("TLS handshake: no answer from the server within " + std::to_string(timeout.totalMilliseconds()) + " ms");
			if (n == 0) throw Poco::Net::NetException("TLS handshake: connection closed by the server");
			continue;
		}
		std::string reason = ClientTlsContext::errors();
		const long verify = SSL_get_verify_result(_pSsl);
		if (verify != X509_V_OK) reason += std::string(reason.empty() ? "" : ": ") + X509_verify_cert_error_string(verify);
		if (!sent) reason += std::string(reason.empty() ? "" : "; ") + "connection closed by the server";
		if (reason.empty()) reason = "error " + std::to_string(error);
		throw Poco::Net::NetException("TLS handshake failed: " + reason);
	}
}


void TlsChannel::send(const char* data, std::size_t length)
{
	std::size_t done = 0;
	while (done < length)
	{
		ERR_clear_error();
		const int n = SSL_write(_pSsl, data + done, static_cast<int>(std::min<std::size_t>(length - done, INT_MAX)));
		if (n > 0)
		{
			done += static_cast<std::size_t>(n);
			if (!flushOutput()) throw Poco::Net::NetException("connection closed while sending");
			continue;
		}
		const int error = SSL_get_error(_pSsl, n);
		if (error == SSL_ERROR_WANT_READ)
		{
			if (!flushOutput()) throw Poco::Net::NetException("connection closed while sending");
			if (readSocket(Poco::Timespan(30, 0)) <= 0) throw Poco::Net::NetException("TLS: no progress while sending");
			continue;
		}
		throw Poco::Net::NetException("TLS write failed: " + ClientTlsContext::errors());
	}
}


int TlsChannel::receive(char* buffer, std::size_t length, Poco::Timespan timeout)
{
	Poco::Timestamp start;
	bool polled = false;
	while (true)
	{
		ERR_clear_error();
		const int n = SSL_read(_pSsl, buffer, static_cast<int>(std::min<std::size_t>(length, INT_MAX)));
		const int error = n > 0 ? SSL_ERROR_NONE : SSL_get_error(_pSsl, n);
		// A TLS 1.3 key update or an alert may want an answer.
		flushOutput();
		if (n > 0) return n;
		if (error == SSL_ERROR_WANT_READ)
		{
			if (_eof)
			{
				_lastError = "end of stream without close_notify";
				return 0;
			}
			// The socket is looked at once even when the time is up: a
			// timeout of 0 takes what has arrived without waiting.
			Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
			if (left < 0) left = 0;
			if (left == 0 && polled) return -1;
			polled = true;
			if (readSocket(left) < 0) return -1;
			continue;
		}
		if (error == SSL_ERROR_ZERO_RETURN) _lastError = "close_notify";
		else
		{
			_lastError = ClientTlsContext::errors();
			if (_lastError.empty()) _lastError = "TLS error " + std::to_string(error);
		}
		return 0;
	}
}


void TlsChannel::shutdown()
{
	ERR_clear_error();
	SSL_shutdown(_pSsl);
	flushOutput();
	ERR_clear_error();
}


bool TlsChannel::flushOutput()
{
	char chunk[CHUNK];
	const int fd = _socket.impl()->sockfd();
	while (BIO_ctrl_pending(_pOut) > 0)
	{
		const int n = BIO_read(_pOut, chunk, sizeof(chunk));
		if (n <= 0) break;
		int sent = 0;
		while (sent < n)
		{
			const ssize_t w = ::send(fd, chunk + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
			if (w < 0)
			{
				if (errno == EINTR) continue;
				// The rest of this connection's output has nowhere to go.
				(void) BIO_reset(_pOut);
				return false;
			}
			sent += static_cast<int>(w);
		}
	}
	return true;
}


int TlsChannel::readSocket(Poco::Timespan timeout)
{
	if (_eof) return 0;
	if (!_socket.poll(timeout, Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR)) return -1;
	char chunk[CHUNK];
	ssize_t n;
	do n = ::recv(_socket.impl()->sockfd(), chunk, sizeof(chunk), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
	if (n <= 0)
	{
		_eof = true; // end of stream, or reset: both end the connection
		return 0;
	}
	BIO_write(_pIn, chunk, static_cast<int>(n));
	return static_cast<int>(n);
}


std::string TlsChannel::version() const
{
	return SSL_get_version(_pSsl);
}


std::string TlsChannel::cipher() const
{
	const char* name = SSL_get_cipher_name(_pSsl);
	return name ? name : "";
}


std::string TlsChannel::peerSubject() const
{
	X509* pCert = SSL_get0_peer_certificate(_pSsl);
	if (!pCert) return "";
	BIO* pBio = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(pBio, X509_get_subject_name(pCert), 0, XN_FLAG_RFC2253);
	char* data = nullptr;
	const long length = BIO_get_mem_data(pBio, &data);
	std::string text(data, static_cast<std::size_t>(length));
	BIO_free(pBio);
	return text;
}


std::string TlsChannel::peerSerial() const
{
	X509* pCert = SSL_get0_peer_certificate(_pSsl);
	if (!pCert) return "";
	BIGNUM* pNumber = ASN1_INTEGER_to_BN(X509_get0_serialNumber(pCert), nullptr);
	if (!pNumber) return "";
	char* hex = BN_bn2hex(pNumber);
	std::string text(hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(pNumber);
	return text;
}

} } // namespace imgate::client
