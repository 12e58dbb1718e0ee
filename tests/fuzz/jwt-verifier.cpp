//
// jwt-verifier.cpp
//
// Fuzz target: authjwt::JwtVerifier::verify() on a token a client sends
// (plugins/auth-jwt). A token with a forged signature never gets past
// the signature check, so the target also signs what the fuzzer writes
// with the verifier's own secret: then the header and the claims (exp,
// nbf, sub, iss, aud of any JSON type) reach the checks behind it.
// verify() must answer with a Result for any input, never throw: a
// throw would fail the login as an internal error, not as a refused token.
//
// Input: a mode byte, then text. Mode bit 0: 0 = the text is the token,
// 1 = the text is "HEADER\nPAYLOAD" (JSON; without a newline, all of it
// is the payload under {"alg":"HS256","typ":"JWT"}) and the target signs
// it. Bits 1-2 choose the verifier (issuer and audience required or not,
// exp required or not, leeway); bit 3 checks the RS256 verifier instead
// (the raw text then). The uid is "alice"; now is 2023-11-14 22:13:20 UTC.
//

#include "tests/fuzz/FuzzCheck.h"
#include "plugins/auth-jwt/JwtVerifier.h"
#include "Poco/Base64Encoder.h"
#include "Poco/Exception.h"
#include "Poco/Crypto/DigestEngine.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <sstream>
#include <string>

using imgate::authjwt::JwtVerifier;

namespace {

const std::string SECRET = "fuzz-secret-0123456789abcdef0123456789";
const Poco::Timestamp NOW = Poco::Timestamp::fromEpochTime(1700000000);
const imgate::fuzz::FuzzCheck require("jwt-verifier");

// A 2048-bit RSA public key (its private half was thrown away): the
// fuzzer cannot sign for it, so RS256 tokens test the parsing and the
// refusal only.
const char* const RSA_PUBLIC_PEM =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0kyMT3bJ+xQVGjRfExVi\n"
	"4IKLpQAhRx8G6xxmNxO1irCE0+q91E6hbT2ip3cv/VWhs1eTEHuKuDlO/nuY41ie\n"
	"FAQaafntr69Xgn/EYJcxqnzD2l0CztezV/8MOOIZXWpBzaqr4Z8gB/HFDib3HJLG\n"
	"TeHeldVJIshpaUrMBPIuq8d4hbr/oapCIdHNSJKC2g/iIdVkhLIe3hw6fvHLfaug\n"
	"Z8ehHxoEsbq3JOxZ/7crqlogzNzzaYbIqQ4Yz7Q/+f1n+UacxidpGZkOuLXI3Yf9\n"
	"elFo7lAV31Acum2K0g8p2BXPtekQLNf6AQItE6nzbr4yTx6foJ7tAjJngfU/Xem5\n"
	"WwIDAQAB\n"
	"-----END PUBLIC KEY-----\n";


std::string sha256(const std::string& bytes)
{
	Poco::Crypto::DigestEngine engine("SHA256");
	engine.update(bytes);
	const Poco::DigestEngine::Digest& digest = engine.digest();
	return std::string(digest.begin(), digest.end());
}


std::string hmacSha256(const std::string& key, const std::string& message)
	/// RFC 2104 (Poco's HMACEngine needs a BLOCK_SIZE that 1.11's SHA2Engine lacks).
{
	std::string block = key.size() > 64 ? sha256(key) : key;
	block.resize(64, '\0');
	std::string inner(block), outer(block);
	for (std::size_t i = 0; i < 64; ++i)
	{
		inner[i] = static_cast<char>(inner[i] ^ 0x36);
		outer[i] = static_cast<char>(outer[i] ^ 0x5c);
	}
	return sha256(outer + sha256(inner + message));
}


std::string base64url(const std::string& bytes)
{
	std::ostringstream out;
	Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
	encoder.rdbuf()->setLineLength(0);
	encoder << bytes;
	encoder.close();
	return out.str();
}


std::string signedToken(const std::string& text)
{
	const std::size_t newline = text.find('\n');
	const std::string header = newline == std::string::npos ? "{\"alg\":\"HS256\",\"typ\":\"JWT\"}" : text.substr(0, newline);
	const std::string payload = newline == std::string::npos ? text : text.substr(newline + 1);
	const std::string signingInput = base64url(header) + "." + base64url(payload);
	return signingInput + "." + base64url(hmacSha256(SECRET, signingInput));
}


std::unique_ptr<JwtVerifier> makeVerifier(unsigned variant)
{
	JwtVerifier::Options o;
	o.hmacSecret = SECRET;
	o.requireExp = (variant & 1) == 0;
	if (variant & 2)
	{
		o.issuer = "imgate-fuzz";
		o.audience = "imgate";
		o.leewaySeconds = 0;
	}
	return std::unique_ptr<JwtVerifier>(new JwtVerifier(o));
}


std::unique_ptr<JwtVerifier> makeRsaVerifier()
{
	JwtVerifier::Options o;
	o.algorithm = "RS256";
	o.publicKeyPem = RSA_PUBLIC_PEM;
	return std::unique_ptr<JwtVerifier>(new JwtVerifier(o));
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	static const std::unique_ptr<JwtVerifier> verifiers[4] = {makeVerifier(0), makeVerifier(1), makeVerifier(2), makeVerifier(3)};
	static const std::unique_ptr<JwtVerifier> rsa = makeRsaVerifier();
	if (size < 1) return 0;
	const unsigned mode = data[0];
	const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
	const JwtVerifier& verifier = mode & 8 ? *rsa : *verifiers[(mode >> 1) & 3];
	const std::string token = mode & 1 && !(mode & 8) ? signedToken(text) : text;
	JwtVerifier::Result result;
	try
	{
		result = verifier.verify(token, "alice", NOW);
	}
	catch (Poco::Exception& exc)
	{
		require.fail("verify() threw " + exc.displayText());
	}
	catch (std::exception& exc)
	{
		require.fail(std::string("verify() threw ") + exc.what());
	}
	require(token.empty() == (result == JwtVerifier::NO_TOKEN), token.empty() ? "\"no token\" not said for an empty token" : "\"no token\" said for a token");
	const char* pText = JwtVerifier::describe(result);
	if (!pText || !*pText) require.fail("result " + std::to_string(static_cast<int>(result)) + " has no description");
	return 0;
}
