//
// JwtVerifierTest.cpp
//

#include "plugins/auth-jwt/JwtVerifier.h"
#include "Poco/Base64Encoder.h"
#include "Poco/Crypto/ECKey.h"
#include "Poco/Crypto/RSAKey.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"
#include <cppunit/extensions/HelperMacros.h>
#include <openssl/hmac.h>
#include <atomic>
#include <sstream>
#include <thread>

using imgate::authjwt::JwtVerifier;

namespace {

const std::string SECRET = "0123456789abcdef0123456789abcdef-test-secret";

Poco::Timestamp at(double seconds)
{
	return Poco::Timestamp(static_cast<Poco::Timestamp::TimeVal>(seconds * 1e6));
}

const double NOW = 1800000000.0; // a fixed "now" for every case

std::string sign(Poco::JWT::Token token, const std::string& secret = SECRET)
{
	Poco::JWT::Signer signer(secret);
	return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

Poco::JWT::Token claims(const std::string& sub, double exp, double nbf = 0)
{
	Poco::JWT::Token token;
	token.setType("JWT");
	token.setSubject(sub);
	if (exp > 0) token.payload().set("exp", static_cast<Poco::Int64>(exp));
	if (nbf > 0) token.payload().set("nbf", static_cast<Poco::Int64>(nbf));
	return token;
}

std::string base64url(const std::string& text)
{
	std::ostringstream out;
	Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
	encoder << text;
	encoder.close();
	return out.str();
}

std::string signRaw(const std::string& headerJson, const std::string& payloadJson, const std::string& secret = SECRET)
	/// An HS256 token with exactly these header and claims texts: what a
	/// JSON library would never write (duplicate keys, strings for numbers).
{
	const std::string input = base64url(headerJson) + "." + base64url(payloadJson);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned length = 0;
	HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
	return input + "." + base64url(std::string(reinterpret_cast<const char*>(mac), length));
}

const std::string HS256_HEADER = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

std::string expIn(double seconds)
{
	return std::to_string(static_cast<long long>(NOW + seconds));
}

JwtVerifier hs256(unsigned leeway = 30)
{
	JwtVerifier::Options o;
	o.hmacSecret = SECRET;
	o.leewaySeconds = leeway;
	return JwtVerifier(o);
}

} // namespace


namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool UNDER_ASAN = true;   // gcc
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool UNDER_ASAN = true;   // clang
#else
constexpr bool UNDER_ASAN = false;
#endif
#else
constexpr bool UNDER_ASAN = false;
#endif

// A key made for this test only (openssl genrsa 2048); it protects nothing.
const char* const RS256_TEST_PRIVATE_KEY =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDa7lsn8mGDMtsT\n"
	"pWlFiPb1ZXzLx+Pv/7H7szIDXrxzdNUHgQqTgMdLCxYToqNNTY6+cR6LIPNlNjJO\n"
	"Kgy5IzNNyJ9zwspBiFjyejGqAa190oMxKH6D2eWwM3aKTAgJJ+FSV4nqizDk6DHS\n"
	"kwVIEqjLjOQ7y5blxUbVyOKEqJrur2DoVLB1FeKONDJhsNwvPMm9uNvIORhXzzg/\n"
	"AZP1ajMSa1LdlPEj5VBDiXL6bS4S1T5w9Wf2mFSxuGc30nLnTkjjL6hHT5YgOAy/\n"
	"gqLmGurSg34ENy1vjpumetVJ0g3ulZm7QPYRdOti53LBt0hUjfaQ4gCcwJ4NEiEJ\n"
	"XzEdfS5VAgMBAAECggEACj9I1fxS0xzAw1ElNcN856yJ5FHlWdjqgED5cM3w3SiV\n"
	"RgYktBW9fkY1ENM2eIpOSZyq1NFEgzK/tQfj05CRuKzQxc7Sv7F9lE/i3jW45KBD\n"
	"Urw1+77psM8f18ZKQ/9xXPTK+EbukXBK0LPf9eklrG1aS3Ayjmum7p+59oKbydsm\n"
	"byr3er3Xs7xrXtvfEl/1ZWX/fBmD3QVDzbTLju+X6HwXLlrJ4MFHfKd1B6rtZcvu\n"
	"ft/i/dCxeBaYuj1LxG6jIzE5H5/sKY33LOgK0ctuLj4xarjluiGNAxeB0KcyfAU8\n"
	"dTYgRoKCZ6thSb0FQToNRyKzvsaqJMJip2gjyZYFkQKBgQDy9NpWLROXxQKg41jp\n"
	"XuJkE9M0R0QtQWeSD89WxDVypJ92CBcXLEphopAuJEDjpywuh7H1ByT6jF4/lVQM\n"
	"QNdO83Sg4xPDbBsmsLS1Z8uM7SIpxsVyjBlgqSFnMXubQyTRan9slg4RDWv1HOga\n"
	"zITQiD27TAMN8QyuL91CcnKNzQKBgQDmr02RAsFzrC7DgH5CqQsCHPMPBbFdNcYC\n"
	"p9KzuLmq7rw+GyNIYBQW5tSog444asxhlrGpymGCuTrf1bvIMNeSAboVoidk627q\n"
	"kzrxjfqT9fToLA8sWBBcxvn28ugmX4TwVjcghnpDbmltHBVSpgMuXRmz5Vc2G+TI\n"
	"c2AIepHaqQKBgBGdz3cQLauDjX08/uVtC91V0qqnwDnH1Eqy+sW/1GBLr4RPcd0s\n"
	"SPhrYSj3V/0p0fpNvImXywafxvW1TjLVQMdov7wquvQgkpdrmK7Op+PADgoZb5eu\n"
	"sOhhWxqwa9YGOFU286Zb+wkhgAJ15h6LVdYJCvDZwh7wq4q1zcVTpxrBAoGAQ1qF\n"
	"3EQgtaRdVwmqU85Ff41yTj2MRrnPobDcbUsPMuBXqA6GY7hhxToKd1VJ7iEIoam9\n"
	"H+UOSXvJu9cM5+uS1XeZnH1m4Sl4jhcEy8h3lEHpCuzqVTk1NdGG5FqR+7pB92ZE\n"
	"3ENHaW7Qa2Iau7HrFdtrCMJ6jzrftsMxE+its1kCgYAv4b+R5zSBdzI2B4HWnKpb\n"
	"HahpZq/E140kN22ZVH0DITee3QngcA7OagPnwvN65SzdqoHLAmcLulAH+Cdj7qpZ\n"
	"jKzUrWGGv6uI/ACvOZ09UQ1vt+DNVz+QBm8+mP2Mxfj+BqSDM6l8v+SqHNhqNBrV\n"
	"tpNbCu01XjpntSZshsiryg==\n"
	"-----END PRIVATE KEY-----\n";

const char* const RS256_TEST_PUBLIC_KEY =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2u5bJ/JhgzLbE6VpRYj2\n"
	"9WV8y8fj7/+x+7MyA168c3TVB4EKk4DHSwsWE6KjTU2OvnEeiyDzZTYyTioMuSMz\n"
	"Tcifc8LKQYhY8noxqgGtfdKDMSh+g9nlsDN2ikwICSfhUleJ6osw5Ogx0pMFSBKo\n"
	"y4zkO8uW5cVG1cjihKia7q9g6FSwdRXijjQyYbDcLzzJvbjbyDkYV884PwGT9Woz\n"
	"EmtS3ZTxI+VQQ4ly+m0uEtU+cPVn9phUsbhnN9Jy505I4y+oR0+WIDgMv4Ki5hrq\n"
	"0oN+BDctb46bpnrVSdIN7pWZu0D2EXTrYudywbdIVI32kOIAnMCeDRIhCV8xHX0u\n"
	"VQIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

} // namespace


class JwtVerifierTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(JwtVerifierTest);
	CPPUNIT_TEST(testValid);
	CPPUNIT_TEST(testExpired);
	CPPUNIT_TEST(testLeeway);
	CPPUNIT_TEST(testNotBeforeInFuture);
	CPPUNIT_TEST(testWrongSubject);
	CPPUNIT_TEST(testBadSignature);
	CPPUNIT_TEST(testGarbage);
	CPPUNIT_TEST(testRawSigningAgrees);
	CPPUNIT_TEST(testNumericDatesMustBeNumbers);
	CPPUNIT_TEST(testFourthSegmentRefused);
	CPPUNIT_TEST(testDuplicateClaimsRefused);
	CPPUNIT_TEST(testDeepNestingIsMalformedNotBadSignature);
	CPPUNIT_TEST(testMaxLifetime);
	CPPUNIT_TEST(testAlgNoneRefused);
	CPPUNIT_TEST(testMissingExpiration);
	CPPUNIT_TEST(testIssuerAndAudience);
	CPPUNIT_TEST(testMalformedClaim);
	CPPUNIT_TEST(testRs256);
	CPPUNIT_TEST(testEs256);
	CPPUNIT_TEST(testBadOptions);
	CPPUNIT_TEST(testConcurrentVerifies);
	CPPUNIT_TEST_SUITE_END();

