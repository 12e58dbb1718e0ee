//
// FilterChain.h
//
// Layer: plugin
// Runs the loaded filters in plugins.load order; the first stopping
// verdict ends the chain. Shields the server from exceptions in hooks.
//

#ifndef imgate_plugin_FilterChain_INCLUDED
#define imgate_plugin_FilterChain_INCLUDED

#include "imgate/Filter.h"
#include "Poco/Logger.h"
#include "server/metrics/Counter.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace plugin {

class LegacyBanStore;
class PluginHost;


class SessionSlots
	/// One SessionSlot per filter for one session, allocated on first use
	/// (an idle session without plugin state costs one pointer).
{
public:
	SessionSlot& at(std::size_t index, std::size_t count);

private:
	std::unique_ptr<SessionSlot[]> _pSlots;
};


class FilterChain
	/// Immutable after construction; every member is safe from any thread
	/// (the filters themselves promise that, see Filter.h).
	///
	/// A hook that throws fails only its request: the chain returns
	/// reject(INTERNAL) and logs the plugin's name and the error.
{
public:
	FilterChain();
		/// An empty chain.

	explicit FilterChain(const PluginHost& host);

	std::size_t size() const;
	bool empty() const;

	bool hasAuthenticator() const;
		/// A loaded filter authenticates logins.

	Verdict onAccept(const PeerInfo& peer) const;

	Verdict onLogin(const LoginInfo& login, SessionSlots& slots, bool& authenticated) const;
		/// authenticated is set if a filter returned Verdict::authenticated().

	Verdict onFrame(const FrameInfo& frame, SessionSlots& slots) const;

	void onClose(const SessionInfo& session, SessionSlots& slots) const;
		/// Every filter sees the close, also after another one threw.

	void start(Host& host) const;
		/// Filter::start() on every filter, in order. Throws what a filter
		/// throws (a start-up error), naming the plugin.

	void stop() const;
		/// Filter::stop() on every filter, in reverse order; errors are logged.

	void reload() const;
		/// Filter::reload() on every filter; errors are logged.

	enum Reconfigured
	{
		RECONFIGURED,   /// Applied live.
		NEEDS_RESTART,  /// The plugin cannot apply (all of) it live, or is built for API 1.0.
		REFUSED         /// A bad value: error says which key; nothing applied.
	};

	Reconfigured reconfigure(const std::string& name, const std::map<std::string, std::string>& settings, std::string& error) const;
		/// Filter::reconfigure() of plugin name with its new keys (without
		/// the "plugins.NAME." prefix). Main thread.

	// Bans. A plugin keeps bans through its ban store: the BanStore its
	// banStore() returns (API 1.2+), or a LegacyBanStore over its 1.1
	// hooks. Any thread; a store's or hook's exception is logged and
	// counts as "not held".

	void ban(const BanRequest& request) const;
		/// Hands request to every filter: BanStore::record() of a plugin
		/// with a ban store, Filter::onBan() of the others. A ban only the
		/// admin API asks for (a CIDR block, or seconds = 0: until lifted)
		/// goes only to plugins built for API 1.1 or later.

	bool recordBan(const BanRequest& request) const;
		/// As ban(), and returns whether a ban store holds the ban now.

	bool recordsBans() const;
		/// A plugin has a ban store.

	bool unban(const BanRequest& request) const;
		/// BanStore::lift() of every ban store; whether one lifted a ban.

	std::vector<BanRequest> listBans() const;
		/// BanStore::list() of every ban store, in plugin order.

	static bool isAdminOnlyBan(const BanRequest& request);

	static BanRequest copyBan(const BanRequest& ban, unsigned apiVersion);
		/// The fields of ban that a plugin built for apiVersion knows (a
		/// plugin's BanRequest may be older, and shorter, than ours); the
		/// others keep their defaults.

	static constexpr unsigned API_1_1 = (1u << 16) | 1u;
	static constexpr unsigned API_1_2 = (1u << 16) | 2u;

	static bool asksForBan(const Verdict& verdict);
		/// A BAN verdict with a duration.

	enum VerdictKind
	{
		/// A verdict counts under its action.
		VERDICT_PROCEED = Verdict::PROCEED,
		VERDICT_AUTHENTICATED = Verdict::AUTHENTICATED,
		VERDICT_REJECT = Verdict::REJECT,
		VERDICT_BAN = Verdict::BAN,
		VERDICT_ERROR,  /// The hook threw.
		VERDICT_KINDS
	};

	static const char* verdictName(std::size_t kind);
		/// "proceed", "authenticated", "reject", "ban", "error".

	const std::string& pluginName(std::size_t index) const;

	Poco::UInt64 verdictCount(std::size_t index, std::size_t kind) const;
		/// Verdicts plugin index returned from onAccept, onLogin and onFrame
		/// since start, summed over the threads that asked. Any thread.

	static BanRequest banRequest(const Verdict& verdict, const std::string& address, const std::string& uid);
		/// The ban a BAN verdict asks for, of address and (if not empty)
		/// uid, with the verdict's duration and message, origin "filter
		/// verdict".

private:
	struct alignas(64) VerdictRow
		/// One thread slot's counts (metrics::ThreadSlot): one writer each.
	{
		metrics::Counter counts[VERDICT_KINDS];
	};
	struct Entry
	{
		Filter* pFilter;
		std::string name;
		unsigned apiVersion; /// (major << 16) | minor: a hook added in 1.N runs only for plugins built for 1.N or later.
		Poco::Logger* pLogger;
		std::shared_ptr<VerdictRow> pVerdicts; /// metrics::ThreadSlot::ROWS rows.
		BanStore* pBanStore; /// The plugin's ban store (its own, or pLegacyBans), or null.
		std::shared_ptr<LegacyBanStore> pLegacyBans; /// Owns the adapter of a plugin keeping bans through the 1.1 hooks.
	};

	bool deliverBan(const BanRequest& request, bool answer) const;
		/// ban() and, with answer, recordBan(): a plugin's 1.1 hooks are
		/// asked whether they hold the ban (a listing) only then.

	void count(const Entry& e, std::size_t kind) const;

	template <class Hook>
	Verdict run(const char* hookName, Hook&& hook) const;

	template <class Call>
	void guarded(const Entry& e, const char* hookName, Call&& call) const;
		/// call(filter); an exception is logged as "HOOK failed: ..." and
		/// goes no further.

	std::vector<Entry> _entries;
	bool _hasAuthenticator = false;
};


inline std::size_t FilterChain::size() const
{
	return _entries.size();
}


inline bool FilterChain::empty() const
{
	return _entries.empty();
}


inline bool FilterChain::hasAuthenticator() const
{
	return _hasAuthenticator;
}

} } // namespace imgate::plugin

#endif // imgate_plugin_FilterChain_INCLUDED
