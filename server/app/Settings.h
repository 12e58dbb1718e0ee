//
// Settings.h
//
// Layer: app
// Every configuration key of imgated: one table with a row per key (see
// SettingKey) and the validated values read from a .properties file.
//

#ifndef imgate_app_Settings_INCLUDED
#define imgate_app_Settings_INCLUDED

#include "server/app/SettingKey.h"
#include "server/session/SessionConfig.h"
#include "Poco/Exception.h"
#include "Poco/Util/AbstractConfiguration.h"
#include <map>
#include <string>
#include <vector>

namespace imgate {
namespace app {

POCO_DECLARE_EXCEPTION(, ConfigException, Poco::DataException)
	/// A configuration error. displayText() names the file, the line (when
	/// known), the key, and what was expected.


class Settings
	/// Plain values, valid once load() or defaults() returned. Each member
	/// is where one row of schema() lands; the rows give the defaults.
{
public:
	static const std::vector<SettingKey>& schema();
		/// Every key imgated knows, in documentation order. logging.* keys
		/// (Poco::Util::LoggingConfigurator) and plugins.<name>.* keys (read
		/// by the plugin) are not in it. A derived default may use only the
		/// keys above its own.

	static const std::vector<SettingRule>& rules();
		/// The conditions between keys that load() checks after reading
		/// every key, and reloaded() keeps.

	static Settings defaults();
		/// The built-in defaults.

	static Settings load(const Poco::Util::AbstractConfiguration& config, const std::string& path);
		/// Validates config (read from the file at path) against the schema.
		/// Throws ConfigException naming path, the line, the key and what is
		/// expected: for an unknown key, a malformed or out-of-range value,
		/// or an inconsistent combination (a rule).

	std::map<std::string, std::string> values() const;
		/// Every key of the schema and every plugins.NAME.KEY, with the
		/// value in force (derived defaults resolved), as text: what a
		/// reload compares.

	Settings reloaded(const Settings& next, std::map<std::string, std::string>& refused) const;
		/// These settings with the value of every reloadable key taken from
		/// next, and nothing else: what a reload (SIGHUP) runs with. A
		/// changed key that would break a rule together with a key that
		/// needs a restart keeps its value here, and refused[key] says why.

	static const SettingKey* find(const std::string& key);
		/// The schema row of key, or null.

	static bool isPluginKey(const std::string& key);
		/// plugins.NAME.KEY: a key that belongs to plugin NAME (not
		/// plugins.dir or plugins.load).

	std::string address;                    /// server.address
	unsigned port = 0;                      /// server.port
	std::size_t maxSessions = 0;            /// server.maxSessions
	unsigned ioThreads = 0;                 /// server.ioThreads
	unsigned tlsPort = 0;                   /// tls.port
	std::string tlsCertificateFile;         /// tls.certificateFile
	std::string tlsPrivateKeyFile;          /// tls.privateKeyFile
	std::string tlsCaFile;                  /// tls.caFile
	std::string tlsMinVersion;              /// tls.minVersion
	unsigned webSocketPort = 0;             /// websocket.port
	std::string webSocketPath;              /// websocket.path
	std::vector<std::string> webSocketAllowedOrigins; /// websocket.allowedOrigins
	bool webSocketTls = false;              /// websocket.tls
	bool webSocketDemo = false;             /// websocket.demo
	std::string storeType;                  /// store.type
	std::string storePath;                  /// store.path
	std::string storePostgresql;            /// store.postgresql
	unsigned storePostgresqlTimeout = 0;    /// store.postgresqlTimeout
	std::string storeSync;                  /// store.sync
	Poco::UInt64 maxDatabaseBytes = 0;      /// store.maxDatabaseBytes
	unsigned retention = 0;                 /// store.retention
	unsigned deliveredRetention = 0;        /// store.deliveredRetention
	unsigned cleanupInterval = 0;           /// store.cleanupInterval
	std::size_t maxQueuedBytes = 0;         /// store.maxQueuedBytes
	unsigned readThreads = 0;               /// store.readThreads
	std::size_t maxPendingPerRecipient = 0; /// store.maxPendingPerRecipient
	std::size_t memoryMaxBytes = 0;         /// store.memoryMaxBytes
	std::string pluginsDir;                 /// plugins.dir
	std::vector<std::string> pluginsLoad;   /// plugins.load
	bool clusterEnabled = false;            /// cluster.enabled
	std::string clusterNodeId;              /// cluster.nodeId
	std::string clusterRedis;               /// cluster.redis
	std::string clusterRedisPasswordFile;   /// cluster.redisPasswordFile
	unsigned clusterPresenceTtl = 0;        /// cluster.presenceTtl
	bool adminEnabled = false;              /// admin.enabled
	std::string adminAddress;               /// admin.address
	unsigned adminPort = 0;                 /// admin.port
	std::string adminTokenFile;             /// admin.tokenFile; empty: no token
	bool adminAllowNoToken = false;         /// admin.allowNoToken
	unsigned adminThreads = 0;              /// admin.threads
	std::size_t adminMaxBodyBytes = 0;      /// admin.maxBodyBytes
	session::SessionConfig session;
		/// The keys the sessions use (server.drainTime, session.*,
		/// protocol.maxBodySize, message.*, delivery.*, auth.*): the only
		/// values a reload hands to the running server.
	std::map<std::string, std::map<std::string, std::string>> pluginSettings;
		/// plugins.NAME.KEY = VALUE as pluginSettings[NAME][KEY] = VALUE.
};


int lineOfKey(const std::string& path, const std::string& key);
	/// The 1-based line of path where key is set, or 0 if not found.

} } // namespace imgate::app

#endif // imgate_app_Settings_INCLUDED
