//
// RateLimitFilter.cpp
//
// Plugin: ratelimit
//

#include "plugins/ratelimit/RateLimitFilter.h"
#include "imgate/Address.h"
#include "imgate/Command.h"
#include "imgate/Config.h"
#include <sstream>

namespace imgate {
namespace ratelimit {

namespace {

Rate rate(const Poco::Util::AbstractConfiguration& config, const std::string& rateKey, double rateDefault, const std::string& burstKey, double burstDefault)
	/// A burst below 1 would refuse everything: a bucket gives whole tokens.
{
	return Rate{config::number(config, rateKey, rateDefault, 0.001, 1e9), config::number(config, burstKey, burstDefault, 1, 1e9)};
}

std::string text(const Rate& rate)
{
	std::ostringstream out;
	out << rate.perSecond << "/s (burst " << rate.burst << ")";
	return out.str();
}

} // namespace


struct RateLimitFilter::Limits
	/// What the hooks read on every frame: an immutable snapshot.
{
	Rate messages;
	Rate groupMessages;
	Rate frames;
	unsigned banAfter = 20;
	unsigned banSeconds = 60;
};


namespace {

struct Settings
{
	RateLimitFilter::Limits limits;
	Rate connects;
	Rate logins;
	std::size_t maxTrackedIps = 100000;
};


Settings read(const Poco::Util::AbstractConfiguration& config)
	/// Throws Poco::InvalidArgumentException naming a bad key.
{
	Settings s;
	s.limits.messages = rate(config, "messagesPerSecond", 50, "burst", 100);
	s.limits.groupMessages = rate(config, "groupMessagesPerSecond", 10, "groupBurst", 20);
	s.limits.frames = rate(config, "framesPerSecond", 200, "frameBurst", 400);
	s.connects = rate(config, "connectsPerSecondPerIp", 20, "connectBurst", 40);
	s.logins = rate(config, "loginsPerSecondPerIp", 5, "loginBurst", 10);
	s.limits.banAfter = static_cast<unsigned>(config::integer(config, "banAfter", 20, 0, 1000000));
	s.limits.banSeconds = static_cast<unsigned>(config::integer(config, "banSeconds", 60, 1, 86400 * 7));
	s.maxTrackedIps = static_cast<std::size_t>(config::integer(config, "maxTrackedIps", 100000, 16, 100000000));
	return s;
}


struct SessionBuckets: SlotData
{
	TokenBucket frames;
	TokenBucket messages;
	TokenBucket groupMessages;
	unsigned refusals = 0;
};

} // namespace


RateLimitFilter::RateLimitFilter():
	RateLimitFilter(Clock::monotonic())
{
}


RateLimitFilter::RateLimitFilter(const Clock& clock):
	_clock(clock),
	_logger(Poco::Logger::get("imgate.plugin.ratelimit"))
{
}


RateLimitFilter::~RateLimitFilter()
{
}


void RateLimitFilter::initialize(const Poco::Util::AbstractConfiguration& config)
{
	const Settings s = read(config);
	publish(s.limits);
	_maxTrackedIps = s.maxTrackedIps;
	_pConnects.reset(new RateTable(s.connects, s.maxTrackedIps));
	_pLogins.reset(new RateTable(s.logins, s.maxTrackedIps));
}


bool RateLimitFilter::reconfigure(const Poco::Util::AbstractConfiguration& config)
{
	const Settings s = read(config); // throws before anything changes
	if (s.maxTrackedIps != _maxTrackedIps) return false; // the tables' size needs a restart: apply nothing
	publish(s.limits);
	_pConnects->setRate(s.connects);
	_pLogins->setRate(s.logins);
	_logger.information("new limits: " + text(s.limits.messages) + " messages, " + text(s.limits.groupMessages) + " group messages, "
		+ text(s.limits.frames) + " frames, "
		+ text(s.connects) + " connects per address, " + text(s.logins) + " logins per address; ban after "
		+ std::to_string(s.limits.banAfter) + " refusals for " + std::to_string(s.limits.banSeconds) + " s");
	return true;
}


Verdict RateLimitFilter::onAccept(const PeerInfo& peer)
{
	RateTable::Result r = _pConnects->take(addressBlock(peer.address), _clock.microseconds());
	if (r.allowed) return Verdict::proceed();
	if (escalates(r.refusals)) return ban("connection flood from " + peer.address);
	return Verdict::reject(Status::RATE_LIMITED, "too many connections from this address");
}


Verdict RateLimitFilter::onLogin(const LoginInfo& login, SessionSlot&)
{
	RateTable::Result r = _pLogins->take(addressBlock(login.peer.address), _clock.microseconds());
	if (r.allowed) return Verdict::proceed();
	if (escalates(r.refusals)) return ban("login flood from " + login.peer.address);
	return Verdict::reject(Status::RATE_LIMITED, "too many login attempts from this address");
}


Verdict RateLimitFilter::onFrame(const FrameInfo& frame, SessionSlot& slot)
{
	SessionBuckets* pBuckets = slot.as<SessionBuckets>();
	if (!pBuckets)
	{
		slot.set(std::unique_ptr<SlotData>(new SessionBuckets));
		pBuckets = slot.as<SessionBuckets>();
	}
	const Limits& limits = *_pLimits.load(std::memory_order_acquire);
	const std::int64_t now = _clock.microseconds();
	bool allowed = pBuckets->frames.take(limits.frames, now);
	const char* what = "too many frames";
	if (allowed && frame.command() == Command::MSG_SEND)
	{
		// A group message is one send, however many members it reaches:
		// one message token, and one of the group bucket; a send either
		// bucket refuses takes neither.
		allowed = pBuckets->messages.take(limits.messages, now);
		what = "too many messages";
		if (allowed && frame.pToGroup && !pBuckets->groupMessages.take(limits.groupMessages, now))
		{
			pBuckets->messages.giveBack(limits.messages);
			allowed = false;
			what = "too many group messages";
		}
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


void RateLimitFilter::publish(const Limits& limits)
{
	Poco::FastMutex::ScopedLock lock(_publishMutex);
	_history.emplace_back(new Limits(limits));
	_pLimits.store(_history.back().get(), std::memory_order_release);
}


bool RateLimitFilter::escalates(unsigned refusals) const
{
	// Every banAfter-th refusal in a row: once per episode when a
	// blacklist records the ban, and a bounded log rate when none does.
	const unsigned banAfter = _pLimits.load(std::memory_order_acquire)->banAfter;
	return banAfter > 0 && refusals % banAfter == 0;
}


Verdict RateLimitFilter::ban(const std::string& reason)
{
	const Limits& limits = *_pLimits.load(std::memory_order_acquire);
	_logger.warning("%s: %u refusals in a row, banning for %u s", reason, limits.banAfter, limits.banSeconds);
	return Verdict::ban(Status::BANNED, limits.banSeconds, "rate limit exceeded repeatedly");
}

} } // namespace imgate::ratelimit
