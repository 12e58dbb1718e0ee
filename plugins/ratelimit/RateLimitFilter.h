//
// RateLimitFilter.h
//
// Plugin: ratelimit
// Token buckets per session (frames, messages) and per IP address
// (connections, login attempts); repeated abuse escalates to a ban.
//

#ifndef imgate_ratelimit_RateLimitFilter_INCLUDED
#define imgate_ratelimit_RateLimitFilter_INCLUDED

#include "imgate/Filter.h"
#include "plugins/ratelimit/Clock.h"
#include "plugins/ratelimit/RateTable.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include <atomic>
#include <memory>
#include <vector>

namespace imgate {
namespace ratelimit {

class RateLimitFilter: public Filter
	/// Settings (plugins.ratelimit.*), rates per second, bursts in tokens:
	///   messagesPerSecond = 50      burst = 100             MSG_SEND per session
	///   groupMessagesPerSecond = 10 groupBurst = 20         MSG_SEND to a group per session
	///                               (a group send also takes a message token: once, not per member)
	///   framesPerSecond = 200       frameBurst = 400        every frame per session
	///   connectsPerSecondPerIp = 20 connectBurst = 40       new connections per address
	///   loginsPerSecondPerIp = 5    loginBurst = 10         LOGIN attempts per address
	///   banAfter = 20     refusals in a row that escalate to a ban (0: never)
	///   banSeconds = 60   length of that ban (recorded by the blacklist plugin)
	///   maxTrackedIps = 100000      bound on per-address state
	/// An IPv6 peer is limited by its /64, an IPv4-mapped one as its IPv4
	/// address. SIGHUP (reconfigure) applies every setting but
	/// maxTrackedIps live.
	///
	/// Buckets refill by the Clock given to the constructor (the monotonic
	/// clock in the plugin; unit tests pass one they move).
	///
	/// Threads: the per-session buckets live in the session's SessionSlot
	/// (its loop thread only); the per-address tables are RateTables
	/// (locked shards); the limits the hooks read are an immutable
	/// snapshot behind an atomic pointer, replaced by reconfigure() under
	/// _publishMutex.
{
public:
	RateLimitFilter();
		/// Buckets refill by Clock::monotonic().

	explicit RateLimitFilter(const Clock& clock);
		/// Buckets refill by clock, which must outlive the filter.

	~RateLimitFilter() override;

	void initialize(const Poco::Util::AbstractConfiguration& config) override;
		/// Throws Poco::InvalidArgumentException naming a bad key.
	bool reconfigure(const Poco::Util::AbstractConfiguration& config) override;
		/// False, applying nothing, if maxTrackedIps changed.
	Verdict onAccept(const PeerInfo& peer) override;
	Verdict onLogin(const LoginInfo& login, SessionSlot& slot) override;
	Verdict onFrame(const FrameInfo& frame, SessionSlot& slot) override;

	struct Limits;
		/// The per-session limits and the escalation settings: what the
		/// hooks read on every frame (RateLimitFilter.cpp).

private:

	void publish(const Limits& limits);
		/// Makes limits the hooks' snapshot. Earlier snapshots stay alive
		/// (a hook may still read one); a few dozen bytes per reload.
	bool escalates(unsigned refusals) const;
	Verdict ban(const std::string& reason);

	const Clock& _clock;
	Poco::Logger& _logger;
	Poco::FastMutex _publishMutex; /// Guards _history.
	std::vector<std::unique_ptr<const Limits>> _history;
	std::atomic<const Limits*> _pLimits{nullptr};
	std::unique_ptr<RateTable> _pConnects;
	std::unique_ptr<RateTable> _pLogins;
	std::size_t _maxTrackedIps = 100000;
};

} } // namespace imgate::ratelimit

#endif // imgate_ratelimit_RateLimitFilter_INCLUDED
