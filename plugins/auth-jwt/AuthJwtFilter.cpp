//
// AuthJwtFilter.cpp
//
// Plugin: auth-jwt
// An authenticator: a LOGIN needs a valid JWT whose sub is the uid.
//
// Settings (plugins.auth-jwt.*), exactly one of secret / secretFile /
// publicKeyFile:
//   secret = TEXT            HS256 shared secret (prefer secretFile)
//   secretFile = PATH        HS256 shared secret, read at start-up (trailing newline ignored)
//   publicKeyFile = PATH     PEM public key for RS256 (default) or ES256
//   algorithm = HS256|RS256|ES256
//   leeway = 30              seconds of clock skew allowed for exp / nbf
//   requireExp = true
//   maxLifetime = 86400      seconds exp may be past iat (or now); 0: no limit
//   issuer = TEXT            iss must equal it
//   audience = TEXT          aud must contain it
//

#include "plugins/auth-jwt/JwtVerifier.h"
#include "plugins/auth-jwt/LogBudget.h"
#include "imgate/Config.h"
#include "imgate/Plugin.h"
#include "Poco/Clock.h"
#include "Poco/Logger.h"
#include "Poco/String.h"
#include <fstream>
#include <sstream>

namespace imgate {
namespace authjwt {

namespace {

std::string readFile(const std::string& key, const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in) throw Poco::InvalidArgumentException(key + ": cannot read " + path);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

} // namespace


class AuthJwtFilter: public Filter
{
public:
	enum
	{
		REFUSAL_LOG_LINES = 60 /// Refused logins logged per minute, across all loops.
	};

	AuthJwtFilter():
		_logger(Poco::Logger::get("imgate.plugin.auth-jwt")),
		_refusalLog(REFUSAL_LOG_LINES)
	{
	}

	void initialize(const Poco::Util::AbstractConfiguration& config) override
	{
		JwtVerifier::Options options;
		const bool hasSecret = config.has("secret");
		const bool hasSecretFile = config.has("secretFile");
		const bool hasKeyFile = config.has("publicKeyFile");
		if (int(hasSecret) + int(hasSecretFile) + int(hasKeyFile) != 1)
			throw Poco::InvalidArgumentException("secret, secretFile or publicKeyFile: set exactly one of them");
		if (hasKeyFile)
		{
			options.algorithm = config.getString("algorithm", "RS256");
			if (options.algorithm == "HS256")
				throw Poco::InvalidArgumentException("algorithm: HS256 takes secret or secretFile; publicKeyFile is for RS256 and ES256");
			options.publicKeyPem = readFile("publicKeyFile", config.getString("publicKeyFile"));
		}
		else
		{
			options.algorithm = config.getString("algorithm", "HS256");
			if (options.algorithm != "HS256")
				throw Poco::InvalidArgumentException("algorithm: " + options.algorithm + " needs publicKeyFile; secret and secretFile are for HS256");
			options.hmacSecret = hasSecret ? config.getString("secret") : Poco::trimRight(readFile("secretFile", config.getString("secretFile")));
			if (options.hmacSecret.size() < 32)
				throw Poco::InvalidArgumentException(std::string(hasSecret ? "secret" : "secretFile") + ": an HS256 secret needs at least 32 bytes");
		}
		options.leewaySeconds = static_cast<unsigned>(config::integer(config, "leeway", 30, 0, 3600));
		options.requireExp = config::boolean(config, "requireExp", true);
		options.maxLifetimeSeconds = static_cast<unsigned>(config::integer(config, "maxLifetime", 86400, 0, 31536000));
		options.issuer = config.getString("issuer", "");
		options.audience = config.getString("audience", "");
		_pVerifier.reset(new JwtVerifier(options));
		_logger.information("verifying %s tokens%s%s", options.algorithm,
			options.issuer.empty() ? std::string() : ", issuer " + options.issuer,
			options.audience.empty() ? std::string() : ", audience " + options.audience);
	}

	bool authenticates() const override
	{
		return true;
	}

	Verdict onLogin(const LoginInfo& login, SessionSlot&) override
	{
		JwtVerifier::Result result = _pVerifier->verify(login.token, login.uid);
		if (result == JwtVerifier::VALID) return Verdict::authenticated();
		// The reason is logged and told to the client; the token never is,
		// nor any of its claims: describe() is a fixed text per result, the
		// uid was checked by the server ([A-Za-z0-9_.@-]), the peer is the
		// socket's. Within a budget: a flood of bad tokens is one line each
		// until REFUSAL_LOG_LINES a minute (the server counts them all).
		const char* reason = JwtVerifier::describe(result);
		const LogBudget::Decision decision = _refusalLog.admit(Poco::Clock().microseconds());
		if (decision.omitted)
			_logger.information("%u more refused logins in the last minute were not logged (imgate_logins_total counts them all)", decision.omitted);
		if (decision.log)
		{
			_logger.information("login uid=%s peer=%s refused: %s%s", login.uid, login.peer.address, std::string(reason),
				std::string(decision.last ? " (more refused logins this minute are counted, not logged)" : ""));
		}
		return Verdict::reject(Status::AUTH_FAILED, std::string("authentication failed: ") + reason);
	}

private:
	Poco::Logger& _logger;
	std::unique_ptr<JwtVerifier> _pVerifier;
	LogBudget _refusalLog;
};

} } // namespace imgate::authjwt


IMGATE_PLUGIN(imgate::authjwt::AuthJwtFilter)
