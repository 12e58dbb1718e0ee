//
// Server.cpp
//
// Layer: app
//

#include "server/app/Server.h"
#include "server/app/DemoFiles.h"
#include "Poco/String.h"
#include <set>
#include "Poco/Path.h"
#include "server/protocol/FrameEncoder.h"
#include "server/store/MemoryMessageStore.h"
#include "server/store/PostgresDatabase.h"
#include "server/store/PostgresMessageStore.h"
#include "Poco/FileStream.h"
#include "Poco/String.h"
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include "server/store/SqliteMessageStore.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <sys/resource.h>

namespace imgate {
namespace app {

namespace {

constexpr std::size_t RESERVED_FILES = 64;

std::string busyReply()
{
	imgate::v1::Error error;
	error.set_message("server is at its session limit; try again later");
	return protocol::FrameEncoder::encode(protocol::Command::ERROR, protocol::Status::SERVER_BUSY, 0, error);
}

} // namespace


std::size_t Server::openFileLimit()
{
	// Raise the soft limit to the hard one: each session is a descriptor.
	rlimit rl{};
	if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rlimit raised = rl;
		raised.rlim_cur = rl.rlim_max;
		if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
	}
	return rl.rlim_cur == RLIM_INFINITY ? 0 : static_cast<std::size_t>(rl.rlim_cur);
}


std::size_t Server::effectiveMaxSessions(std::size_t configured, std::size_t openFileLimit, unsigned ioThreads)
{
	if (openFileLimit == 0) return configured;
	// Each loop holds an epoll and an eventfd descriptor. Running out of
	// descriptors must never happen: POCO's accept loop retries a failing
	// accept() at once, and clients would hang instead of getting SERVER_BUSY.
	std::size_t reserved = RESERVED_FILES + 2 * static_cast<std::size_t>(ioThreads);
	std::size_t available = openFileLimit > reserved ? openFileLimit - reserved : 1;
	return configured < available ? configured : available;
}


std::unique_ptr<store::MessageStore> Server::makeStore(const Settings& settings)
{
	if (settings.storeType == "memory")
	{
		store::MemoryMessageStore::Limits limits;
		limits.maxPendingPerRecipient = settings.maxPendingPerRecipient;
		limits.maxBytes = settings.memoryMaxBytes;
		limits.historyRetention = settings.session.historyRetention;
		limits.recordSent = settings.session.historyRetention > 0 || settings.session.perDevice(); // carbons need them
		limits.retention = settings.retention;
		return std::unique_ptr<store::MessageStore>(new store::MemoryMessageStore(limits));
	}
	store::DurableMessageStore::Options common;
	common.maxPendingPerRecipient = settings.maxPendingPerRecipient;
	common.maxQueuedBytes = settings.maxQueuedBytes;
	common.retention = settings.retention;
	common.deliveredRetention = settings.deliveredRetention;
	common.historyRetention = settings.session.historyRetention;
	common.devices = settings.session.perDevice();
	common.cleanupInterval = settings.cleanupInterval;
	common.readThreads = settings.readThreads;
	if (settings.storeType == "postgresql")
	{
		store::PostgresMessageStore::Options options;
		static_cast<store::DurableMessageStore::Options&>(options) = common;
		options.connection = settings.storePostgresql;
		options.synchronousCommit = settings.storeSync == "full";
		options.timeout = static_cast<int>(settings.storePostgresqlTimeout);
		return std::unique_ptr<store::MessageStore>(new store::PostgresMessageStore(options));
	}
	store::SqliteMessageStore::Options options;
	static_cast<store::DurableMessageStore::Options&>(options) = common;
	options.path = settings.storePath;
	options.fullSync = settings.storeSync == "full";
	options.maxDatabaseBytes = settings.maxDatabaseBytes;
	return std::unique_ptr<store::MessageStore>(new store::SqliteMessageStore(options));
}


std::unique_ptr<cluster::ClusterNode> Server::joinCluster(const Settings& settings)
{
	if (!settings.clusterEnabled) return nullptr;
	cluster::ClusterNode::Options options;
	options.nodeId = settings.clusterNodeId;
	options.redis = settings.clusterRedis;
	options.presenceTtl = settings.clusterPresenceTtl;
	if (!settings.clusterRedisPasswordFile.empty())
	{
		const std::string& path = settings.clusterRedisPasswordFile;
		struct stat st;
		if (::stat(path.c_str(), &st) != 0)
			throw ConfigException("cluster.redisPasswordFile: cannot read " + path + ": " + std::strerror(errno));
		if (st.st_mode & 0007)
			throw ConfigException("cluster.redisPasswordFile: " + path + " is open to other users: chmod o-rwx " + path);
		try
		{
			Poco::FileInputStream in(path);
			std::getline(in, options.password);
		}
		catch (Poco::Exception& exc)
		{
			throw ConfigException("cluster.redisPasswordFile: cannot read " + path + ": " + exc.message());
		}
		Poco::trimInPlace(options.password);
		if (options.password.empty()) throw ConfigException("cluster.redisPasswordFile: " + path + " is empty");
	}
	std::unique_ptr<cluster::ClusterNode> pNode(new cluster::ClusterNode(options));
	pNode->join();
	return pNode;
}


Server::Server(const Settings& settings):
	_settings(settings),
	_logger(Poco::Logger::get("imgate.app"))
{
	// Before the store opens (a migration may take long): a certificate
	// that cannot serve stops the start at once.
	_pTls = TransportListeners::certificateFor(settings);
	std::size_t files = openFileLimit();
	std::size_t maxSessions = effectiveMaxSessions(settings.maxSessions, files, settings.ioThreads);
	if (maxSessions < settings.maxSessions)
	{
		_logger.warning("server.maxSessions=%z is above what the open-file limit (%z) allows; serving at most %z sessions"
			" (raise LimitNOFILE / ulimit -n to serve more)", settings.maxSessions, files, maxSessions);
	}
	loadPlugins(settings);
	_pStore = makeStore(settings);
	_pCluster = joinCluster(settings);
	_pLoops.reset(new net::LoopPool(settings.ioThreads, maxSessions));
	_pSessions.reset(new session::SessionManager(settings.session, *_pLoops, *_pStore, *_pFilters, _pCluster.get()));
	if (!_pFilters->empty()) _pAcceptCheck.reset(new FilterAcceptCheck(*_pFilters, *_pSessions));
}


void Server::loadPlugins(const Settings& settings)
{
	_pPlugins.reset(new plugin::PluginHost);
	for (const auto& name: settings.pluginsLoad)
	{
		Poco::Path path(settings.pluginsDir);
		path.makeDirectory();
		path.setFileName(name + ".so");
		auto it = settings.pluginSettings.find(name);
		try
		{
			_pPlugins->load(name, path.toString(), it == settings.pluginSettings.end() ? std::map<std::string, std::string>() : it->second);
		}
		catch (plugin::PluginException& exc)
		{
			throw ConfigException(exc.message());
		}
		_logger.information("plugin %s loaded from %s (plugin API %s)", name, path.toString(),
			plugin::PluginHost::versionText(_pPlugins->plugins().back().apiVersion));
	}
	_pFilters.reset(new plugin::FilterChain(*_pPlugins));
}


Server::~Server()
{
	if (_pAdmin) _pAdmin->stop();
	if (!_stopped)
	{
		if (_pAcceptor) _pAcceptor->stop();
		if (_pTransports) _pTransports->stop();
		if (_pCluster) _pCluster->stop();
		_pLoops->stop();
		_pFilters->stop();
		_pStore->close();
	}
}


void Server::start()
{
	const Poco::Net::ServerSocket socket = net::Acceptor::listen(_settings.address, static_cast<Poco::UInt16>(_settings.port));
	_pAcceptor.reset(new net::Acceptor(*_pLoops, *_pSessions, socket, busyReply(), _pAcceptCheck.get()));
	_pTransports.reset(new TransportListeners(_settings, _pTls, *_pLoops, *_pSessions, _pAcceptCheck.get(), demoFiles()));
	try
	{
		_pFilters->start(*_pSessions);
	}
	catch (plugin::PluginException& exc)
	{
		throw ConfigException(exc.message());
	}
	// Bound (and the token read) before anything starts: a bad admin
	// setting must not leave a half-started server taking clients.
	createAdmin();
	_pStore->start();
	_pLoops->start();
	if (_pCluster) _pCluster->start(*_pSessions);
	_pAcceptor->start();
	_pTransports->start();
	_accepting = true;
	_logger.information("store: %s", _pStore->describe());
	startAdmin();
	if (!_settings.session.allowAnonymous && !_pFilters->hasAuthenticator())
		_logger.warning("auth.allowAnonymous is false and no auth plugin is loaded: every login will be refused (AUTH_FAILED)");
	_logger.information("listening on %s:%hu with %u event loops, at most %z sessions",
		_settings.address, port(), _settings.ioThreads, _pLoops->limiter().maximum());
	if (_settings.webSocketDemo && _settings.webSocketPort != 0 && demoFiles().count == 0)
		_logger.warning("websocket.demo is true, but this imgated was built without the chat page (no web/ files): every page request gets 404");
}


void Server::shutdown()
{
	if (_stopped) return;
	_stopped = true;
	_accepting = false; // GET /readyz says so while the sessions drain
	if (_pAcceptor) _pAcceptor->stop();
	if (_pTransports) _pTransports->stop();
	std::size_t open = _pSessions->sessionCount();
	_logger.information("shutting down: draining %z sessions over %u s", open, _settings.session.drainTime);
	_pSessions->beginDrain();
	// Kicks go out within drainTime; each closes after flushing, or after
	// its linger (2 s) if the peer does not read.
	Poco::Timestamp started;
	const Poco::Timestamp::TimeDiff limit = (static_cast<Poco::Timestamp::TimeDiff>(_settings.session.drainTime) + 3) * 1000000;
	while (_pSessions->sessionCount() > 0 && !started.isElapsed(limit))
	{
		Poco::Thread::sleep(20);
	}
	std::size_t left = _pSessions->sessionCount();
	if (left > 0) _logger.warning("closing %z sessions that did not close in time", left);
	if (_pAdmin) _pAdmin->stop();
	if (_pCluster) _pCluster->stop(); // leaves: its users are routed elsewhere at once
	_pLoops->stop();
	_pFilters->stop();
	_pStore->close();
	_logger.information("stopped");
}


void Server::reload()
{
	_logger.information("SIGHUP: plugins re-read their files");
	_pFilters->reload();
	if (_pTransports) _pTransports->reloadCertificate();
}


namespace {

std::string shown(const std::string& key, const std::string& value)
	/// A setting's value for the log: never a secret's.
{
	const std::string lower = Poco::toLower(key);
	if (key == "store.postgresql" && !value.empty())
	{
		// A connection string may hold a password: shown as the store names it.
		try
		{
			return store::PostgresDatabase::safeName(value);
		}
		catch (Poco::Exception&)
		{
			return "(hidden)";
		}
	}
	const bool isFile = lower.size() > 4 && lower.compare(lower.size() - 4, 4, "file") == 0;
	if (!isFile && (lower.find("secret") != std::string::npos || lower.find("token") != std::string::npos
		|| lower.find("password") != std::string::npos || lower.find("key") != std::string::npos
		|| lower.find("credential") != std::string::npos))
		return "(hidden)";
	return value.empty() ? std::string("(empty)") : value;
}


std::string change(const std::string& key, const std::map<std::string, std::string>& before, const std::map<std::string, std::string>& after)
{
	auto b = before.find(key);
	auto a = after.find(key);
	return key + " " + shown(key, b == before.end() ? std::string("(unset)") : b->second) + " -> "
		+ shown(key, a == after.end() ? std::string("(unset)") : a->second);
}

} // namespace


void Server::reload(const Settings& next, const std::string& path)
{
	const std::map<std::string, std::string> before = _settings.values();
	const std::map<std::string, std::string> after = next.values();
	std::set<std::string> changed;
	for (const auto& kv: before)
	{
		auto it = after.find(kv.first);
		if (it == after.end() || it->second != kv.second) changed.insert(kv.first);
	}
	for (const auto& kv: after)
	{
		if (!before.count(kv.first)) changed.insert(kv.first);
	}
	// The schema's reloadable keys, as its rows copy them.
	std::map<std::string, std::string> refused;
	Settings merged = _settings.reloaded(next, refused);
	// Plugin keys: each loaded plugin that stays loaded gets its new set.
	std::map<std::string, std::vector<std::string>> pluginKeys;
	for (const auto& key: changed)
	{
		if (!Settings::isPluginKey(key)) continue;
		pluginKeys[key.substr(8, key.find('.', 8) - 8)].push_back(key);
	}
	const bool loadChanged = changed.count("plugins.load") || changed.count("plugins.dir");
	for (const auto& plugin: pluginKeys)
	{
		const std::string& name = plugin.first;
		auto settings = next.pluginSettings.find(name);
		std::string error;
		const plugin::FilterChain::Reconfigured result = loadChanged ? plugin::FilterChain::NEEDS_RESTART
			: _pFilters->reconfigure(name, settings == next.pluginSettings.end() ? std::map<std::string, std::string>() : settings->second, error);
		if (result == plugin::FilterChain::RECONFIGURED)
		{
			if (settings == next.pluginSettings.end()) merged.pluginSettings.erase(name);
			else merged.pluginSettings[name] = settings->second;
		}
		else if (result != plugin::FilterChain::NEEDS_RESTART)
		{
			for (const auto& key: plugin.second) refused[key] = error;
		}
	}
	// A changed key is reported as applied only if the settings the server
	// now runs with hold its new value.
	const std::map<std::string, std::string> running = merged.values();
	std::vector<std::string> applied, restart, notApplied;
	bool sessionsChanged = false;
	for (const auto& key: changed)
	{
		auto now = running.find(key);
		auto wanted = after.find(key);
		const bool same = now == running.end() ? wanted == after.end() : wanted != after.end() && now->second == wanted->second;
		auto reason = refused.find(key);
		if (reason != refused.end()) notApplied.push_back(change(key, before, after) + ": " + reason->second);
		else if (!same) restart.push_back(change(key, before, after));
		else
		{
			applied.push_back(change(key, before, after));
			const SettingKey* pKey = Settings::find(key);
			sessionsChanged = sessionsChanged || (pKey && pKey->inSession);
		}
	}
	if (sessionsChanged) _pSessions->reconfigure(merged.session);
	_settings = merged;
	if (changed.empty())
		_logger.information("SIGHUP: %s read again, no setting changed", path);
	for (const auto& line: applied) _logger.information("SIGHUP: applied %s", line);
	for (const auto& line: restart) _logger.warning("SIGHUP: needs a restart, still running with the old value: %s", line);
	for (const auto& line: notApplied) _logger.error("SIGHUP: not applied: %s", line);
	_logger.information("SIGHUP: plugins re-read their files");
	_pFilters->reload();
	if (_pTransports) _pTransports->reloadCertificate();
}


void Server::createAdmin()
{
	if (!_settings.adminEnabled) return;
	_pQuery.reset(new session::SessionQuery(*_pLoops, _pSessions->directory()));
	_pAdminContext.reset(new admin::AdminContext{*_pLoops, *_pSessions, *_pQuery, *_pStore, *_pFilters, _accepting,
		IMGATE_VERSION, Poco::Timestamp(), _pCluster.get()});
	admin::AdminServer::Options options;
	options.address = _settings.adminAddress;
	options.port = _settings.adminPort;
	options.tokenFile = _settings.adminTokenFile;
	options.allowNoToken = _settings.adminAllowNoToken;
	options.threads = _settings.adminThreads;
	options.maxBodyBytes = _settings.adminMaxBodyBytes;
	try
	{
		_pAdmin.reset(new admin::AdminServer(*_pAdminContext, options));
	}
	catch (Poco::InvalidArgumentException& exc)
	{
		throw ConfigException(exc.message());
	}
}


void Server::startAdmin()
{
	if (!_pAdmin) return;
	_pAdmin->start();
	const std::string api = !_settings.adminTokenFile.empty() ? "bearer token from " + _settings.adminTokenFile
		: _settings.adminAllowNoToken ? std::string("no token (admin.allowNoToken, loopback only)")
		: std::string("off (no admin.tokenFile)");
	_logger.information("admin: serving http://%s/ (metrics, healthz, readyz; /v1/ API: %s)",
		Poco::Net::SocketAddress(_settings.adminAddress, _pAdmin->port()).toString(), api);
}


Poco::UInt16 Server::adminPort() const
{
	return _pAdmin ? _pAdmin->port() : 0;
}


Poco::UInt16 Server::port() const
{
	return _pAcceptor ? _pAcceptor->port() : 0;
}


Poco::UInt16 Server::tlsPort() const
{
	return _pTransports ? _pTransports->tlsPort() : 0;
}


Poco::UInt16 Server::webSocketPort() const
{
	return _pTransports ? _pTransports->webSocketPort() : 0;
}


std::string Server::listenAddress() const
{
	return Poco::Net::SocketAddress(_settings.address, port()).toString();
}

} } // namespace imgate::app
