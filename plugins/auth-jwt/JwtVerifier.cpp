//
// JwtVerifier.cpp
//
// Plugin: auth-jwt
//

#include "plugins/auth-jwt/JwtVerifier.h"
#include "Poco/Crypto/ECKey.h"
#include "Poco/Crypto/RSAKey.h"
#include "Poco/JWT/Token.h"
#include <sstream>

namespace imgate {
namespace authjwt {

namespace {

bool claimSeconds(const Poco::JWT::Token& token, const std::string& name, bool& present, double& seconds)
{
	present = token.payload().has(name);
	if (!present) return true;
	try
	{
		seconds = token.payload().get(name).convert<double>();
		return true;
	}
	catch (Poco::Exception&)
	{
		return false;
	}
}

} // namespace


JwtVerifier::JwtVerifier(const Options& options):
	_options(options),
	_pSigner(new Poco::JWT::Signer)
{
	std::set<std::string> algorithms{options.algorithm};
	if (options.algorithm == "HS256")
	{
		if (options.hmacSecret.empty()) throw Poco::InvalidArgumentException("secret: must not be empty");
		_pSigner->setHMACKey(options.hmacSecret);
	}
	else if (options.algorithm == "RS256" || options.algorithm == "ES256")
	{
		std::istringstream pem(options.publicKeyPem);
		try
		{
			if (options.algorithm == "RS256") _pSigner->setRSAKey(new Poco::Crypto::RSAKey(&pem));
			else _pSigner->setECKey(new Poco::Crypto::ECKey(&pem));
		}
		catch (Poco::Exception& exc)
		{
			throw Poco::InvalidArgumentException("publicKeyFile: not a PEM " + std::string(options.algorithm == "RS256" ? "RSA" : "EC") + " public key: " + exc.message());
		}
	}
	else
	{
		throw Poco::InvalidArgumentException("algorithm: expected HS256, RS256 or ES256, got \"" + options.algorithm + "\"");
	}
	_pSigner->setAlgorithms(algorithms);
}


JwtVerifier::Result JwtVerifier::verify(const std::string& jwt, const std::string& uid, const Poco::Timestamp& now) const
{
	if (jwt.empty()) return NO_TOKEN;
	Poco::JWT::Token token;
	try
	{
		// The allowed set holds only the configured algorithm, so a token
		// claiming "none" or another algorithm fails here.
		if (!_pSigner->tryVerify(jwt, token)) return BAD_SIGNATURE;
	}
	catch (Poco::Exception&)
	{
		return BAD_SIGNATURE; // not even a JWT
	}
	const double nowSeconds = static_cast<double>(now.epochMicroseconds()) / 1e6;
	const double leeway = _options.leewaySeconds;
	bool present;
	double seconds = 0;
	if (!claimSeconds(token, "exp", present, seconds)) return MALFORMED_CLAIM;
	if (!present && _options.requireExp) return NO_EXPIRATION;
	if (present && nowSeconds >= seconds + leeway) return EXPIRED;
	if (!claimSeconds(token, "nbf", present, seconds)) return MALFORMED_CLAIM;
	if (present && nowSeconds + leeway < seconds) return NOT_YET_VALID;
	std::string subject;
	try
	{
		subject = token.getSubject();
	}
	catch (Poco::Exception&)
	{
		return MALFORMED_CLAIM;
	}
	if (subject != uid) return WRONG_SUBJECT;
	if (!_options.issuer.empty() && token.getIssuer() != _options.issuer) return WRONG_ISSUER;
	if (!_options.audience.empty())
	{
		bool found = false;
		try
		{
			for (const auto& a: token.getAudience()) found = found || a == _options.audience;
		}
		catch (Poco::Exception&)
		{
			return MALFORMED_CLAIM;
		}
		if (!found) return WRONG_AUDIENCE;
	}
	return VALID;
}


const char* JwtVerifier::describe(Result result)
{
	switch (result)
	{
	case VALID:           return "token valid";
	case NO_TOKEN:        return "no token";
	case BAD_SIGNATURE:   return "bad token signature";
	case EXPIRED:         return "token expired";
	case NOT_YET_VALID:   return "token not yet valid";
	case NO_EXPIRATION:   return "token has no expiration";
	case MALFORMED_CLAIM: return "malformed token claim";
	case WRONG_SUBJECT:   return "token subject does not match the uid";
	case WRONG_ISSUER:    return "wrong token issuer";
	case WRONG_AUDIENCE:  return "wrong token audience";
	}
	return "token refused";
}

} } // namespace imgate::authjwt
