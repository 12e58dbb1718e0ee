//
// Settings.h
//
// Layer: app
// Every configuration key of imgated: one schema table (name, default,
// bounds, meaning) and the validated values read from a .properties file.
//

#ifndef imgate_app_Settings_INCLUDED
#define imgate_app_Settings_INCLUDED

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


struct SettingKey
	/// One row of the schema.
{
	enum Type { INT, BOOL, STRING, LIST, CHOICE };

	const char* name;
	Type type;
	const char* defaultValue;  /// As written in a file; "" where derived (see description).
	Poco::Int64 min;           /// INT only.
	Poco::Int64 max;           /// INT only.
	const char* choices;       /// CHOICE only: '|'-separated.
	bool reloadable;           /// Applied by a reload (SIGHUP) without restart.
	const char* description;
};


class Settings
	/// Plain values, valid once load() or defaults() returned.
{
public:
	static const std::vector<SettingKey>& schema();
		/// Every key imgated knows, in documentation order. logging.* keys
		/// (Poco::Util::LoggingConfigurator) and plugins.<name>.* keys (read
		/// by the plugin) are not in it.

	static Settings defaults();
		/// The built-in defaults.

	std::map<std::string, std::string> values() const;
		/// Every key of the schema and every plugins.NAME.KEY, with the
		/// value in force (derived defaults resolved), as text: what a
		/// reload compares.

	static const SettingKey* find(const std::string& key);
		/// The schema row of key, or null.

	static bool isPluginKey(const std::string& key);
		/// plugins.NAME.KEY: a key that belongs to plugin NAME (not
		/// plugins.dir or plugins.load).

	static Settings load(const Poco::Util::AbstractConfiguration& config, const std::string& path);
		/// Validates config (read from the file at path) against the schema.
		/// Throws ConfigException naming path, the line, the key and what is
		/// expected: for an unknown key, a malformed or out-of-range value,
		/// or an inconsistent combination.

	std::string address = "0.0.0.0";
	unsigned port = 7700;
	std::size_t maxSessions = 100000;
	unsigned drainTime = 2;
	unsigned ioThreads = 1;
	unsigned heartbeatInterval = 30;
	unsigned heartbeatTimeout = 90;
	unsigned loginTimeout = 10;
	unsigned takeoverGuard = 10;
	unsigned maxBodySize = 65536;
	unsigned maxPayloadSize = 32768;
	unsigned retransmitTimeout = 10;
	unsigned window = 64;
	std::string storeType = "sqlite";
	std::string storePath;
	std::size_t maxPendingPerRecipient = 10000;
	std::size_t memoryMaxBytes = 268435456;
	bool storeFullSync = true;
	Poco::UInt64 maxDatabaseBytes = 0;
	unsigned retention = 2592000;
	unsigned deliveredRetention = 86400;
	unsigned cleanupInterval = 60;
	std::size_t maxQueuedBytes = 67108864;
	unsigned readThreads = 2;
	bool allowAnonymous = false;
	bool adminEnabled = true;
	std::string adminAddress = "127.0.0.1";
	unsigned adminPort = 7780;
	std::string adminTokenFile;      /// Empty: no token.
	bool adminAllowNoToken = false;
	unsigned adminThreads = 2;
	std::size_t adminMaxBodyBytes = 65536;
	std::string pluginsDir;
	std::vector<std::string> pluginsLoad;
	std::map<std::string, std::map<std::string, std::string>> pluginSettings;
		/// plugins.NAME.KEY = VALUE as pluginSettings[NAME][KEY] = VALUE.
};


int lineOfKey(const std::string& path, const std::string& key);
	/// The 1-based line of path where key is set, or 0 if not found.

} } // namespace imgate::app

#endif // imgate_app_Settings_INCLUDED
