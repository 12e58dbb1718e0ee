//
// Settings.cpp
//
// Layer: app
//

#include "server/app/Settings.h"
#include "Poco/Environment.h"
#include "Poco/Net/IPAddress.h"
#include "Poco/NumberParser.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"
#include "Poco/Util/MapConfiguration.h"
#include <fstream>
#include <cctype>
#include <functional>
#include <map>

#ifndef IMGATE_DEFAULT_PLUGIN_DIR
#define IMGATE_DEFAULT_PLUGIN_DIR "/usr/lib/imgate/plugins"
#endif

namespace imgate {
namespace app {

POCO_IMPLEMENT_EXCEPTION(ConfigException, Poco::DataException, "Configuration error")


const std::vector<SettingKey>& Settings::schema()
{
	static const std::vector<SettingKey> keys =
	{
		{"server.address", SettingKey::STRING, "0.0.0.0", 0, 0, nullptr, false,
			"IP address to listen on for clients (IPv4 or IPv6; 0.0.0.0 is every IPv4 interface)."},
		{"server.port", SettingKey::INT, "7700", 0, 65535, nullptr, false,
			"TCP port for clients; 0 picks a free port (the log names it)."},
		{"server.maxSessions", SettingKey::INT, "100000", 1, 10000000, nullptr, false,
			"Most client connections at once; more are answered ERROR SERVER_BUSY and closed. Capped at start-up to the open-file limit minus 64."},
		{"server.drainTime", SettingKey::INT, "2", 0, 300, nullptr, true,
			"Seconds over which SIGTERM/SIGINT spreads the KICK (SHUTDOWN) to every session; the process exits within drainTime + 5 s."},
		{"server.ioThreads", SettingKey::INT, "", 1, 256, nullptr, false,
			"Event-loop threads that own the sessions. Default: the number of CPU cores."},
		{"session.heartbeatInterval", SettingKey::INT, "30", 1, 3600, nullptr, true,
			"Seconds between client heartbeats, told to the client in LOGIN_RESP."},
		{"session.heartbeatTimeout", SettingKey::INT, "", 1, 86400, nullptr, true,
			"Seconds of silence after which a logged-in session is closed. Default: 3 x session.heartbeatInterval; never below it."},
		{"session.loginTimeout", SettingKey::INT, "10", 1, 3600, nullptr, true,
			"Seconds a new connection has to log in before it is closed."},
		{"session.takeoverGuard", SettingKey::INT, "10", 0, 3600, nullptr, false,
			"Seconds during which a device displaced by a newer login of the same uid cannot take the uid back (LOGIN_RESP RATE_LIMITED); 0 disables the guard."},
		{"protocol.maxBodySize", SettingKey::INT, "65536", 256, 16777216, nullptr, false,
			"Largest frame body in bytes; a larger body_len is answered ERROR FRAME_TOO_LARGE and the connection closed, without reading the body."},
		{"message.maxPayloadSize", SettingKey::INT, "32768", 1, 16777216, nullptr, true,
			"Largest MSG_SEND payload in bytes (MSG_SEND_ACK PAYLOAD_TOO_LARGE above); at most protocol.maxBodySize - 256."},
		{"delivery.retransmitTimeout", SettingKey::INT, "10", 1, 3600, nullptr, true,
			"Seconds after which an unacknowledged MSG_DELIVER is sent again."},
		{"delivery.window", SettingKey::INT, "64", 1, 4096, nullptr, true,
			"Most unacknowledged deliveries in flight per session; the rest waits in the store."},
		{"store.type", SettingKey::CHOICE, "sqlite", 0, 0, "sqlite|memory", false,
			"Message store: sqlite (durable: a message is on disk before its MSG_SEND_ACK) or memory (fast, every pending message lost on restart)."},
		{"store.path", SettingKey::STRING, "data/imgate.db", 0, 0, nullptr, false,
			"SQLite database file of the sqlite store; its folder is created if missing, and PATH-wal, PATH-shm and PATH.lock sit beside it. Relative paths are resolved against the working directory at start-up."},
		{"store.sync", SettingKey::CHOICE, "full", 0, 0, "full|normal", false,
			"full: every commit is fsynced before its acks go out (survives a power cut). normal: no fsync per commit (survives a crash of imgated, not of the machine)."},
		{"store.maxDatabaseBytes", SettingKey::INT, "0", 0, 1099511627776LL * 64, nullptr, false,
			"Largest size of the database file in bytes (SQLite max_page_count); 0: no limit but the disk. When full, sends get MSG_SEND_ACK SERVER_BUSY."},
		{"store.retention", SettingKey::INT, "2592000", 60, 3153600000LL, nullptr, false,
			"Seconds after sending at which any message, delivered or not, is deleted (undelivered deletions are logged as a warning)."},
		{"store.deliveredRetention", SettingKey::INT, "86400", 0, 3153600000LL, nullptr, false,
			"Seconds after sending at which a delivered message is deleted; also how long a resend is recognised after delivery. 0: delete at acknowledgement. At most store.retention."},
		{"store.cleanupInterval", SettingKey::INT, "60", 1, 86400, nullptr, false,
			"Seconds between retention runs of the sqlite store."},
		{"store.maxQueuedBytes", SettingKey::INT, "67108864", 65536, 17179869184LL, nullptr, false,
			"Sqlite store: most bytes of sends waiting for the next commit; a send beyond it gets MSG_SEND_ACK SERVER_BUSY."},
		{"store.readThreads", SettingKey::INT, "2", 1, 64, nullptr, false,
			"Sqlite store: threads (one database connection each) that read pending messages for delivery."},
		{"store.maxPendingPerRecipient", SettingKey::INT, "10000", 1, 100000000, nullptr, false,
			"Most undelivered messages one recipient may have; a send beyond it gets MSG_SEND_ACK SERVER_BUSY."},
		{"store.memoryMaxBytes", SettingKey::INT, "268435456", 1048576, 1099511627776LL, nullptr, false,
			"Memory store only: most bytes of pending messages in all; a send beyond it gets MSG_SEND_ACK SERVER_BUSY."},
		{"auth.allowAnonymous", SettingKey::BOOL, "false", 0, 0, nullptr, true,
			"Accept a LOGIN without checking its token. Without it, and with no auth plugin loaded, every login gets AUTH_FAILED."},
		{"plugins.dir", SettingKey::STRING, "", 0, 0, nullptr, false,
			"Folder the filter plugins are loaded from. Default: <libdir>/imgate/plugins of the install prefix."},
		{"plugins.load", SettingKey::LIST, "", 0, 0, nullptr, false,
			"Comma-separated plugin names, in filter-chain order; plugin NAME is the file NAME.so in plugins.dir."},
		{"admin.enabled", SettingKey::BOOL, "true", 0, 0, nullptr, false,
			"Serve the admin HTTP listener: GET /metrics, /healthz, /readyz and the /v1/ admin API."},
		{"admin.address", SettingKey::STRING, "127.0.0.1", 0, 0, nullptr, false,
			"IPv4 or IPv6 address the admin listener binds. /metrics and the health checks need no token: keep it on loopback or a private network."},
		{"admin.port", SettingKey::INT, "7780", 0, 65535, nullptr, false,
			"TCP port of the admin listener; 0 picks a free port (logged at start-up)."},
		{"admin.tokenFile", SettingKey::STRING, "", 0, 0, nullptr, false,
			"File holding the bearer token of the /v1/ admin API (at least 16 characters; surrounding whitespace ignored). Without it the API answers 403, unless admin.allowNoToken."},
		{"admin.allowNoToken", SettingKey::BOOL, "false", 0, 0, nullptr, false,
			"Serve the /v1/ admin API without a token. Refused unless admin.address is a loopback address (development only)."},
		{"admin.threads", SettingKey::INT, "2", 1, 16, nullptr, false,
			"Threads that answer admin requests; they never run on the event loops."},
		{"admin.maxBodyBytes", SettingKey::INT, "65536", 1024, 16777216, nullptr, false,
			"Largest admin request body in bytes (413 above)."}
	};
	return keys;
}


namespace {

class Reader
	/// Validates one key at a time and builds the error text.
{
public:
	Reader(const Poco::Util::AbstractConfiguration& config, const std::string& path):
		_config(config),
		_path(path)
	{
	}

	[[noreturn]] void fail(const std::string& key, const std::string& what) const
	{
		std::string where = _path;
		int line = _path.empty() ? 0 : lineOfKey(_path, key);
		if (line > 0) where += ":" + std::to_string(line);
		throw ConfigException(where + ": " + key + ": " + what);
	}

	bool has(const std::string& key) const
	{
		return _config.hasProperty(key);
	}

	std::string raw(const std::string& key) const
	{
		return Poco::trim(_config.getRawString(key));
	}

	Poco::Int64 integer(const SettingKey& k, Poco::Int64 fallback) const
	{
		if (!has(k.name)) return fallback;
		std::string text = raw(k.name);
		Poco::Int64 value;
		if (!Poco::NumberParser::tryParse64(text, value))
			fail(k.name, "expected a whole number from " + std::to_string(k.min) + " to " + std::to_string(k.max) + ", got \"" + text + "\"");
		if (value < k.min || value > k.max)
			fail(k.name, "expected a whole number from " + std::to_string(k.min) + " to " + std::to_string(k.max) + ", got " + text);
		return value;
	}

	bool boolean(const SettingKey& k, bool fallback) const
	{
		if (!has(k.name)) return fallback;
		std::string text = Poco::toLower(raw(k.name));
		if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
		if (text == "false" || text == "no" || text == "off" || text == "0") return false;
		fail(k.name, "expected true or false, got \"" + raw(k.name) + "\"");
	}

	std::string string(const SettingKey& k, const std::string& fallback) const
	{
		return has(k.name) ? raw(k.name) : fallback;
	}

	std::string choice(const SettingKey& k, const std::string& fallback) const
	{
		if (!has(k.name)) return fallback;
		std::string text = raw(k.name);
		Poco::StringTokenizer choices(k.choices, "|");
		for (const auto& c: choices)
		{
			if (c == text) return text;
		}
		fail(k.name, "expected one of " + Poco::replace(std::string(k.choices), "|", ", ") + ", got \"" + text + "\"");
	}

	std::vector<std::string> list(const SettingKey& k) const
	{
		std::vector<std::string> result;
		if (!has(k.name)) return result;
		Poco::StringTokenizer items(raw(k.name), ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
		for (const auto& item: items) result.push_back(item);
		return result;
	}

	void collectKeys(const std::string& prefix, std::vector<std::string>& out) const
	{
		Poco::Util::AbstractConfiguration::Keys keys;
		_config.keys(prefix, keys);
		if (keys.empty())
		{
			if (!prefix.empty()) out.push_back(prefix);
			return;
		}
		if (!prefix.empty() && _config.hasProperty(prefix)) out.push_back(prefix);
		for (const auto& k: keys) collectKeys(prefix.empty() ? k : prefix + "." + k, out);
	}

private:
	const Poco::Util::AbstractConfiguration& _config;
	std::string _path;
};


const SettingKey& keyOf(const std::string& name)
{
	for (const auto& k: Settings::schema())
	{
		if (name == k.name) return k;
	}
	throw Poco::NotFoundException(name);
}

} // namespace


Settings Settings::defaults()
{
	Poco::AutoPtr<Poco::Util::AbstractConfiguration> pEmpty = new Poco::Util::MapConfiguration;
	return load(*pEmpty, "");
}


Settings Settings::load(const Poco::Util::AbstractConfiguration& config, const std::string& path)
{
	Reader r(config, path);

	// Unknown keys are errors: a typo must not silently fall back to a default.
	std::vector<std::string> present;
	r.collectKeys("", present);
	for (const auto& key: present)
	{
		if (key.compare(0, 8, "logging.") == 0) continue; // Poco::Util::LoggingConfigurator's own keys
		bool known = false;
		for (const auto& k: schema())
		{
			if (key == k.name) known = true;
		}
		if (known) continue;
		if (key.compare(0, 8, "plugins.") == 0) continue; // checked below, once plugins.load is known
		r.fail(key, "unknown key (see docs/configuration.md for the keys imgated knows)");
	}

	Settings s;
	s.address = r.string(keyOf("server.address"), "0.0.0.0");
	Poco::Net::IPAddress ip;
	if (!Poco::Net::IPAddress::tryParse(s.address, ip))
		r.fail("server.address", "expected an IPv4 or IPv6 address, got \"" + s.address + "\"");
	s.port = static_cast<unsigned>(r.integer(keyOf("server.port"), 7700));
	s.maxSessions = static_cast<std::size_t>(r.integer(keyOf("server.maxSessions"), 100000));
	s.drainTime = static_cast<unsigned>(r.integer(keyOf("server.drainTime"), 2));
	s.ioThreads = static_cast<unsigned>(r.integer(keyOf("server.ioThreads"), Poco::Environment::processorCount()));
	s.heartbeatInterval = static_cast<unsigned>(r.integer(keyOf("session.heartbeatInterval"), 30));
	s.heartbeatTimeout = static_cast<unsigned>(r.integer(keyOf("session.heartbeatTimeout"), 3 * s.heartbeatInterval));
	if (s.heartbeatTimeout < s.heartbeatInterval)
		r.fail(r.has("session.heartbeatTimeout") ? "session.heartbeatTimeout" : "session.heartbeatInterval",
			"session.heartbeatTimeout (" + std::to_string(s.heartbeatTimeout) + ") must not be below session.heartbeatInterval ("
			+ std::to_string(s.heartbeatInterval) + ")");
	s.loginTimeout = static_cast<unsigned>(r.integer(keyOf("session.loginTimeout"), 10));
	s.takeoverGuard = static_cast<unsigned>(r.integer(keyOf("session.takeoverGuard"), 10));
	s.maxBodySize = static_cast<unsigned>(r.integer(keyOf("protocol.maxBodySize"), 65536));
	s.maxPayloadSize = static_cast<unsigned>(r.integer(keyOf("message.maxPayloadSize"), 32768));
	if (s.maxPayloadSize + 256 > s.maxBodySize)
		r.fail(r.has("message.maxPayloadSize") ? "message.maxPayloadSize" : "protocol.maxBodySize",
			"message.maxPayloadSize (" + std::to_string(s.maxPayloadSize) + ") must be at most protocol.maxBodySize - 256 ("
			+ std::to_string(static_cast<long>(s.maxBodySize) - 256) + ") so that a full MSG_SEND fits in a frame");
	s.retransmitTimeout = static_cast<unsigned>(r.integer(keyOf("delivery.retransmitTimeout"), 10));
	s.window = static_cast<unsigned>(r.integer(keyOf("delivery.window"), 64));
	s.storeType = r.choice(keyOf("store.type"), "sqlite");
	s.storePath = r.string(keyOf("store.path"), "data/imgate.db");
	if (s.storePath.empty()) r.fail("store.path", "expected a file path, got an empty value");
	s.maxPendingPerRecipient = static_cast<std::size_t>(r.integer(keyOf("store.maxPendingPerRecipient"), 10000));
	s.memoryMaxBytes = static_cast<std::size_t>(r.integer(keyOf("store.memoryMaxBytes"), 268435456));
	s.storeFullSync = r.choice(keyOf("store.sync"), "full") == "full";
	s.maxDatabaseBytes = static_cast<Poco::UInt64>(r.integer(keyOf("store.maxDatabaseBytes"), 0));
	s.retention = static_cast<unsigned>(r.integer(keyOf("store.retention"), 2592000));
	s.deliveredRetention = static_cast<unsigned>(r.integer(keyOf("store.deliveredRetention"), 86400));
	if (s.deliveredRetention > s.retention)
		r.fail(r.has("store.deliveredRetention") ? "store.deliveredRetention" : "store.retention",
			"store.deliveredRetention (" + std::to_string(s.deliveredRetention) + ") must be at most store.retention ("
			+ std::to_string(s.retention) + ")");
	s.cleanupInterval = static_cast<unsigned>(r.integer(keyOf("store.cleanupInterval"), 60));
	s.maxQueuedBytes = static_cast<std::size_t>(r.integer(keyOf("store.maxQueuedBytes"), 67108864));
	s.readThreads = static_cast<unsigned>(r.integer(keyOf("store.readThreads"), 2));
	s.allowAnonymous = r.boolean(keyOf("auth.allowAnonymous"), false);
	s.adminEnabled = r.boolean(keyOf("admin.enabled"), true);
	s.adminAddress = r.string(keyOf("admin.address"), "127.0.0.1");
	Poco::Net::IPAddress adminIp;
	if (!Poco::Net::IPAddress::tryParse(s.adminAddress, adminIp))
		r.fail("admin.address", "expected an IPv4 or IPv6 address, got \"" + s.adminAddress + "\"");
	s.adminPort = static_cast<unsigned>(r.integer(keyOf("admin.port"), 7780));
	s.adminTokenFile = r.string(keyOf("admin.tokenFile"), "");
	s.adminAllowNoToken = r.boolean(keyOf("admin.allowNoToken"), false);
	if (s.adminAllowNoToken && !adminIp.isLoopback())
		r.fail("admin.allowNoToken", "an admin API without a token is only allowed on a loopback admin.address, not on " + s.adminAddress);
	s.adminThreads = static_cast<unsigned>(r.integer(keyOf("admin.threads"), 2));
	s.adminMaxBodyBytes = static_cast<std::size_t>(r.integer(keyOf("admin.maxBodyBytes"), 65536));
	s.pluginsDir = r.string(keyOf("plugins.dir"), IMGATE_DEFAULT_PLUGIN_DIR);
	s.pluginsLoad = r.list(keyOf("plugins.load"));
	for (std::size_t i = 0; i < s.pluginsLoad.size(); ++i)
	{
		const std::string& name = s.pluginsLoad[i];
		bool ok = !name.empty() && name.size() <= 64;
		for (char c: name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
		if (!ok) r.fail("plugins.load", "plugin names are letters, digits, - and _ (the file NAME.so), got \"" + name + "\"");
		for (std::size_t j = 0; j < i; ++j)
		{
			if (s.pluginsLoad[j] == name) r.fail("plugins.load", "plugin " + name + " is listed twice");
		}
	}
	// plugins.NAME.KEY belongs to plugin NAME, which validates it.
	for (const auto& key: present)
	{
		if (!isPluginKey(key)) continue;
		std::size_t dot = key.find('.', 8);
		std::string name = key.substr(8, dot == std::string::npos ? std::string::npos : dot - 8);
		bool loaded = false;
		for (const auto& p: s.pluginsLoad) loaded = loaded || p == name;
		if (dot == std::string::npos || !loaded)
			r.fail(key, "plugin settings need their plugin in plugins.load");
		s.pluginSettings[name][key.substr(dot + 1)] = r.raw(key);
	}
	return s;
}


std::map<std::string, std::string> Settings::values() const
{
	std::map<std::string, std::string> v;
	auto number = [](Poco::UInt64 n) { return std::to_string(n); };
	auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
	v["server.address"] = address;
	v["server.port"] = number(port);
	v["server.maxSessions"] = number(maxSessions);
	v["server.drainTime"] = number(drainTime);
	v["server.ioThreads"] = number(ioThreads);
	v["session.heartbeatInterval"] = number(heartbeatInterval);
	v["session.heartbeatTimeout"] = number(heartbeatTimeout);
	v["session.loginTimeout"] = number(loginTimeout);
	v["session.takeoverGuard"] = number(takeoverGuard);
	v["protocol.maxBodySize"] = number(maxBodySize);
	v["message.maxPayloadSize"] = number(maxPayloadSize);
	v["delivery.retransmitTimeout"] = number(retransmitTimeout);
	v["delivery.window"] = number(window);
	v["store.type"] = storeType;
	v["store.path"] = storePath;
	v["store.sync"] = storeFullSync ? "full" : "normal";
	v["store.maxDatabaseBytes"] = number(maxDatabaseBytes);
	v["store.retention"] = number(retention);
	v["store.deliveredRetention"] = number(deliveredRetention);
	v["store.cleanupInterval"] = number(cleanupInterval);
	v["store.maxQueuedBytes"] = number(maxQueuedBytes);
	v["store.readThreads"] = number(readThreads);
	v["store.maxPendingPerRecipient"] = number(maxPendingPerRecipient);
	v["store.memoryMaxBytes"] = number(memoryMaxBytes);
	v["auth.allowAnonymous"] = flag(allowAnonymous);
	v["plugins.dir"] = pluginsDir;
	std::string load;
	for (const auto& name: pluginsLoad) load += (load.empty() ? "" : ", ") + name;
	v["plugins.load"] = load;
	v["admin.enabled"] = flag(adminEnabled);
	v["admin.address"] = adminAddress;
	v["admin.port"] = number(adminPort);
	v["admin.tokenFile"] = adminTokenFile;
	v["admin.allowNoToken"] = flag(adminAllowNoToken);
	v["admin.threads"] = number(adminThreads);
	v["admin.maxBodyBytes"] = number(adminMaxBodyBytes);
	for (const auto& plugin: pluginSettings)
	{
		for (const auto& kv: plugin.second) v["plugins." + plugin.first + "." + kv.first] = kv.second;
	}
	return v;
}


bool Settings::isPluginKey(const std::string& key)
{
	return key.compare(0, 8, "plugins.") == 0 && key != "plugins.dir" && key != "plugins.load";
}


const SettingKey* Settings::find(const std::string& key)
{
	for (const auto& k: schema())
	{
		if (key == k.name) return &k;
	}
	return nullptr;
}


int lineOfKey(const std::string& path, const std::string& key)
{
	std::ifstream in(path);
	std::string line;
	int n = 0;
	while (std::getline(in, line))
	{
		++n;
		std::size_t i = line.find_first_not_of(" \t");
		if (i == std::string::npos || line.compare(i, key.size(), key) != 0) continue;
		std::size_t j = i + key.size();
		if (j == line.size() || line[j] == ' ' || line[j] == '\t' || line[j] == '=' || line[j] == ':') return n;
	}
	return 0;
}

} } // namespace imgate::app
