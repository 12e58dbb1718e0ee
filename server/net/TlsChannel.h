//
// TlsChannel.h
//
// Layer: net
// One server-side TLS connection on OpenSSL, fed and drained by the event
// loop: OpenSSL never touches the socket.
//

#ifndef imgate_net_TlsChannel_INCLUDED
#define imgate_net_TlsChannel_INCLUDED

#include "server/net/ByteSink.h"
#include "server/net/TlsContext.h"
#include <memory>
#include <string>

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace imgate {
namespace net {

class TlsChannel
	/// Loop thread only. The SSL object reads and writes through a BIO of
	/// our own that reads the bytes of the current receive() call and
	/// appends what it writes to the ByteSink given, so no BIO buffers
	/// anything; with SSL_MODE_RELEASE_BUFFERS an idle connection holds no
	/// record buffers either. Keeps its TlsContext alive.
{
public:
	class Handler
	{
	public:
		virtual void onPlain(const char* data, std::size_t length) = 0;
			/// Decrypted application data.

		virtual bool stopped() const = 0;
			/// True once the connection closes: stop decrypting.

	protected:
		~Handler() = default;
	};

	enum Result
	{
		MORE,    /// Fine; more may come.
		CLOSED,  /// The peer sent close_notify.
		FAILED   /// The handshake or a record failed (an alert may be in the output): close.
	};

	explicit TlsChannel(std::shared_ptr<TlsContext> pContext);
		/// Throws Poco::OutOfMemoryException.

	~TlsChannel();

	Result receive(const char* data, std::size_t length, ByteSink& wire, Handler& handler);
		/// Bytes from the socket: advances the handshake (its records go
		/// to wire), then passes decrypted data to handler.

	std::size_t send(const char* data, std::size_t length, ByteSink& wire);
		/// Encrypts data into wire and returns the bytes taken: all of them
		/// once the handshake is complete, none before. May be called from
		/// a Handler's onPlain() (the rest of the input is still read).

	void shutdown(ByteSink& wire);
		/// Sends close_notify (once).

	bool established() const;
		/// The handshake is complete.

	const std::string& failure() const;
		/// Why the last receive() FAILED (OpenSSL's reason), for the log.

	const char* version() const;
		/// "TLSv1.3", "TLSv1.2", ... (after the handshake).

private:
	friend struct TlsBio;

	std::shared_ptr<TlsContext> _pContext;
	SSL* _pSsl = nullptr;
	const char* _pIn = nullptr;     /// The bytes the BIO reads from, during receive().
	std::size_t _inLength = 0;
	ByteSink* _pWire = nullptr;     /// Where the BIO writes, during a call.
	std::unique_ptr<std::string> _pFailure;
	bool _established = false;
	bool _shutdown = false;
};


inline bool TlsChannel::established() const
{
	return _established;
}

} } // namespace imgate::net

#endif // imgate_net_TlsChannel_INCLUDED
