//
// ClientTlsContext.h
//
// The client side of TLS for ImgateClient and imgate-bench: one OpenSSL
// SSL_CTX with the certificate authorities to trust and the protocol
// versions to offer, and the SSL objects made from it, each set to verify
// the name (or IP address) it connects to.
//

#ifndef imgate_client_ClientTlsContext_INCLUDED
#define imgate_client_ClientTlsContext_INCLUDED

#include <string>

struct ssl_st;
struct ssl_ctx_st;

namespace imgate {
namespace client {

struct TlsOptions
	/// How a client connects over TLS.
{
	std::string caFile;
		/// PEM file of the certificate authorities the server's certificate
		/// must chain to. Empty: the certificate is not verified at all
		/// (imgate-bench without --ca, tests that look only at the server's
		/// refusals) unless useSystemCAs is set.
	bool useSystemCAs = false;
		/// Without caFile: verify against the system's certificate
		/// authorities (/etc/ssl/certs), as imgate-cli does without --ca.
	std::string serverName;
		/// The name the certificate must carry and that is sent as SNI;
		/// empty: the host connected to. An IP address is checked against
		/// the certificate's IP entries (no SNI is sent for one).
	std::string minVersion;
		/// "1.0", "1.1", "1.2" or "1.3"; empty: OpenSSL's default (1.2).
	std::string maxVersion;
		/// As minVersion; empty: the highest (1.3). A maximum below 1.2
		/// also lowers OpenSSL's security level to 0, or it would not offer
		/// the old version at all: only for tests of the server's refusal.
};


class ClientTlsContext
	/// Owns an SSL_CTX. Made once, then used by any thread for newSsl()
	/// (OpenSSL's contexts are thread-safe once configured).
{
public:
	explicit ClientTlsContext(const TlsOptions& options);
		/// Throws Poco::InvalidArgumentException naming a version that is
		/// not one of the above, and Poco::OpenFileException naming caFile
		/// when it cannot be read or holds no certificate.

	~ClientTlsContext();

	ClientTlsContext(const ClientTlsContext&) = delete;
	ClientTlsContext& operator = (const ClientTlsContext&) = delete;

	ssl_st* newSsl(const std::string& host) const;
		/// A new client SSL object (owned by the caller: SSL_free) set to
		/// verify host (or options.serverName) when a CA file was given,
		/// with SNI for a DNS name and SSL_MODE_RELEASE_BUFFERS.

	ssl_ctx_st* context() const;

	bool verifies() const;
		/// True when the server's certificate is verified (a CA file or the
		/// system's authorities).

	static int parseVersion(const std::string& text, const char* what);
		/// "1.2" -> TLS1_2_VERSION; throws Poco::InvalidArgumentException
		/// naming what.

	static std::string errors();
		/// OpenSSL's error queue as text (emptied), "" if none.

private:
	ssl_ctx_st* _pContext;
	TlsOptions _options;
};


inline ssl_ctx_st* ClientTlsContext::context() const
{
	return _pContext;
}


inline bool ClientTlsContext::verifies() const
{
	return !_options.caFile.empty() || _options.useSystemCAs;
}

} } // namespace imgate::client

#endif // imgate_client_ClientTlsContext_INCLUDED
