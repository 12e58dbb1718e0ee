//
// ClientTlsContext.cpp
//

#include "tools/imgate-cli/ClientTlsContext.h"
#include "Poco/Exception.h"
#include "Poco/Net/IPAddress.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace imgate {
namespace client {

ClientTlsContext::ClientTlsContext(const TlsOptions& options):
	_pContext(nullptr),
	_options(options)
{
	const int minVersion = parseVersion(options.minVersion, "minimum TLS version");
	const int maxVersion = parseVersion(options.maxVersion, "maximum TLS version");
	_pContext = SSL_CTX_new(TLS_client_method());
	if (!_pContext) throw Poco::IllegalStateException("SSL_CTX_new failed: " + errors());
	if (minVersion) SSL_CTX_set_min_proto_version(_pContext, minVersion);
	if (maxVersion)
	{
		SSL_CTX_set_max_proto_version(_pContext, maxVersion);
		// OpenSSL 3 offers TLS 1.0 and 1.1 only at security level 0.
		if (maxVersion < TLS1_2_VERSION) SSL_CTX_set_security_level(_pContext, 0);
	}
	if (!options.caFile.empty())
	{
		if (SSL_CTX_load_verify_locations(_pContext, options.caFile.c_str(), nullptr) != 1)
		{
			const std::string reason = errors();
			SSL_CTX_free(_pContext);
			throw Poco::OpenFileException("cannot load the CA certificates of " + options.caFile, reason);
		}
		SSL_CTX_set_verify(_pContext, SSL_VERIFY_PEER, nullptr);
	}
	else if (options.useSystemCAs)
	{
		SSL_CTX_set_default_verify_paths(_pContext);
		SSL_CTX_set_verify(_pContext, SSL_VERIFY_PEER, nullptr);
	}
	else
	{
		SSL_CTX_set_verify(_pContext, SSL_VERIFY_NONE, nullptr);
	}
	// Every connection a full handshake: no session cache on this side.
	SSL_CTX_set_session_cache_mode(_pContext, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(_pContext, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}


ClientTlsContext::~ClientTlsContext()
{
	SSL_CTX_free(_pContext);
}


ssl_st* ClientTlsContext::newSsl(const std::string& host) const
{
	SSL* pSsl = SSL_new(_pContext);
	if (!pSsl) throw Poco::IllegalStateException("SSL_new failed: " + errors());
	const std::string& name = _options.serverName.empty() ? host : _options.serverName;
	Poco::Net::IPAddress ip;
	const bool isIp = Poco::Net::IPAddress::tryParse(name, ip);
	if (!isIp) SSL_set_tlsext_host_name(pSsl, name.c_str());
	if (verifies())
	{
		int ok = isIp
			? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(pSsl), name.c_str())
			: SSL_set1_host(pSsl, name.c_str());
		if (ok != 1)
		{
			SSL_free(pSsl);
			throw Poco::InvalidArgumentException("cannot verify the TLS name " + name, errors());
		}
	}
	return pSsl;
}


int ClientTlsContext::parseVersion(const std::string& text, const char* what)
{
	if (text.empty()) return 0;
	if (text == "1.0") return TLS1_VERSION;
	if (text == "1.1") return TLS1_1_VERSION;
	if (text == "1.2") return TLS1_2_VERSION;
	if (text == "1.3") return TLS1_3_VERSION;
	throw Poco::InvalidArgumentException(std::string(what) + ": expected 1.0, 1.1, 1.2 or 1.3, got \"" + text + "\"");
}


std::string ClientTlsContext::errors()
{
	std::string text;
	unsigned long e;
	while ((e = ERR_get_error()) != 0)
	{
		char buffer[256];
		ERR_error_string_n(e, buffer, sizeof(buffer));
		if (!text.empty()) text += "; ";
		text += buffer;
	}
	return text;
}

} } // namespace imgate::client
