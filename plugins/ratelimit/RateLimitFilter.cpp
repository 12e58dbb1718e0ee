//
// RateLimitFilter.cpp
//
// Plugin: ratelimit
// Token buckets per session (frames, messages) and per IP address
// (connections, login attempts); repeated abuse escalates to a ban.
//
// Settings (plugins.ratelimit.*), rates per second, bursts in tokens:
//   messagesPerSecond = 50      burst = 100             MSG_SEND per session
//   framesPerSecond = 200       frameBurst = 400        every frame per session
//   connectsPerSecondPerIp = 20 connectBurst = 40       new connections per address
//   loginsPerSecondPerIp = 5    loginBurst = 10         LOGIN attempts per address
//   banAfter = 20     refusals in a row that escalate to a ban (0: never)
//   banSeconds = 60   length of that ban (recorded by the blacklist plugin)
//   maxTrackedIps = 100000      bound on per-address state
//

#include "plugins/ratelimit/RateTable.h"
#include "imgate/Plugin.h"
#include "Poco/Logger.h"
#include "Poco/Timestamp.h"
#include <memory>

namespace imgate {
namespace ratelimit {

namespace {

constexpr std::uint16_t MSG_SEND = 0x0010;

std::int64_t nowMicros()
{
	return Poco::Timestamp().epochMicroseconds();
}

double positive(const Poco::Util::AbstractConfiguration& config, const std::string& key, double fallback)
{
	double value = config.getDouble(key, fallback);
	if (!(value > 0) || value > 1e9)
		throw Poco::InvalidArgumentException(key + ": expected a number above 0, got " + config.getString(key, ""));
	return value;
}

struct SessionBuckets: SlotData
{
	TokenBucket frames;
	TokenBucket messages;
	unsigned refusals = 0;
};

} // namespace


class RateLimitFilter: public Filter
{
public:
	RateLimitFilter():
		_logger(Poco::Logger::get("imgate.plugin.ratelimit"))
	{
	}

	void initialize(const Poco::Util::AbstractConfiguration& config) override
	{
		_messages.perSecond = positive(config, "messagesPerSecond", 50);
		_messages.burst = positive(config, "burst", 100);
		_frames.perSecond = positive(config, "framesPerSecond", 200);
		_frames.burst = positive(config, "frameBurst", 400);
		Rate connects{positive(config, "connectsPerSecondPerIp", 20), positive(config, "connectBurst", 40)};
		Rate logins{positive(config, "loginsPerSecondPerIp", 5), positive(config, "loginBurst", 10)};
		int banAfter = config.getInt("banAfter", 20);
		int banSeconds = config.getInt("banSeconds", 60);
		int maxIps = config.getInt("maxTrackedIps", 100000);
		if (banAfter < 0) throw Poco::InvalidArgumentException("banAfter: expected 0 or more, got " + std::to_string(banAfter));
		if (banSeconds < 1 || banSeconds > 86400 * 7) throw Poco::InvalidArgumentException("banSeconds: expected 1 to 604800, got " + std::to_string(banSeconds));
		if (maxIps < 16) throw Poco::InvalidArgumentException("maxTrackedIps: expected at least 16, got " + std::to_string(maxIps));
		_banAfter = static_cast<unsigned>(banAfter);
		_banSeconds = static_cast<unsigned>(banSeconds);
		_pConnects.reset(new RateTable(connects, static_cast<std::size_t>(maxIps)));
		_pLogins.reset(new RateTable(logins, static_cast<std::size_t>(maxIps)));
	}

	Verdict onAccept(const PeerInfo& peer) override
	{
		RateTable::Result r = _pConnects->take(peer.address, nowMicros());
		if (r.allowed) return Verdict::proceed();
		if (escalates(r.refusals)) return ban("connection flood from " + peer.address);
		return Verdict::reject(Status::RATE_LIMITED, "too many connections from this address");
	}

	Verdict onLogin(const LoginInfo& login, SessionSlot&) override
	{
		RateTable::Result r = _pLogins->take(login.peer.address, nowMicros());
		if (r.allowed) return Verdict::proceed();
		if (escalates(r.refusals)) return ban("login flood from " + login.peer.address);
		return Verdict::reject(Status::RATE_LIMITED, "too many login attempts from this address");
	}

	Verdict onFrame(const FrameInfo& frame, SessionSlot& slot) override
	{
		SessionBuckets* pBuckets = slot.as<SessionBuckets>();
		if (!pBuckets)
		{
			slot.set(std::unique_ptr<SlotData>(new SessionBuckets));
			pBuckets = slot.as<SessionBuckets>();
		}
		const std::int64_t now = nowMicros();
		bool allowed = pBuckets->frames.take(_frames, now);
		const char* what = "too many frames";
		if (allowed && frame.cmd == MSG_SEND)
		{
			allowed = pBuckets->messages.take(_messages, now);
			what = "too many messages";
		}
		if (allowed)
		{
			pBuckets->refusals = 0;
			return Verdict::proceed();
		}
		if (escalates(++pBuckets->refusals))
			return ban(std::string(what) + " from uid " + (frame.pUid ? *frame.pUid : std::string("(not logged in)")));
		return Verdict::reject(Status::RATE_LIMITED, what);
	}

private:
	bool escalates(unsigned refusals) const
	{
		return _banAfter > 0 && refusals >= _banAfter;
	}

	Verdict ban(const std::string& reason)
	{
		_logger.warning("%s: %u refusals in a row, banning for %u s", reason, _banAfter, _banSeconds);
		return Verdict::ban(Status::BANNED, _banSeconds, "rate limit exceeded repeatedly");
	}

	Poco::Logger& _logger;
	Rate _messages;
	Rate _frames;
	std::unique_ptr<RateTable> _pConnects;
	std::unique_ptr<RateTable> _pLogins;
	unsigned _banAfter = 20;
	unsigned _banSeconds = 60;
};

} } // namespace imgate::ratelimit


IMGATE_PLUGIN(imgate::ratelimit::RateLimitFilter)
