//
// Filter.h
//
// imgate plugin SDK: the filter interface. A plugin is a shared library
// (NAME.so in plugins.dir) that defines one Filter subclass and ends with
// IMGATE_PLUGIN(Class) (see Plugin.h).
//

#ifndef imgate_Filter_INCLUDED
#define imgate_Filter_INCLUDED

#include "imgate/BanStore.h"
#include "imgate/Types.h"
#include "imgate/Verdict.h"
#include "Poco/Util/AbstractConfiguration.h"
#include <vector>

namespace imgate {

class Filter
	/// Base of every filter plugin.
	///
	/// Threads: onAccept() runs on the server's accept thread; every other
	/// hook runs on the event loop that owns the session, concurrently with
	/// the same hook for sessions of other loops. Hooks must return fast and
	/// never block (no disk or network I/O, no sleeping, no long locks):
	/// a slow hook stalls every session of its loop. Keep per-session state
	/// in the SessionSlot; shared state must be thread-safe.
	///
	/// Errors: an exception from a hook fails only that request (status
	/// INTERNAL) and is logged with the plugin's name; the server carries on.
{
public:
	virtual ~Filter();

	virtual void initialize(const Poco::Util::AbstractConfiguration& config) = 0;
		/// Called once at start-up with a copy of this plugin's keys
		/// (plugins.NAME.KEY appears as KEY). Throw
		/// Poco::InvalidArgumentException naming the bad key to stop the
		/// server start: "secretFile: cannot read /etc/x: ...".

	virtual void start(Host& host);
		/// After every plugin is initialized, before the first connection:
		/// start background threads here (not in initialize()), and keep
		/// host for later calls. Default: nothing.

	virtual void stop();
		/// At shutdown, after the last session closed: stop and join the
		/// threads start() began. Default: nothing.

	virtual void reload();
		/// SIGHUP: re-read whatever files the plugin uses (ban lists, keys);
		/// keep the old state if they cannot be read. Main thread. Default:
		/// nothing.

	virtual bool authenticates() const;
		/// True for a filter that authenticates logins: then no login is
		/// accepted without its Verdict::authenticated(), whatever
		/// auth.allowAnonymous says. Default: false.

	virtual Verdict onAccept(const PeerInfo& peer);
		/// A new connection, before any byte is read. Default: proceed.
		/// A stopping verdict closes the connection (see docs/plugins.md).

	virtual Verdict onLogin(const LoginInfo& login, SessionSlot& slot);
		/// A LOGIN with a valid uid. Default: proceed.

	virtual Verdict onFrame(const FrameInfo& frame, SessionSlot& slot);
		/// Every frame from the client, LOGIN included, before the server
		/// acts on it. For a MSG_SEND, plugins built for 1.3 or later also
		/// see its recipient (uid or group) and whether it is transient: a
		/// group message is one frame, however many members it reaches.
		/// Default: proceed.

	virtual void onClose(const SessionInfo& session, SessionSlot& slot);
		/// The connection closed. Default: nothing.

	virtual void onBan(const BanRequest& request);
		/// A ban was asked for: by a filter's Verdict::ban() (address and uid
		/// of that session), by Host::ban() or by the admin API. Any thread.
		/// Not called on a plugin with a BanStore (banStore()), which gets
		/// the ban in BanStore::record() instead. Default: nothing.

	// API 1.1: the admin API's bans. Superseded by banStore() (1.2), and
	// called only on plugins built for 1.1 (or on a later plugin without
	// a store whose recordsBans() is true: a 1.1 plugin rebuilt
	// unchanged), which the server wraps as a BanStore. Implement
	// banStore() instead.
	virtual bool recordsBans() const;
		/// True for a plugin that keeps bans (onBan()) and can lift and list
		/// them. Default: false.
	virtual bool onUnban(const BanRequest& request);
		/// Lifts this plugin's ban of request.address (written as it was
		/// banned: an address or a CIDR block) or of request.uid; returns
		/// whether it held one. Bans from the plugin's own files stay. Any
		/// thread. Default: false.
	virtual void listBans(std::vector<BanRequest>& bans) const;
		/// Appends the bans onUnban() can lift, seconds being what is left
		/// (0: until lifted). Any thread. Default: nothing.

	// API 1.1: live settings.
	virtual bool reconfigure(const Poco::Util::AbstractConfiguration& config);
		/// SIGHUP, when some of this plugin's keys changed: config holds
		/// all of them, as initialize() got them. All or nothing: apply
		/// every new setting while sessions run (the hooks keep running
		/// meanwhile, on other threads) and return true, or, if a changed
		/// key needs a restart, apply none and return false (the server
		/// logs the plugin's changed keys as needing a restart). Throw
		/// Poco::InvalidArgumentException naming a bad key: nothing
		/// changes. Main thread. Default: false.

	// API 1.2: ban storage (docs/plugins.md, "Bans").
	virtual BanStore* banStore();
		/// This plugin's ban store, or null for a plugin that keeps no bans.
		/// Asked once, on the main thread, after every plugin is initialized
		/// and before start(); the store must stay valid as long as the
		/// filter (a member, or the filter itself). Without a store among
		/// the plugins, the admin API refuses ban requests (409). Default:
		/// null.

	// API 1.3 appended fields to FrameInfo, no hook.
	// API 1.4+: new hooks are appended here, never inserted.
};


// Header-only on purpose: a plugin needs no symbol of the imgated binary.

inline Filter::~Filter()
{
}


inline void Filter::start(Host&)
{
}


inline void Filter::stop()
{
}


inline void Filter::reload()
{
}


inline bool Filter::authenticates() const
{
	return false;
}


inline Verdict Filter::onAccept(const PeerInfo&)
{
	return Verdict::proceed();
}


inline Verdict Filter::onLogin(const LoginInfo&, SessionSlot&)
{
	return Verdict::proceed();
}


inline Verdict Filter::onFrame(const FrameInfo&, SessionSlot&)
{
	return Verdict::proceed();
}


inline void Filter::onClose(const SessionInfo&, SessionSlot&)
{
}


inline void Filter::onBan(const BanRequest&)
{
}


inline bool Filter::recordsBans() const
{
	return false;
}


inline bool Filter::onUnban(const BanRequest&)
{
	return false;
}


inline void Filter::listBans(std::vector<BanRequest>&) const
{
}


inline bool Filter::reconfigure(const Poco::Util::AbstractConfiguration&)
{
	return false;
}


inline BanStore* Filter::banStore()
{
	return nullptr;
}

} // namespace imgate

#endif // imgate_Filter_INCLUDED
