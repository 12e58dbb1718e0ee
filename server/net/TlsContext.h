//
// TlsContext.h
//
// Layer: net
// One certificate and key loaded into an OpenSSL SSL_CTX, checked at load
// with errors that name the file; shared by every TLS connection that
// started while it was current.
//

#ifndef imgate_net_TlsContext_INCLUDED
#define imgate_net_TlsContext_INCLUDED

#include "Poco/Exception.h"
#include <memory>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace imgate {
namespace net {

POCO_DECLARE_EXCEPTION(, TlsConfigException, Poco::RuntimeException)
	/// A certificate, key or CA file that cannot serve; the message names
	/// the file and what is wrong with it.


class TlsContext
	/// Immutable after load(); any thread. A connection holds a shared_ptr
	/// for its lifetime, so a reload (a new TlsContext) never changes the
	/// certificate of an open connection.
{
public:
	struct Files
	{
		std::string certificateFile; /// PEM: the server certificate, optionally followed by its chain.
		std::string privateKeyFile;  /// PEM: its key (RSA or EC), unencrypted.
		std::string caFile;          /// PEM: more chain certificates (optional).
		std::string minVersion = "1.2"; /// "1.2" or "1.3".
	};

	static std::shared_ptr<TlsContext> load(const Files& files, std::vector<std::string>& warnings);
		/// Loads and checks the files: each exists and is readable, holds
		/// PEM of the right kind, and the key matches the certificate. Only
		/// TLS 1.2 and 1.3 are offered (1.3 only with minVersion "1.3"),
		/// with OpenSSL's default cipher suites for them. A certificate
		/// that has expired or is not valid yet, or that expires within 14
		/// days, is served but adds a warning. Throws TlsConfigException.

	~TlsContext();

	SSL_CTX* native() const;

	const std::string& subject() const;
		/// The certificate's subject, for the log.

	const std::string& notAfter() const;
		/// When the certificate expires, for the log.

private:
	TlsContext();
	TlsContext(const TlsContext&) = delete;
	TlsContext& operator = (const TlsContext&) = delete;

	SSL_CTX* _pContext = nullptr;
	std::string _subject;
	std::string _notAfter;
};


inline SSL_CTX* TlsContext::native() const
{
	return _pContext;
}


inline const std::string& TlsContext::subject() const
{
	return _subject;
}


inline const std::string& TlsContext::notAfter() const
{
	return _notAfter;
}

} } // namespace imgate::net

#endif // imgate_net_TlsContext_INCLUDED
