//
// AuthJwtTest.cpp
//
// The auth-jwt plugin (the real auth-jwt.so) in a real imgated, with
// tokens minted by imgate-cli token.
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Crypto/ECKey.h"
#include "Poco/Crypto/RSAKey.h"
#include "Poco/File.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"
#include "Poco/String.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <fstream>
#include <iterator>
#include <signal.h>

using imgate::client::Reply;
using imgate::test::ServerProcess;
using ProtocolStatus = imgate::protocol::Status;

class AuthJwtTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(AuthJwtTest);
	CPPUNIT_TEST(testValidTokenLogsIn);
	CPPUNIT_TEST(testRefusalsCloseAndNeverLogTheToken);
	CPPUNIT_TEST(testRefusalLinesAreBounded);
	CPPUNIT_TEST(testAnonymousCannotBypass);
	CPPUNIT_TEST(testTimeClaimsEndToEnd);
	CPPUNIT_TEST(testPublicKeyAlgorithms);
	CPPUNIT_TEST(testStartupErrors);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = ServerProcess::makeTempDir();
		_secretFile = _dir + "jwt.secret";
		ServerProcess::writeFile(_secretFile, "a-test-secret-that-is-long-enough-for-hs256\n");
	}

	void tearDown() override
	{
		Poco::File(_dir).remove(true);
	}

	std::string mint(const std::string& uid, const std::vector<std::string>& extra = {})
	{
		std::vector<std::string> args{"token", "--secret-file", _secretFile, "--uid", uid};
		args.insert(args.end(), extra.begin(), extra.end());
		std::string out;
		CPPUNIT_ASSERT_EQUAL(0, ServerProcess::runProgram(IMGATE_CLI_PATH, args, out, 10000));
		return Poco::trim(out);
	}

	ServerProcess::Settings settings(ServerProcess::Settings extra = {})
	{
		extra["plugins.dir"] = IMGATE_PLUGIN_DIR;
		extra["plugins.load"] = "auth-jwt";
		if (!extra.count("plugins.auth-jwt.secretFile")) extra["plugins.auth-jwt.secretFile"] = _secretFile;
		if (!extra.count("auth.allowAnonymous")) extra["auth.allowAnonymous"] = "";
		return extra;
	}

	void testValidTokenLogsIn()
	{
		ServerProcess server(settings());
		auto c = server.connect();
		CPPUNIT_ASSERT(c->login("alice", mint("alice")).result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT(server.log().find("every login will be refused") == std::string::npos);
	}

	void testRefusalsCloseAndNeverLogTheToken()
	{
		ServerProcess server(settings({{"plugins.auth-jwt.issuer", "imgate-test"}}));
		struct Case
		{
			std::string uid;
			std::string token;
			std::string reason;
		};
		const std::string good = mint("alice", {"--issuer", "imgate-test"});
		const Case cases[] = {
			{"alice", "", "no token"},
			{"mallory", good, "token subject does not match the uid"},
			{"alice", good.substr(0, good.size() - 3) + "AAA", "bad token signature"},
			{"alice", mint("alice"), "wrong token issuer"},
			{"alice", "not-a-jwt", "malformed token (not three base64url segments, or its header or claims are not a flat JSON object with unique keys)"},
			{"alice", good + ".x", "malformed token (not three base64url segments, or its header or claims are not a flat JSON object with unique keys)"}
		};
		for (const Case& k: cases)
		{
			auto c = server.connect();
			Reply r = c->login(k.uid, k.token);
			CPPUNIT_ASSERT(r.result() == ProtocolStatus::AUTH_FAILED);
			CPPUNIT_ASSERT_EQUAL("authentication failed: " + k.reason, r.parse<imgate::v1::LoginResponse>().message());
			CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(server.waitForLog("login uid=" + k.uid + " peer=127.0.0.1 refused: " + k.reason));
		}
		CPPUNIT_ASSERT(server.connect()->login("alice", good).result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT_MESSAGE("a token must never be logged", server.log().find(good.substr(good.rfind('.') + 1)) == std::string::npos);
	}

	static std::size_t count(const std::string& text, const std::string& what)
	{
		std::size_t n = 0;
		for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
		return n;
	}

	void testRefusalLinesAreBounded()
	{
		// A flood of bad tokens: at most 60 lines a minute from the plugin,
		// the sixtieth saying the rest are only counted.
		ServerProcess server(settings());
		const std::string good = mint("alice");
		const std::string forged = good.substr(0, good.size() - 3) + "AAA";
		for (int i = 0; i < 75; ++i)
		{
			auto c = server.connect();
			CPPUNIT_ASSERT(c->login("alice", forged).result() == ProtocolStatus::AUTH_FAILED);
		}
		// Each line is written before its LOGIN_RESP; SIGHUP's comes after.
		server.signal(SIGHUP);
		CPPUNIT_ASSERT(server.waitForLog("SIGHUP: plugins re-read their files"));
		const std::string log = server.log();
		const std::string line = "imgate.plugin.auth-jwt: login uid=alice peer=127.0.0.1 refused: bad token signature";
		CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(60), count(log, line));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), count(log, line + " (more refused logins this minute are counted, not logged)"));
		CPPUNIT_ASSERT_MESSAGE("a token must never be logged", log.find(forged.substr(forged.rfind('.') + 1)) == std::string::npos);
		CPPUNIT_ASSERT(log.find(forged.substr(0, forged.find('.'))) == std::string::npos);
	}

	static Poco::JWT::Token claims(const std::string& sub, Poco::Int64 expFromNow, Poco::Int64 nbfFromNow = 0)
	{
		const Poco::Int64 now = Poco::Timestamp().epochTime();
		Poco::JWT::Token token;
		token.setType("JWT");
		token.setSubject(sub);
		token.payload().set("exp", now + expFromNow);
		if (nbfFromNow != 0) token.payload().set("nbf", now + nbfFromNow);
		return token;
	}

	static std::string sign(Poco::JWT::Signer& signer, Poco::JWT::Token token, const std::string& algorithm)
	{
		return signer.sign(token, algorithm);
	}

	std::string secret()
	{
		std::ifstream in(_secretFile);
		std::string text;
		std::getline(in, text);
		return text;
	}

	void assertRefused(ServerProcess& server, const std::string& uid, const std::string& token, const std::string& reason)
	{
		auto c = server.connect();
		Reply r = c->login(uid, token);
		CPPUNIT_ASSERT(r.result() == ProtocolStatus::AUTH_FAILED);
		CPPUNIT_ASSERT_EQUAL("authentication failed: " + reason, r.parse<imgate::v1::LoginResponse>().message());
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
	}

	void testTimeClaimsEndToEnd()
	{
		// leeway 20 s (not the default 30): 40 s out is refused, 5 s is not.
		ServerProcess server(settings({{"plugins.auth-jwt.leeway", "20"}}));
		Poco::JWT::Signer signer(secret());
		assertRefused(server, "alice", sign(signer, claims("alice", -40), Poco::JWT::Signer::ALGO_HS256), "token expired");
		assertRefused(server, "alice", sign(signer, claims("alice", 7200, 40), Poco::JWT::Signer::ALGO_HS256), "token not yet valid");
		CPPUNIT_ASSERT(server.connect()->login("alice", sign(signer, claims("alice", -5), Poco::JWT::Signer::ALGO_HS256)).result() == ProtocolStatus::OK);
		CPPUNIT_ASSERT(server.connect()->login("bob", sign(signer, claims("bob", 600, 5), Poco::JWT::Signer::ALGO_HS256)).result() == ProtocolStatus::OK);
	}

	void testPublicKeyAlgorithms()
	{
		Poco::SharedPtr<Poco::Crypto::RSAKey> pRsa = new Poco::Crypto::RSAKey(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE);
		Poco::SharedPtr<Poco::Crypto::ECKey> pEc = new Poco::Crypto::ECKey("prime256v1");
		{
			std::ofstream rsa(_dir + "rsa.pem"), ec(_dir + "ec.pem");
			pRsa->save(&rsa);
			pEc->save(&ec);
		}
		Poco::JWT::Signer rsaSigner(pRsa), ecSigner(pEc), hsSigner(secret());
		{
			ServerProcess server(settings({{"plugins.auth-jwt.secretFile", ""}, {"plugins.auth-jwt.publicKeyFile", _dir + "rsa.pem"}}));
			CPPUNIT_ASSERT(server.log().find("verifying RS256 tokens") != std::string::npos);
			CPPUNIT_ASSERT(server.connect()->login("alice", sign(rsaSigner, claims("alice", 600), Poco::JWT::Signer::ALGO_RS256)).result() == ProtocolStatus::OK);
			assertRefused(server, "alice", sign(hsSigner, claims("alice", 600), Poco::JWT::Signer::ALGO_HS256), "bad token signature");
			assertRefused(server, "alice", sign(ecSigner, claims("alice", 600), Poco::JWT::Signer::ALGO_ES256), "bad token signature");
			// Algorithm confusion: HS256 "signed" with the public key's PEM text,
			// or with an empty key, must not pass as RS256.
			std::ifstream pem(_dir + "rsa.pem");
			std::string pemText((std::istreambuf_iterator<char>(pem)), std::istreambuf_iterator<char>());
			// HMAC pads its key with zero bytes, so key "\0" signs exactly as an
			// empty key would (Poco refuses to sign with an empty one).
			Poco::JWT::Signer pemSigner(pemText), emptySigner(std::string(1, '\0'));
			assertRefused(server, "alice", sign(pemSigner, claims("alice", 600), Poco::JWT::Signer::ALGO_HS256), "bad token signature");
			assertRefused(server, "alice", sign(emptySigner, claims("alice", 600), Poco::JWT::Signer::ALGO_HS256), "bad token signature");
		}
		{
			ServerProcess server(settings({{"plugins.auth-jwt.secretFile", ""}, {"plugins.auth-jwt.publicKeyFile", _dir + "ec.pem"},
				{"plugins.auth-jwt.algorithm", "ES256"}}));
			CPPUNIT_ASSERT(server.connect()->login("alice", sign(ecSigner, claims("alice", 600), Poco::JWT::Signer::ALGO_ES256)).result() == ProtocolStatus::OK);
			assertRefused(server, "alice", sign(rsaSigner, claims("alice", 600), Poco::JWT::Signer::ALGO_RS256), "bad token signature");
		}
	}

	void testAnonymousCannotBypass()
	{
		ServerProcess server(settings({{"auth.allowAnonymous", "true"}}));
		CPPUNIT_ASSERT(server.connect()->login("alice", "").result() == ProtocolStatus::AUTH_FAILED);
	}

	void testStartupErrors()
	{
		const std::string plugin = "plugin auth-jwt (" + std::string(IMGATE_PLUGIN_DIR) + "/auth-jwt.so): configuration: ";
		const std::pair<std::string, std::string> cases[] = {
			{"", "secret, secretFile or publicKeyFile: set exactly one of them"},
			{"plugins.auth-jwt.secretFile = " + _dir + "missing.secret\n", "secretFile: cannot read " + _dir + "missing.secret"},
			{"plugins.auth-jwt.secret = short\n", "secret: an HS256 secret needs at least 32 bytes"},
			{"plugins.auth-jwt.secretFile = " + _secretFile + "\nplugins.auth-jwt.leeway = -1\n", "leeway: expected a whole number from 0 to 3600, got -1"},
			{"plugins.auth-jwt.secretFile = " + _secretFile + "\nplugins.auth-jwt.leeway = soon\n", "leeway: expected a whole number from 0 to 3600, got \"soon\""},
			{"plugins.auth-jwt.secretFile = " + _secretFile + "\nplugins.auth-jwt.requireExp = perhaps\n", "requireExp: expected true or false, got \"perhaps\""},
			{"plugins.auth-jwt.publicKeyFile = " + _secretFile + "\nplugins.auth-jwt.algorithm = HS256\n", "algorithm: HS256 takes secret or secretFile; publicKeyFile is for RS256 and ES256"},
			{"plugins.auth-jwt.secretFile = " + _secretFile + "\nplugins.auth-jwt.algorithm = RS256\n", "algorithm: RS256 needs publicKeyFile; secret and secretFile are for HS256"},
			{"plugins.auth-jwt.publicKeyFile = " + _dir + "missing.pem\n", "publicKeyFile: cannot read " + _dir + "missing.pem"},
			{"plugins.auth-jwt.publicKeyFile = " + _secretFile + "\nplugins.auth-jwt.algorithm = ES256\n", "publicKeyFile: not a PEM EC public key: "},
			{"plugins.auth-jwt.publicKeyFile = " + _secretFile + "\nplugins.auth-jwt.algorithm = PS512\n", "algorithm: expected HS256, RS256 or ES256, got \"PS512\""}
		};
		for (const auto& c: cases)
		{
			std::string path = _dir + "imgate.properties";
			ServerProcess::writeFile(path, "server.address = 127.0.0.1\nserver.port = 0\nplugins.dir = " + std::string(IMGATE_PLUGIN_DIR)
				+ "\nplugins.load = auth-jwt\n" + c.first);
			std::string out;
			CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + path}, out));
			CPPUNIT_ASSERT_MESSAGE(out, out.find(plugin + c.second) != std::string::npos);
		}
	}

private:
	std::string _dir;
	std::string _secretFile;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthJwtTest);
