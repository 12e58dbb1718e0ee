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
#include "plugins/blacklist/Clock.h"
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
	/// Bans expire by the Clock given to the constructor (the monotonic
	/// clock in the plugin; unit tests pass one they move and call watch()
	/// for a watcher turn, without start()).
	///
	/// Threads and locks (which mutex guards which field):
	///   - _pBans, _pAllow, _pListed: immutable snapshots swapped with
	///     atomic_store, so the hooks never lock for them. _pBans and
	///     _pAllow are swapped by checkFiles() (the watcher, SIGHUP),
	///     _pListed by rebuildListed() under _listedMutex.
	///   - _filesMutex guards _banFile and _allowFile (checkFiles() runs on
	///     the watcher and, for SIGHUP, on the main thread).
	///   - _listedMutex guards _listed (the admin API's ban-list lines),
	///     written by record(), lift() and pruneListed(), which the
	///     watcher runs every turn and a hook runs once the earliest timed
	///     line is due (expireListed()), so a timed ban ends on time.
	///     _listedExpiry (that earliest expiry) is atomic, written only
	///     under _listedMutex and read by the hooks without it.
	///   - _temporaryMutex guards _bannedAddresses and _bannedUids, written
	///     by record(), lift(), the watcher's pruneExpired() and the hooks
	///     too: temporarilyBanned() erases an expired entry it meets.
	///   - Both taken: _listedMutex first. Neither is held while calling
	///     the Host or a list() visitor.
	///   - _reloadInterval and _maxTemporaryBans are written by
	///     initialize() only, _pHost by start() only: before any hook runs
	///     and before the watcher starts.
{
public:
	BlacklistFilter();
		/// Bans expire by Clock::monotonic().

	explicit BlacklistFilter(const Clock& clock);
		/// Bans expire by clock, which must outlive the filter.

	~BlacklistFilter() override;
		/// stop().

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

	void watch();
		/// One turn of the watcher: re-reads a changed file, drops expired
		/// temporary bans (one line when there were any:
		/// "temporary bans expired: N (M in force)") and expired listed ones ("ban LINE expired"). The
		/// watcher thread runs it every reloadInterval seconds.

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
		Poco::Int64 until = 0; /// Clock microseconds; in force while now < until.
		std::string reason;
		std::string origin;
	};
	struct ListedBan
		/// A ban from the admin API kept as a ban-list line ("ip 10.0.0.0/8",
		/// "uid mallory"): a CIDR block, or a ban until lifted.
	{
		bool untilLifted = true;
		Poco::Int64 until = 0; /// Clock microseconds, if !untilLifted.
		std::string reason;
		std::string origin;
	};
	using TemporaryBans = std::unordered_map<std::string, TemporaryBan>;

	bool temporarilyBanned(TemporaryBans& bans, const std::string& key);
		/// Whether key is banned now; erases its entry if it has expired.
		/// Takes _temporaryMutex.
	void recordTemporary(TemporaryBans& bans, const std::string& key, const BanRequest& request, Poco::Int64 until);
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
		/// Drops expired temporary bans. Takes _temporaryMutex.

	const Clock& _clock;
	Poco::Logger& _logger;
	WatchedFile _banFile;
	WatchedFile _allowFile;
	std::shared_ptr<const BanList> _pBans;   /// atomic_load / atomic_store
	std::shared_ptr<const BanList> _pAllow;  /// null: no allow list
	unsigned _reloadInterval = 2;
	std::size_t _maxTemporaryBans = 100000;
	Poco::FastMutex _filesMutex;      /// Guards _banFile and _allowFile.
	mutable Poco::FastMutex _listedMutex;    /// Guards _listed. Before _temporaryMutex when both are taken.
	mutable Poco::FastMutex _temporaryMutex; /// Guards _bannedAddresses and _bannedUids.
	std::atomic<Poco::Int64> _listedExpiry; /// Earliest expiry of a timed listed ban (clock microseconds), or the maximum. Written under _listedMutex.
	TemporaryBans _bannedAddresses; /// address block (imgate/Address.h) -> expiry; _temporaryMutex
	TemporaryBans _bannedUids;      /// uid -> expiry; _temporaryMutex
	std::map<std::string, ListedBan> _listed;  /// ban-list line -> ban (admin API: CIDR blocks, bans until lifted); _listedMutex
	std::shared_ptr<const BanList> _pListed;   /// _listed as a BanList; atomic_load / atomic_store
	Host* _pHost = nullptr;
	Poco::RunnableAdapter<BlacklistFilter> _runnable;
	Poco::Thread _thread;
	Poco::Event _stop;
};

} } // namespace imgate::blacklist

#endif // imgate_blacklist_BlacklistFilter_INCLUDED
