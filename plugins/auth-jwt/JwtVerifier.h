//
// JwtVerifier.h
//
// Plugin: auth-jwt
// Checks a login token: its form (three segments, no duplicate keys, time
// claims that are numbers), signature (one algorithm, chosen by the server,
// never by the token), exp and nbf with leeway, its lifetime, sub == uid,
// iss and aud.
//

#ifndef imgate_authjwt_JwtVerifier_INCLUDED
#define imgate_authjwt_JwtVerifier_INCLUDED

#include "Poco/Crypto/OpenSSLInitializer.h"
#include "Poco/JWT/Signer.h"
#include "Poco/Timestamp.h"
#include <memory>
#include <string>

namespace imgate {
namespace authjwt {

class JwtVerifier
	/// Immutable after construction; verify() may be called concurrently.
	/// Poco::JWT::Signer::verify() checks the signature only: the time
	/// claims are checked here.
{
public:
	struct Options
	{
		std::string algorithm = "HS256";  /// HS256, RS256 or ES256.
		std::string hmacSecret;           /// HS256.
		std::string publicKeyPem;         /// RS256 / ES256: PEM text of the public key.
		unsigned leewaySeconds = 30;      /// Clock skew allowed for exp and nbf.
		bool requireExp = true;           /// A token without exp is refused.
		unsigned maxLifetimeSeconds = 86400; /// exp at most this far past iat (or now, without iat); 0: no limit.
		std::string issuer;               /// If set, iss must equal it.
		std::string audience;             /// If set, aud must contain it.
	};

	explicit JwtVerifier(const Options& options);
		/// Throws Poco::InvalidArgumentException for an unknown algorithm, an
		/// empty secret or a key that does not parse.

	enum Result
	{
		VALID,
		NO_TOKEN,
		BAD_SIGNATURE,   /// Also: another algorithm (e.g. "none").
		EXPIRED,
		NOT_YET_VALID,
		NO_EXPIRATION,
		MALFORMED_CLAIM,
		WRONG_SUBJECT,
		WRONG_ISSUER,
		WRONG_AUDIENCE,
		TOO_LONG_LIVED,  /// exp further than maxLifetimeSeconds from iat (or now)
		MALFORMED_TOKEN  /// Not three base64url segments, or a header or claims that are not a flat JSON object with unique keys.
	};

	Result verify(const std::string& token, const std::string& uid, const Poco::Timestamp& now = Poco::Timestamp()) const;

	static const char* describe(Result result);
		/// "token expired": safe to show the client and to log (no token data).

	enum
	{
		MAX_JSON_DEPTH = 8 /// Nesting a token's header or claims may have.
	};

	static bool isFlatObject(const std::string& json);
		/// Whether the JSON text is an object nested at most MAX_JSON_DEPTH
		/// deep with each top-level key once (POCO's parser keeps the last:
		/// "sub" twice would pick one of two subjects). A scan for these
		/// two rules only; the parser checks the rest.

private:
	Poco::Crypto::OpenSSLInitializer _openSSL;
		/// Holds Poco's OpenSSL reference count above zero for the verifier's
		/// life. Poco 1.11 counts every digest engine: when two threads'
		/// engines take the count from 1 to 0 and back at once, its
		/// uninitialize() and initialize() race and corrupt the heap (seen:
		/// imgated aborted with "munmap_chunk(): invalid pointer" under
		/// 19,000 logins from two event loops).
	Options _options;
	std::unique_ptr<Poco::JWT::Signer> _pSigner;
};

} } // namespace imgate::authjwt

#endif // imgate_authjwt_JwtVerifier_INCLUDED
