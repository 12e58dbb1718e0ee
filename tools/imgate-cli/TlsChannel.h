//
// TlsChannel.h
//
// A blocking TLS client over a connected socket, with deadlines: OpenSSL
// on memory BIOs, the socket's bytes moved by this class (sent with
// MSG_NOSIGNAL, so a server that closed never raises SIGPIPE). For
// ImgateClient; imgate-bench drives OpenSSL itself, non-blocking.
//

#ifndef imgate_client_TlsChannel_INCLUDED
#define imgate_client_TlsChannel_INCLUDED

#include "tools/imgate-cli/ClientTlsContext.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Timespan.h"
#include <string>

struct bio_st;

namespace imgate {
namespace client {

class TlsChannel
	/// One thread at a time. Borrows the socket, which must outlive it.
{
public:
	TlsChannel(Poco::Net::StreamSocket& socket, const ClientTlsContext& context, const std::string& host);
		/// Ready for handshake(); host is the name (or IP address) verified.

	~TlsChannel();

	TlsChannel(const TlsChannel&) = delete;
	TlsChannel& operator = (const TlsChannel&) = delete;

	void handshake(Poco::Timespan timeout);
		/// Throws Poco::TimeoutException, or Poco::Net::NetException with
		/// OpenSSL's reason (a certificate that does not verify says why:
		/// "certificate verify failed: ...", a refused version "... protocol
		/// version ...", a server that closed "connection closed ...").

	void send(const char* data, std::size_t length);
		/// Encrypts and writes everything (blocking, as a plain socket does).
		/// Throws Poco::Net::NetException when the connection is gone.

	int receive(char* buffer, std::size_t length, Poco::Timespan timeout);
		/// Decrypted bytes (> 0); 0 when the server closed (close_notify,
		/// end of stream, reset or a TLS error: then lastError() says which);
		/// -1 on timeout. A timeout of 0 takes what has arrived, without waiting.

	void shutdown();
		/// Sends close_notify (best effort, does not wait for the answer).

	std::string version() const;
		/// "TLSv1.3", "TLSv1.2" once the handshake is done.

	std::string cipher() const;
		/// The cipher suite's OpenSSL name.

	std::string peerSubject() const;
		/// The server certificate's subject as RFC 2253 text
		/// ("CN=imgate-test"), "" if none.

	std::string peerSerial() const;
		/// The server certificate's serial number in hexadecimal, "" if none.

	const std::string& lastError() const;
		/// Why the last receive() returned 0, or "".

private:
	bool flushOutput();
		/// Writes what OpenSSL produced to the socket; false if the socket is gone.
	int readSocket(Poco::Timespan timeout);
		/// Feeds the socket's bytes to OpenSSL: > 0, 0 at end of stream, -1 on timeout.

	Poco::Net::StreamSocket& _socket;
	ssl_st* _pSsl;
	bio_st* _pIn;
	bio_st* _pOut;
	std::string _lastError;
	bool _eof = false;
};


inline const std::string& TlsChannel::lastError() const
{
	return _lastError;
}

} } // namespace imgate::client

#endif // imgate_client_TlsChannel_INCLUDED
