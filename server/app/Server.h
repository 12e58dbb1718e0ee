//
// Server.h
//
// Layer: app
// Wires the layers together: store, loops, session manager, acceptor.
//

#ifndef imgate_app_Server_INCLUDED
#define imgate_app_Server_INCLUDED

#include "server/app/Settings.h"
#include "server/admin/AdminContext.h"
#include "server/admin/AdminServer.h"
#include "server/cluster/ClusterNode.h"
#include "server/net/Acceptor.h"
#include "server/app/FilterAcceptCheck.h"
#include "server/app/TransportListeners.h"
#include "server/net/LoopPool.h"
#include "server/plugin/FilterChain.h"
#include "server/plugin/PluginHost.h"
#include "server/session/SessionManager.h"
#include "server/store/MessageStore.h"
#include "Poco/Logger.h"
#include <memory>

namespace imgate {
namespace app {

class Server
	/// Main thread only. Construction allocates; start() binds and starts
	/// the threads; shutdown() drains and stops them.
{
public:
	explicit Server(const Settings& settings);
		/// Loads the plugins of plugins.load. Throws ConfigException if the
		/// settings cannot be served or a plugin cannot be used.

	~Server();
		/// Stops without draining if shutdown() was not called.

	void start();
		/// Binds server.address:server.port and starts the loops and the
		/// acceptor. Throws Poco::Net::NetException naming address and port.

	void shutdown();
		/// Stops accepting, kicks every session (SHUTDOWN) spread over
		/// drainTime, waits for them to close (at most drainTime + 3 s),
		/// then stops the loops and closes the store.

	void reload();
		/// SIGHUP without a new configuration: plugins re-read their files. Main thread.

	void reload(const Settings& next, const std::string& path);
		/// SIGHUP: applies what changed from the running settings to next
		/// where it can change live (the schema's reloadable keys, copied by
		/// Settings::reloaded() and handed to the sessions; plugin keys a
		/// plugin's reconfigure() takes), logs each changed key as applied
		/// (only if the settings now running hold its new value), as needing
		/// a restart, or as not applied and why (values of secrets masked),
		/// then lets the plugins re-read their files. Main thread.

	Poco::UInt16 port() const;
		/// The bound port (useful with server.port = 0).

	Poco::UInt16 tlsPort() const;
	Poco::UInt16 webSocketPort() const;
		/// The TLS and WebSocket listeners' bound ports (0: no such listener).

	Poco::UInt16 adminPort() const;
		/// The admin listener's bound port, or 0 if admin.enabled is false.

	std::string listenAddress() const;
		/// "0.0.0.0:7700", "[::]:7700": what the server listens on.

	session::SessionManager& sessions();

	static std::size_t effectiveMaxSessions(std::size_t configured, std::size_t openFileLimit, unsigned ioThreads);
		/// configured, lowered to leave 64 descriptors for everything else
		/// plus two per event loop.

private:
	void loadPlugins(const Settings& settings);
	void createAdmin();
		/// Reads admin.tokenFile and binds the admin listener (if enabled).
	void startAdmin();
		/// Starts serving it.
	static std::unique_ptr<store::MessageStore> makeStore(const Settings& settings);
	static std::unique_ptr<cluster::ClusterNode> joinCluster(const Settings& settings);
		/// With cluster.enabled: reads the Redis password and joins (throws
		/// ConfigException or cluster::ClusterException); else null.
	static std::size_t openFileLimit();

	Settings _settings;
	Poco::Logger& _logger;
	// Declared before the loops: sessions hold plugin state, so the plugins
	// (and their libraries) must outlive them.
	std::unique_ptr<plugin::PluginHost> _pPlugins;
	std::unique_ptr<plugin::FilterChain> _pFilters;
	std::unique_ptr<store::MessageStore> _pStore;
	std::unique_ptr<cluster::ClusterNode> _pCluster; /// With cluster.enabled; outlives the sessions.
	std::unique_ptr<net::LoopPool> _pLoops;
	std::unique_ptr<session::SessionManager> _pSessions;
	std::unique_ptr<FilterAcceptCheck> _pAcceptCheck; /// Uses the sessions (Host::ban()).
	std::unique_ptr<net::Acceptor> _pAcceptor;
	std::shared_ptr<net::TlsContext> _pTls; /// The certificate at start-up (null without TLS).
	std::unique_ptr<TransportListeners> _pTransports; /// TLS and WebSocket listeners.
	std::atomic<bool> _accepting{false};
	std::unique_ptr<session::SessionQuery> _pQuery;
	std::unique_ptr<admin::AdminContext> _pAdminContext;
	std::unique_ptr<admin::AdminServer> _pAdmin; /// Stopped before anything it reads goes away.
	bool _stopped = false;
};


inline session::SessionManager& Server::sessions()
{
	return *_pSessions;
}

} } // namespace imgate::app

#endif // imgate_app_Server_INCLUDED
