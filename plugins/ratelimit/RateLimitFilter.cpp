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
// An IPv6 peer is limited by its /64, an IPv4-mapped one as its IPv4 address.
//

#include "plugins/ratelimit/RateTable.h"
#include "imgate/Address.h"
#include "imgate/Config.h"
#include "imgate/Plugin.h"
#include "Poco/Clock.h"
#include "Poco/Logger.h"
#include <memory>

namespace imgate {
namespace ratelimit {

namespace {

constexpr std::uint16_t MSG_SEND = 0x0010;

std::int64_t nowMicros()
	/// Monotonic: a wall-clock step must not refill or drain every bucket.
{
	return Poco::Clock().microseconds();
}

Rate rate(const Poco::Util::AbstractConfiguration& config, const std::string& rateKey, double rateDefault, const std::string& burstKey, double burstDefault)
	/// A burst below 1 would refuse everything: a bucket gives whole tokens.
{
	return Rate{config::number(config, rateKey, rateDefault, 0.001, 1e9), config::number(config, burstKey, burstDefault, 1, 1e9)};
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
		_messages = rate(config, "messagesPerSecond", 50, "burst", 100);
		_frames = rate(config, "framesPerSecond", 200, "frameBurst", 400);
		Rate connects = rate(config, "connectsPerSecondPerIp", 20, "connectBurst", 40);
		Rate logins = rate(config, "loginsPerSecondPerIp", 5, "loginBurst", 10);
		_banAfter = static_cast<unsigned>(config::integer(config, "banAfter", 20, 0, 1000000));
		_banSeconds = static_cast<unsigned>(config::integer(config, "banSeconds", 60, 1, 86400 * 7));
		const std::size_t maxIps = static_cast<std::size_t>(config::integer(config, "maxTrackedIps", 100000, 16, 100000000));
		_pConnects.reset(new RateTable(connects, maxIps));
		_pLogins.reset(new RateTable(logins, maxIps));
	}

	Verdict onAccept(const PeerInfo& peer) override
	{
		RateTable::Result r = _pConnects->take(addressBlock(peer.address), nowMicros());
		if (r.allowed) return Verdict::proceed();
		if (escalates(r.refusals)) return ban("connection flood from " + peer.address);
		return Verdict::reject(Status::RATE_LIMITED, "too many connections from this address");
	}

	Verdict onLogin(const LoginInfo& login, SessionSlot&) override
	{
		RateTable::Result r = _pLogins->take(addressBlock(login.peer.address), nowMicros());
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
		/// Every banAfter-th refusal in a row: once per episode when a
		/// blacklist records the ban, and a bounded log rate when none does.
	{
		return _banAfter > 0 && refusals % _banAfter == 0;
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
