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
#include <memory>
#include <vector>
#include <array>
#include <atomic>
#include <string>
#include <unordered_map>

namespace imgate {
namespace session {

class UidDirectory
	/// Thread-safe, sharded by uid hash; no lock is held across calls, so
	/// callers never do I/O under it.
	///
	/// Under session.devicePolicy = single a uid has one session. Takeover
	/// rule (without ping-pong): a LOGIN for an online uid takes over, and
	/// the displaced session's device is remembered. If that same device
	/// logs in again within the takeover guard while the uid is online on a
	/// different device, the claim is refused (retryInMs says for how
	/// long); a login from the current device (a reconnect) or any third
	/// device always takes over. So two clients that both keep reconnecting
	/// alternate at most once per guard period instead of kicking each
	/// other in a tight loop.
	///
	/// Under perDevice a uid has one session per device, at most
	/// maxDevices: a LOGIN takes over only the session of its own device
	/// (a reconnect), and one device more than maxDevices is refused.
{
public:
	struct Claim
	{
		bool refused = false;      /// By the takeover guard (single).
		bool deviceLimit = false;  /// maxDevices sessions of other devices are online (perDevice).
		SessionRef previous;       /// The session to kick, if any.
		Poco::Int64 retryInMs = 0; /// When refused.
	};

	struct Member
		/// One online session of a uid.
	{
		SessionRef session;
		bool carbons = false;
	};

	explicit UidDirectory(Poco::Int64 takeoverGuardMs);

	Claim claim(const std::string& uid, const SessionRef& session, const std::string& device, Poco::Int64 nowMs);
		/// single: makes session the uid's session unless refused by the takeover rule.

	Claim claimDevice(const std::string& uid, const SessionRef& session, const std::string& device, bool carbons, std::size_t maxDevices);
		/// perDevice: makes session the session of (uid, device), unless
		/// maxDevices other devices of uid are online.

	bool release(const std::string& uid, const SessionRef& session);
		/// Removes session from the uid's sessions. Returns whether it was there.

	SessionRef find(const std::string& uid) const;
		/// One session of the uid (the first that logged in), or an invalid
		/// ref if offline.

	void sessions(const std::string& uid, std::vector<Member>& out) const;
		/// Appends every online session of uid.

	std::size_t size() const;
		/// Uids online.

	void uids(std::vector<std::string>& out) const;
		/// Appends every uid online (one shard locked at a time: a uid that
		/// logs in or out meanwhile may or may not be in it).

	std::size_t devices(const std::string& uid) const;
		/// The uid's online sessions.

	static constexpr std::size_t DEVICE_COUNT_SLOTS = 8;
		/// uidsWithDevices() counts 1 to 7 devices exactly, then 8 or more.

	Poco::Int64 uidsWithDevices(std::size_t devices) const;
		/// Uids online with that many sessions (1 to DEVICE_COUNT_SLOTS;
		/// the last slot counts that many or more). Kept as sessions come
		/// and go: reading it takes no lock.

private:
	struct Device
	{
		SessionRef session;
		std::size_t device = 0; /// Hash of the device name.
		bool carbons = false;
	};
	struct Entry
		/// Devices are kept as hashes: the rules only compare them, and an
		/// online uid then costs no strings beyond its key. The first
		/// session lives in the entry, its fields laid out so that the map
		/// node keeps round 1's malloc chunk (idle sessions stay within
		/// 512 B); more devices (perDevice) in pOthers.
	{
		SessionRef session;
		std::size_t device = 0;
		std::size_t displacedDevice = 0;
		Poco::Int64 displacedAtMs = 0;
		std::unique_ptr<std::vector<Device>> pOthers;
		bool displaced = false;
		bool carbons = false;

		Device first() const { return Device{session, device, carbons}; }
		void setFirst(const Device& d) { session = d.session; device = d.device; carbons = d.carbons; }
	};
	struct Shard
	{
		mutable Poco::FastMutex mutex;  /// Guards entries; held only for the map operation.
		std::unordered_map<std::string, Entry> entries;
	};
	static constexpr std::size_t SHARDS = 16;

	Shard& shardOf(const std::string& uid) const;
	void countDevices(std::size_t before, std::size_t after);
		/// A uid went from before to after online sessions (0: offline).

	const Poco::Int64 _guardMs;
	mutable std::array<Shard, SHARDS> _shards;
	std::array<std::atomic<Poco::Int64>, DEVICE_COUNT_SLOTS + 1> _uidsByDevices{}; /// [n]: uids with n sessions ([0] unused).
};

} } // namespace imgate::session

#endif // imgate_session_UidDirectory_INCLUDED
