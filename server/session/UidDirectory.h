//
// UidDirectory.h
//
// Layer: session
// The one map shared by all loops: which session a logged-in uid has.
//

#ifndef imgate_session_UidDirectory_INCLUDED
#define imgate_session_UidDirectory_INCLUDED

#include "server/session/SessionRef.h"
#include "Poco/Mutex.h"
#include <array>
#include <string>
#include <unordered_map>

namespace imgate {
namespace session {

class UidDirectory
	/// Thread-safe, sharded by uid hash; no lock is held across calls, so
	/// callers never do I/O under it.
	///
	/// Takeover rule (one session per uid, without ping-pong): a LOGIN for
	/// an online uid takes over, and the displaced session's device is
	/// remembered. If that same device logs in again within the takeover
	/// guard while the uid is online on a different device, the claim is
	/// refused (retryInMs says for how long); a login from the current
	/// device (a reconnect) or any third device always takes over. So two
	/// clients that both keep reconnecting alternate at most once per guard
	/// period instead of kicking each other in a tight loop.
{
public:
	struct Claim
	{
		bool refused = false;
		SessionRef previous;     /// The session to kick, if any.
		Poco::Int64 retryInMs = 0; /// When refused.
	};

	explicit UidDirectory(Poco::Int64 takeoverGuardMs);

	Claim claim(const std::string& uid, const SessionRef& session, const std::string& device, Poco::Int64 nowMs);
		/// Makes session the uid's session unless refused by the takeover rule.

	bool release(const std::string& uid, const SessionRef& session);
		/// Removes the uid's entry if it still names session. Returns whether it did.

	SessionRef find(const std::string& uid) const;
		/// The uid's session, or an invalid ref if offline.

	std::size_t size() const;
		/// Uids online.

private:
	struct Entry
		/// Devices are kept as hashes: the rule only compares them, and an
		/// online uid then costs no strings beyond its key.
	{
		SessionRef session;
		std::size_t device = 0;
		std::size_t displacedDevice = 0;
		Poco::Int64 displacedAtMs = 0;
		bool displaced = false;
	};
	struct Shard
	{
		mutable Poco::FastMutex mutex;  /// Guards entries; held only for the map operation.
		std::unordered_map<std::string, Entry> entries;
	};
	static constexpr std::size_t SHARDS = 16;

	Shard& shardOf(const std::string& uid) const;

	const Poco::Int64 _guardMs;
	mutable std::array<Shard, SHARDS> _shards;
};

} } // namespace imgate::session

#endif // imgate_session_UidDirectory_INCLUDED
