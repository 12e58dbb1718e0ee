//
// JwtVerifier.cpp
//
// Plugin: auth-jwt
//

#include "plugins/auth-jwt/JwtVerifier.h"
#include "Poco/Crypto/ECKey.h"
#include "Poco/Crypto/RSAKey.h"
#include "Poco/Base64Decoder.h"
#include "Poco/Base64Encoder.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/JWT/Token.h"
#include "Poco/StreamCopier.h"
#include <algorithm>
#include <set>
#include <sstream>

namespace imgate {
namespace authjwt {

namespace {

bool claimSeconds(const Poco::JWT::Token& token, const std::string& name, bool& present, double& seconds)
	/// A NumericDate (RFC 7519 2): a JSON number, never a string or a bool.
{
	present = token.payload().has(name);
	if (!present) return true;
	try
	{
		const Poco::Dynamic::Var value = token.payload().get(name);
		if (value.isString() || value.isBoolean() || !value.isNumeric()) return false;
		seconds = value.convert<double>();
		return true;
	}
	catch (Poco::Exception&)
	{
		return false;
	}
}


bool decodeSegment(const std::string& segment, std::string& text)
	/// base64url without padding, as JWS compact serialization has it.
{
	if (segment.empty() || segment.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
		return false;
	try
	{
		std::istringstream in(segment);
		Poco::Base64Decoder decoder(in, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
		text.clear();
		Poco::StreamCopier::copyToString(decoder, text);
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


bool JwtVerifier::isFlatObject(const std::string& json)
{
	std::set<std::string> keys;
	int depth = 0;
	bool expectKey = false;
	bool object = false;
	for (std::size_t i = 0; i < json.size(); ++i)
	{
		const char c = json[i];
		if (c == '"')
		{
			std::string text;
			std::size_t j = i + 1;
			for (; j < json.size() && json[j] != '"'; ++j)
			{
				if (json[j] == '\\' && j + 1 < json.size()) text += json[++j];
				else text += json[j];
			}
			// A string at depth 1 that a ':' follows is a key.
			std::size_t k = j + 1;
			while (k < json.size() && (json[k] == ' ' || json[k] == '\t' || json[k] == '\n' || json[k] == '\r')) ++k;
			if (depth == 1 && expectKey && k < json.size() && json[k] == ':')
			{
				// An escape in a top-level key ("\u0073ub" is "sub" to the
				// parser) could hide a duplicate from this scan: refused.
				if (json.find('\\', i + 1) < j) return false;
				if (!keys.insert(text).second) return false;
				expectKey = false;
			}
			i = j;
		}
		else if (c == '{' || c == '[')
		{
			if (depth == 0) object = c == '{';
			if (++depth > MAX_JSON_DEPTH) return false;
			expectKey = depth == 1 && c == '{';
		}
		else if (c == '}' || c == ']') --depth;
		else if (c == ',' && depth == 1) expectKey = true;
	}
	return object;
}


JwtVerifier::Result JwtVerifier::verify(const std::string& jwt, const std::string& uid, const Poco::Timestamp& now) const
{
	if (jwt.empty()) return NO_TOKEN;
	// JWS compact form (RFC 7515 7.1): exactly three base64url segments. A
	// fourth would be ignored by the parser, making the token malleable.
	const std::size_t first = jwt.find('.');
	const std::size_t second = first == std::string::npos ? first : jwt.find('.', first + 1);
	if (second == std::string::npos || jwt.find('.', second + 1) != std::string::npos) return MALFORMED_TOKEN;
	std::string header;
	std::string payload;
	std::string signature;
	if (!decodeSegment(jwt.substr(0, first), header) || !decodeSegment(jwt.substr(first + 1, second - first - 1), payload)
		|| (second + 1 < jwt.size() && !decodeSegment(jwt.substr(second + 1), signature)))
		return MALFORMED_TOKEN; // an empty signature ("alg": "none") fails the signature check below
	// Objects, not nested deeply, each key once: POCO's parser keeps the
	// last of two "sub"s, and recursion is no place for a client's depth.
	if (!isFlatObject(header) || !isFlatObject(payload)) return MALFORMED_TOKEN;
	try
	{
		// The algorithm is the server's choice: a token claiming "none" or
		// another one is refused as not signed the one accepted way.
		Poco::JSON::Object::Ptr pHeader = Poco::JSON::Parser().parse(header).extract<Poco::JSON::Object::Ptr>();
		if (!pHeader->has("alg") || pHeader->get("alg").toString() != _options.algorithm || !pHeader->get("alg").isString())
			return BAD_SIGNATURE;
	}
	catch (Poco::Exception&)
	{
		return MALFORMED_TOKEN;
	}
	Poco::JWT::Token token;
	try
	{
		if (!_pSigner->tryVerify(jwt, token)) return BAD_SIGNATURE;
	}
	catch (Poco::Exception&)
	{
		// The header is fine, so what failed is the claims' JSON.
		return MALFORMED_TOKEN;
	}
	const double nowSeconds = static_cast<double>(now.epochMicroseconds()) / 1e6;
	const double leeway = _options.leewaySeconds;
	bool present;
	double seconds = 0;
	if (!claimSeconds(token, "exp", present, seconds)) return MALFORMED_CLAIM;
	if (!present && _options.requireExp) return NO_EXPIRATION;
	if (present && nowSeconds >= seconds + leeway) return EXPIRED;
	const bool hasExp = present;
	const double exp = seconds;
	if (!claimSeconds(token, "nbf", present, seconds)) return MALFORMED_CLAIM;
	if (present && nowSeconds + leeway < seconds) return NOT_YET_VALID;
	// A token that stays valid for months is a leaked password that never
	// expires: exp at most maxLifetime past iat, or past now without iat or
	// with an iat in the future (which would move the limit along).
	if (!claimSeconds(token, "iat", present, seconds)) return MALFORMED_CLAIM;
	const double issuedAt = present ? std::min(seconds, nowSeconds) : nowSeconds;
	if (hasExp && _options.maxLifetimeSeconds > 0 && exp > issuedAt + _options.maxLifetimeSeconds + leeway)
		return TOO_LONG_LIVED;
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
	case MALFORMED_TOKEN: return "malformed token (not three base64url segments, or its header or claims are not a flat JSON object with unique keys)";
	case TOO_LONG_LIVED:  return "token lifetime above maxLifetime (exp too far after iat)";
	}
	return "token refused";
}

} } // namespace imgate::authjwt
