//
// TlsContext.cpp
//
// Layer: net
//

#include "server/net/TlsContext.h"
#include "Poco/Format.h"
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/stat.h>

namespace imgate {
namespace net {

POCO_IMPLEMENT_EXCEPTION(TlsConfigException, Poco::RuntimeException, "TLS configuration error")


namespace {

std::string openSslError()
	/// The first queued OpenSSL error as text (the queue is cleared).
{
	unsigned long code = ERR_get_error();
	ERR_clear_error();
	if (code == 0) return "unknown OpenSSL error";
	char text[256];
	ERR_error_string_n(code, text, sizeof(text));
	return text;
}


void checkReadable(const std::string& what, const std::string& path, bool secret)
	/// Exists, is readable, and is not writable by others (nor readable by
	/// others if secret): a key every user can read is no longer a secret.
{
	if (path.empty()) throw TlsConfigException(what + " is not set");
	FILE* pFile = std::fopen(path.c_str(), "r");
	if (!pFile)
	{
		const int error = errno;
		throw TlsConfigException(what + " " + path + ": " + (error == ENOENT ? std::string("no such file") : std::string(std::strerror(error))));
	}
	struct stat st;
	const int statted = ::fstat(fileno(pFile), &st);
	std::fclose(pFile);
	if (statted != 0) return;
	if (st.st_mode & S_IWOTH)
		throw TlsConfigException(what + " " + path + ": writable by every user (mode " + Poco::format("%04o", static_cast<unsigned>(st.st_mode & 07777)) + "); chmod o-w it");
	if (secret && (st.st_mode & S_IROTH))
		throw TlsConfigException(what + " " + path + ": readable by every user (mode " + Poco::format("%04o", static_cast<unsigned>(st.st_mode & 07777)) + "); chmod o-r it (0600 or 0640)");
}


struct FileCloser
{
	void operator () (FILE* p) const { if (p) std::fclose(p); }
};

using FilePtr = std::unique_ptr<FILE, FileCloser>;


std::string asText(const ASN1_TIME* pTime)
{
	BIO* pBio = BIO_new(BIO_s_mem());
	if (!pBio) return "?";
	ASN1_TIME_print(pBio, pTime);
	char* pData = nullptr;
	long n = BIO_get_mem_data(pBio, &pData);
	std::string text(pData, n > 0 ? static_cast<std::size_t>(n) : 0);
	BIO_free(pBio);
	return text;
}


void checkDates(const std::string& path, X509* pCert, std::vector<std::string>& warnings)
{
	std::time_t now = std::time(nullptr);
	if (X509_cmp_time(X509_get0_notAfter(pCert), &now) < 0)
	{
		warnings.push_back("tls.certificateFile " + path + ": the certificate expired on " + asText(X509_get0_notAfter(pCert)) + "; clients will refuse it");
		return;
	}
	if (X509_cmp_time(X509_get0_notBefore(pCert), &now) > 0)
	{
		warnings.push_back("tls.certificateFile " + path + ": the certificate is not valid before " + asText(X509_get0_notBefore(pCert)) + "; clients will refuse it until then");
		return;
	}
	std::time_t soon = now + 14 * 86400;
	if (X509_cmp_time(X509_get0_notAfter(pCert), &soon) < 0)
		warnings.push_back("tls.certificateFile " + path + ": the certificate expires on " + asText(X509_get0_notAfter(pCert)) + " (within 14 days)");
}

} // namespace


TlsContext::TlsContext()
{
}


TlsContext::~TlsContext()
{
	if (_pContext) SSL_CTX_free(_pContext);
}


std::shared_ptr<TlsContext> TlsContext::load(const Files& files, std::vector<std::string>& warnings)
{
	if (files.minVersion != "1.2" && files.minVersion != "1.3")
		throw TlsConfigException("tls.minVersion: expected 1.2 or 1.3, not \"" + files.minVersion + "\"");
	checkReadable("tls.certificateFile", files.certificateFile, false);
	checkReadable("tls.privateKeyFile", files.privateKeyFile, true);
	if (!files.caFile.empty()) checkReadable("tls.caFile", files.caFile, false);

	ERR_clear_error();
	std::shared_ptr<TlsContext> pContext(new TlsContext);
	SSL_CTX* pCtx = SSL_CTX_new(TLS_server_method());
	if (!pCtx) throw TlsConfigException("cannot create a TLS context: " + openSslError());
	pContext->_pContext = pCtx;
	SSL_CTX_set_min_proto_version(pCtx, files.minVersion == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(pCtx, TLS1_3_VERSION);
	// Idle connections keep no record buffers; no renegotiation; the
	// server's cipher preference; sessions resume through tickets only (no
	// server-side cache to grow).
	SSL_CTX_set_mode(pCtx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(pCtx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(pCtx, SSL_SESS_CACHE_OFF);

	if (SSL_CTX_use_certificate_chain_file(pCtx, files.certificateFile.c_str()) != 1)
		throw TlsConfigException("tls.certificateFile " + files.certificateFile + ": not a PEM certificate (" + openSslError() + ")");
	if (!files.caFile.empty())
	{
		FilePtr pFile(std::fopen(files.caFile.c_str(), "r"));
		int added = 0;
		while (X509* pCa = pFile ? PEM_read_X509(pFile.get(), nullptr, nullptr, nullptr) : nullptr)
		{
			if (SSL_CTX_add_extra_chain_cert(pCtx, pCa) != 1)
			{
				X509_free(pCa);
				throw TlsConfigException("tls.caFile " + files.caFile + ": " + openSslError());
			}
			++added;
		}
		ERR_clear_error(); // the end of the file
		if (added == 0) throw TlsConfigException("tls.caFile " + files.caFile + ": no PEM certificate in it");
	}
	{
		FilePtr pFile(std::fopen(files.privateKeyFile.c_str(), "r"));
		EVP_PKEY* pKey = pFile ? PEM_read_PrivateKey(pFile.get(), nullptr, nullptr, const_cast<char*>("")) : nullptr;
		if (!pKey) throw TlsConfigException("tls.privateKeyFile " + files.privateKeyFile + ": not an unencrypted PEM private key (" + openSslError() + ")");
		if (X509_check_private_key(SSL_CTX_get0_certificate(pCtx), pKey) != 1)
		{
			EVP_PKEY_free(pKey);
			ERR_clear_error();
			throw TlsConfigException("tls.privateKeyFile " + files.privateKeyFile + ": the key does not match the certificate in " + files.certificateFile);
		}
		const int used = SSL_CTX_use_PrivateKey(pCtx, pKey);
		EVP_PKEY_free(pKey);
		if (used != 1) throw TlsConfigException("tls.privateKeyFile " + files.privateKeyFile + ": " + openSslError());
	}
	if (SSL_CTX_check_private_key(pCtx) != 1)
	{
		ERR_clear_error();
		throw TlsConfigException("tls.privateKeyFile " + files.privateKeyFile + ": the key does not match the certificate in " + files.certificateFile);
	}
	X509* pCert = SSL_CTX_get0_certificate(pCtx);
	char subject[256] = {0};
	X509_NAME_oneline(X509_get_subject_name(pCert), subject, sizeof(subject));
	pContext->_subject = subject;
	pContext->_notAfter = asText(X509_get0_notAfter(pCert));
	checkDates(files.certificateFile, pCert, warnings);
	return pContext;
}

} } // namespace imgate::net