public:
	void testValid()
	{
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256().verify(sign(claims("alice", NOW + 60)), "alice", at(NOW)));
	}

	void testExpired()
	{
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::EXPIRED, hs256(0).verify(sign(claims("alice", NOW - 1)), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::EXPIRED, hs256(0).verify(sign(claims("alice", NOW)), "alice", at(NOW)));
	}

	void testLeeway()
	{
		std::string token = sign(claims("alice", NOW - 20));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256(30).verify(token, "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::EXPIRED, hs256(10).verify(token, "alice", at(NOW)));
		// The edges (RFC 7519: expired ON exp, valid ON nbf), shifted by the leeway.
		std::string exp = sign(claims("alice", NOW));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256(30).verify(exp, "alice", at(NOW + 29.999)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::EXPIRED, hs256(30).verify(exp, "alice", at(NOW + 30)));
		std::string nbf = sign(claims("alice", NOW + 600, NOW + 60));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::NOT_YET_VALID, hs256(30).verify(nbf, "alice", at(NOW + 29.999)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256(30).verify(nbf, "alice", at(NOW + 30)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256(0).verify(nbf, "alice", at(NOW + 60)));
	}

	void testNotBeforeInFuture()
	{
		std::string token = sign(claims("alice", NOW + 600, NOW + 120));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::NOT_YET_VALID, hs256(30).verify(token, "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256(30).verify(token, "alice", at(NOW + 100))); // within leeway
	}

	void testWrongSubject()
	{
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::WRONG_SUBJECT, hs256().verify(sign(claims("alice", NOW + 60)), "mallory", at(NOW)));
	}

	void testBadSignature()
	{
		std::string forged = sign(claims("alice", NOW + 60), "another-secret-of-at-least-32-bytes!!");
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::BAD_SIGNATURE, hs256().verify(forged, "alice", at(NOW)));
		// A valid token with its payload swapped for another uid's.
		std::string good = sign(claims("alice", NOW + 60));
		std::string other = sign(claims("mallory", NOW + 60));
		std::string spliced = good.substr(0, good.find('.')) + other.substr(other.find('.'), other.rfind('.') - other.find('.')) + good.substr(good.rfind('.'));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::BAD_SIGNATURE, hs256().verify(spliced, "mallory", at(NOW)));
	}

	void testGarbage()
	{
		JwtVerifier v = hs256();
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::NO_TOKEN, v.verify("", "alice", at(NOW)));
		// Not a JWT at all: named as such, not as a bad signature.
		for (const char* junk: {"x", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.%%%.zzz", "\xff\xfe.\x01.\x02"})
			CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, v.verify(junk, "alice", at(NOW)));
	}

	void testRawSigningAgrees()
	{
		// The hand-made tokens below are signed right: this one is valid.
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(60) + "}"), "alice", at(NOW)));
	}

	void testNumericDatesMustBeNumbers()
	{
		// RFC 7519 2: a NumericDate is a JSON number.
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_CLAIM, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":\"9999999999\"}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_CLAIM, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(60) + ",\"nbf\":\"0\"}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_CLAIM, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(60) + ",\"iat\":true}"), "alice", at(NOW)));
	}

	void testFourthSegmentRefused()
	{
		// Appending ".x" to a valid token must not leave it valid (malleable).
		const std::string good = sign(claims("alice", NOW + 60));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256().verify(good, "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, hs256().verify(good + ".x", "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, hs256().verify(good + ".", "alice", at(NOW)));
	}

	void testDuplicateClaimsRefused()
	{
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"mallory\",\"exp\":" + expIn(60) + ",\"sub\":\"alice\"}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, hs256().verify(signRaw("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"exp\":" + expIn(60) + "}"), "alice", at(NOW)));
		// The same key inside a nested object is another key.
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(60) + ",\"x\":{\"sub\":1}}"), "alice", at(NOW)));
		// An escaped key would hide the duplicate from a plain scan.
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, hs256().verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"\\u0073ub\":\"bob\",\"exp\":" + expIn(60) + "}"), "bob", at(NOW)));
		CPPUNIT_ASSERT(!JwtVerifier::isFlatObject("[1]"));
		CPPUNIT_ASSERT(!JwtVerifier::isFlatObject("{\"a\\\"\":1, \"a\": 2}")); // any escaped top-level key is refused
	}

	void testDeepNestingIsMalformedNotBadSignature()
	{
		const std::string deep = "{\"alg\":\"HS256\",\"x\":" + std::string(40, '[') + std::string(40, ']') + "}";
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_TOKEN, hs256().verify(signRaw(deep, "{\"sub\":\"alice\",\"exp\":" + expIn(60) + "}"), "alice", at(NOW)));
		CPPUNIT_ASSERT(std::string(JwtVerifier::describe(JwtVerifier::MALFORMED_TOKEN)).find("malformed token") == 0);
	}

	void testMaxLifetime()
	{
		// Default 24 h: from iat if given, else from now; a future iat does
		// not move the limit.
		JwtVerifier v = hs256();
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, v.verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(86400) + "}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::TOO_LONG_LIVED, v.verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(86400 + 31) + "}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::TOO_LONG_LIVED, v.verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"iat\":" + expIn(-86400) + ",\"exp\":" + expIn(3600) + "}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, v.verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"iat\":" + expIn(-3600) + ",\"exp\":" + expIn(3600) + "}"), "alice", at(NOW)));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::TOO_LONG_LIVED, v.verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"iat\":" + expIn(31536000) + ",\"exp\":" + expIn(31536000 + 60) + "}"), "alice", at(NOW)));
		JwtVerifier::Options o;
		o.hmacSecret = SECRET;
		o.maxLifetimeSeconds = 0; // no limit
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, JwtVerifier(o).verify(signRaw(HS256_HEADER, "{\"sub\":\"alice\",\"exp\":" + expIn(31536000) + "}"), "alice", at(NOW)));
	}

	void testAlgNoneRefused()
	{
		std::string header = base64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
		std::string payload = base64url("{\"sub\":\"alice\",\"exp\":" + std::to_string(static_cast<long long>(NOW + 60)) + "}");
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::BAD_SIGNATURE, hs256().verify(header + "." + payload + ".", "alice", at(NOW)));
	}

	void testMissingExpiration()
	{
		std::string token = sign(claims("alice", 0));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::NO_EXPIRATION, hs256().verify(token, "alice", at(NOW)));
		JwtVerifier::Options o;
		o.hmacSecret = SECRET;
		o.requireExp = false;
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, JwtVerifier(o).verify(token, "alice", at(NOW)));
	}

	void testIssuerAndAudience()
	{
		JwtVerifier::Options o;
		o.hmacSecret = SECRET;
		o.issuer = "https://auth.example";
		o.audience = "imgate";
		JwtVerifier v(o);
		Poco::JWT::Token t = claims("alice", NOW + 60);
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::WRONG_ISSUER, v.verify(sign(t), "alice", at(NOW)));
		t.setIssuer("https://auth.example");
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::WRONG_AUDIENCE, v.verify(sign(t), "alice", at(NOW)));
		t.setAudience(std::vector<std::string>{"other", "imgate"});
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, v.verify(sign(t), "alice", at(NOW)));
		t.setAudience("imgate");
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, v.verify(sign(t), "alice", at(NOW)));
	}

	void testMalformedClaim()
	{
		Poco::JWT::Token t;
		t.setSubject("alice");
		t.payload().set("exp", std::string("tomorrow"));
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::MALFORMED_CLAIM, hs256().verify(sign(t), "alice", at(NOW)));
	}

	void testRs256()
	{
		// A fixed key: generating a 2048-bit one took up to a minute in the
		// sanitizer build (and the test hit its 120 s limit once).
		std::istringstream publicKey(RS256_TEST_PUBLIC_KEY), privateKey(RS256_TEST_PRIVATE_KEY);
		Poco::SharedPtr<Poco::Crypto::RSAKey> pKey = new Poco::Crypto::RSAKey(&publicKey, &privateKey);
		std::ostringstream pem;
		pKey->save(&pem);
		Poco::JWT::Signer signer(pKey);
		Poco::JWT::Token t = claims("alice", NOW + 60);
		std::string token = signer.sign(t, Poco::JWT::Signer::ALGO_RS256);
		JwtVerifier::Options o;
		o.algorithm = "RS256";
		o.publicKeyPem = pem.str();
		JwtVerifier v(o);
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, v.verify(token, "alice", at(NOW)));
		// An HS256 token signed with the public key text as secret (the
		// classic algorithm-confusion attack) is refused.
		Poco::JWT::Signer confused(pem.str());
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::BAD_SIGNATURE, v.verify(confused.sign(t, Poco::JWT::Signer::ALGO_HS256), "alice", at(NOW)));
	}

	void testEs256()
	{
		Poco::SharedPtr<Poco::Crypto::ECKey> pKey = new Poco::Crypto::ECKey("prime256v1");
		std::ostringstream pem;
		pKey->save(&pem);
		Poco::JWT::Signer signer(pKey);
		Poco::JWT::Token t = claims("alice", NOW + 60);
		JwtVerifier::Options o;
		o.algorithm = "ES256";
		o.publicKeyPem = pem.str();
		CPPUNIT_ASSERT_EQUAL(JwtVerifier::VALID, JwtVerifier(o).verify(signer.sign(t, Poco::JWT::Signer::ALGO_ES256), "alice", at(NOW)));
	}

	void testConcurrentVerifies()
	{
		// Two threads verify at once, as the two event loops of imgated do.
		// Poco 1.11 frees and re-makes OpenSSL state whenever its count of
		// live digest engines falls to zero; without the verifier holding
		// the count up, this corrupted the heap within ~100,000 verifies.
		JwtVerifier v = hs256();
		const std::string token = sign(claims("alice", NOW + 60));
		std::atomic<unsigned> valid{0};
		// Under AddressSanitizer, which reports the first bad access at once,
		// half the verifies (each costs ten times as much there).
		const unsigned each = UNDER_ASAN ? 150000 : 300000;
		auto work = [&]()
		{
			for (unsigned i = 0; i < each; ++i)
			{
				if (v.verify(token, "alice", at(NOW)) == JwtVerifier::VALID) ++valid;
			}
		};
		std::thread a(work), b(work);
		a.join();
		b.join();
		CPPUNIT_ASSERT_EQUAL(2 * each, valid.load());
	}

	void testBadOptions()
	{
		JwtVerifier::Options o;
		o.algorithm = "HS999";
		o.hmacSecret = SECRET;
		CPPUNIT_ASSERT_THROW(JwtVerifier v(o), Poco::InvalidArgumentException);
		o.algorithm = "RS256";
		o.publicKeyPem = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
		CPPUNIT_ASSERT_THROW(JwtVerifier v(o), Poco::InvalidArgumentException);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(JwtVerifierTest);
