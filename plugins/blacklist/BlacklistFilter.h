//
// BlacklistFilter.h
//
// Plugin: blacklist
// Refuses banned addresses at accept and banned uids at login; keeps the
// temporary bans other plugins ask for; reloads its files when they change.
//

#ifndef imgate_blacklist_BlacklistFilter_INCLUDED
#define imgate_blacklist_BlacklistFilter_INCLUDED

#include "imgate/Filter.h"
#include "plugins/blacklist/BanList.h"
#include "Poco/Clock.h"
#include "Poco/Event.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include "Poco/RunnableAdapter.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <memory>
#include <atomic>
#include <map>
#include <unordered_map>

namespace imgate {
namespace blacklist {

class BlacklistFilter: public Filter, public BanStore
	/// Settings (plugins.blacklist.*):
	///   file = PATH             the ban list (optional)
	///   allowFile = PATH        when set, only matching addresses may connect
	///   reloadInterval = 2      seconds between checks of the files' mtime/size
	///   maxTemporaryBans = 100000
	///
	/// Built for plugin API 1.2: the filter is its own ban store
	/// (banStore() returns this), which gets every ban in record().
	///
	/// The lists are immutable snapshots swapped atomically by the watcher
	/// thread, so the hooks never lock for them. The bans it keeps are
	/// locked maps: _temporaryMutex guards _bannedAddresses and
	/// _bannedUids, written by record(), lift(), the watcher's pruning and
	/// the hooks, which erase an expired entry they meet;
	/// _listedMutex guards _listed, written by record(), lift() and the
	/// pruning of expired entries (by the watcher, or by a hook once the
	/// earliest is due).
{
public:
	BlacklistFilter();
	~BlacklistFilter() override;

	void initialize(const Poco::Util::AbstractConfiguration& config) override;
	void start(Host& host) override;
	void stop() override;
	void reload() override;
	Verdict onAccept(const PeerInfo& peer) override;
	Verdict onLogin(const LoginInfo& login, SessionSlot& slot) override;
	BanStore* banStore() override;
		/// this.

	bool record(const BanRequest& request) override;
		/// A single address with a duration goes to the per-block table
		/// (imgate/Address.h: an IPv6 address's /64), a uid with a
		/// duration to the uid table; a CIDR block, or any ban until
		/// lifted, becomes a ban-list line in its canonical spelling
		/// ("ip 10.0.0.0/8", "uid mallory"). Kicks what it newly bans.
		/// False if the tables are full (maxTemporaryBans) or the address
		/// does not parse (logged).
	bool lift(const BanRequest& request) override;
	void list(const Visitor& visit) const override;

	void run();
		/// The watcher thread.

private:
	struct WatchedFile
	{
		std::string path;
		Poco::Timestamp modified;
		Poco::UInt64 size = 0;
		bool seen = false;
	};

	std::shared_ptr<const BanList> load(WatchedFile& file, bool atStartup);
		/// The parsed file, or null if it cannot be read (then the caller
		/// keeps the list in force). Throws at start-up.
	bool changed(WatchedFile& file);
	void checkFiles(bool force);
	struct TemporaryBan
	{
		Poco::Clock until;
		std::string reason;
		std::string origin;
	};
	struct ListedBan
		/// A ban from the admin API kept as a ban-list line ("ip 10.0.0.0/8",
		/// "uid mallory"): a CIDR block, or a ban until lifted.
	{
		bool untilLifted = true;
		Poco::Clock until;
		std::string reason;
		std::string origin;
	};
	using TemporaryBans = std::unordered_map<std::string, TemporaryBan>;

	bool temporarilyBanned(TemporaryBans& bans, const std::string& key);
	void recordTemporary(TemporaryBans& bans, const std::string& key, const BanRequest& request, const Poco::Clock& until);
		/// Caller holds _temporaryMutex.
	void rebuildListed();
		/// Parses _listed into a new _pListed snapshot and notes its earliest
		/// expiry. Caller holds _listedMutex (never taken by a hook but at
		/// that expiry).
	std::size_t heldBans() const;
		/// Caller holds _listedMutex and _temporaryMutex.
	void pruneListed();
		/// Drops expired listed bans. Takes _listedMutex.
	void expireListed();
		/// From the hooks: pruneListed() once the earliest listed ban is due,
		/// so a timed ban ends on time, not at the next watcher turn.
	void pruneExpired();

	Poco::Logger& _logger;
	WatchedFile _banFile;
	WatchedFile _allowFile;
	std::shared_ptr<const BanList> _pBans;   /// atomic_load / atomic_store
	std::shared_ptr<const BanList> _pAllow;  /// null: no allow list
	unsigned _reloadInterval = 2;
	std::size_t _maxTemporaryBans = 100000;
	Poco::FastMutex _filesMutex;      /// checkFiles() runs on the watcher and, for SIGHUP, the main thread.
	mutable Poco::FastMutex _listedMutex;    /// Before _temporaryMutex when both are taken.
	mutable Poco::FastMutex _temporaryMutex;
	std::atomic<Poco::Clock::ClockVal> _listedExpiry; /// Earliest expiry of a timed listed ban (raw clock), or the maximum.
	TemporaryBans _bannedAddresses; /// address block (imgate/Address.h) -> expiry
	TemporaryBans _bannedUids;      /// uid -> expiry
	std::map<std::string, ListedBan> _listed;  /// ban-list line -> ban (admin API: CIDR blocks, bans until lifted)
	std::shared_ptr<const BanList> _pListed;   /// _listed as a BanList; atomic_load / atomic_store
	Host* _pHost = nullptr;
	Poco::RunnableAdapter<BlacklistFilter> _runnable;
	Poco::Thread _thread;
	Poco::Event _stop;
};

} } // namespace imgate::blacklist

#endif // imgate_blacklist_BlacklistFilter_INCLUDED
