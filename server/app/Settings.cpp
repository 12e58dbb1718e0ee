//
// Settings.cpp
//
// Layer: app
//

#include "server/app/Settings.h"
#include "server/protocol/LogText.h"
#include "server/protocol/Uid.h"
#include "server/store/PostgresDatabase.h"
#include "Poco/Bugcheck.h"
#include "Poco/Environment.h"
#include "Poco/Net/IPAddress.h"
#include "Poco/NumberParser.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"
#include "Poco/Util/MapConfiguration.h"
#include <cctype>
#include <fstream>
#include <limits>
#include <map>
#include <type_traits>

#ifndef IMGATE_DEFAULT_PLUGIN_DIR
#define IMGATE_DEFAULT_PLUGIN_DIR "/usr/lib/imgate/plugins"
#endif

namespace imgate {
namespace app {

POCO_IMPLEMENT_EXCEPTION(ConfigException, Poco::DataException, "Configuration error")


namespace {

using session::SessionConfig;

struct Restart {};
	/// Row tag: the key needs a restart.
struct Live {};
	/// Row tag: a reload applies the key (only a key in Settings::session).
constexpr Restart RESTART{};
constexpr Live LIVE{};


struct Default
	/// A row's default: text as written in a file, or a function of the
	/// keys above.
{
	Default(const char* written): text(written) {}
	Default(SettingKey::Derive function): derive(function) {}

	const char* text = "";
	SettingKey::Derive derive = nullptr;
};


template <class T>
SettingValue valueOf(const T& member)
{
	SettingValue v;
	if constexpr (std::is_same<T, bool>::value) v.flag = member;
	else if constexpr (std::is_integral<T>::value) v.number = static_cast<Poco::Int64>(member);
	else if constexpr (std::is_same<T, std::string>::value) v.text = member;
	else v.items = member;
	return v;
}


template <class T>
void assign(T& member, const SettingValue& v)
{
	if constexpr (std::is_same<T, bool>::value) member = v.flag;
	else if constexpr (std::is_integral<T>::value) member = static_cast<T>(v.number);
	else if constexpr (std::is_same<T, std::string>::value) member = v.text;
	else member = v.items;
}


template <class T, class Owner>
class MemberOf: public SettingKey::Member
	/// The member of Settings, or of Settings::session, a key lands in.
{
public:
	explicit MemberOf(T Owner::* member): _member(member)
	{
	}

	SettingValue get(const Settings& settings) const override
	{
		return valueOf(owner(settings).*_member);
	}

	void set(Settings& settings, const SettingValue& value) const override
	{
		assign(owner(settings).*_member, value);
	}

private:
	static const Owner& owner(const Settings& settings)
	{
		if constexpr (std::is_same<Owner, SessionConfig>::value) return settings.session;
		else return settings;
	}

	static Owner& owner(Settings& settings)
	{
		if constexpr (std::is_same<Owner, SessionConfig>::value) return settings.session;
		else return settings;
	}

	T Owner::* _member;
};


template <class T, class Owner, class Reload>
SettingKey row(const char* name, SettingKey::Type type, const Default& def, Reload, T Owner::* member, const char* description)
{
	static_assert(std::is_same<Owner, Settings>::value || std::is_same<Owner, SessionConfig>::value,
		"a key lands in a member of Settings or of Settings::session");
	static_assert(std::is_same<Reload, Restart>::value || (std::is_same<Reload, Live>::value && std::is_same<Owner, SessionConfig>::value),
		"only a key that lands in Settings::session can be LIVE: Server::reload hands nothing else to the running server");
	SettingKey k;
	k.name = name;
	k.type = type;
	k.defaultValue = def.text;
	k.derive = def.derive;
	k.reloadable = std::is_same<Reload, Live>::value;
	k.inSession = std::is_same<Owner, SessionConfig>::value;
	k.description = description;
	k.pMember = std::make_shared<const MemberOf<T, Owner>>(member);
	return k;
}


template <class T, class Owner, class Reload>
SettingKey integer(const char* name, const Default& def, Poco::Int64 min, Poco::Int64 max, Reload reload, T Owner::* member, const char* description)
{
	static_assert(std::is_integral<T>::value && !std::is_same<T, bool>::value, "an INT key lands in an integer member");
	// The member must hold every value the bounds allow.
	poco_assert_msg(min >= 0 || std::is_signed<T>::value, name);
	poco_assert_msg(static_cast<Poco::UInt64>(max) <= static_cast<Poco::UInt64>(std::numeric_limits<T>::max()), name);
	SettingKey k = row(name, SettingKey::INT, def, reload, member, description);
	k.min = min;
	k.max = max;
	return k;
}


template <class Owner, class Reload>
SettingKey flag(const char* name, const Default& def, Reload reload, bool Owner::* member, const char* description)
{
	return row(name, SettingKey::BOOL, def, reload, member, description);
}


template <class Owner, class Reload>
SettingKey text(const char* name, const Default& def, Reload reload, std::string Owner::* member, const char* description)
{
	return row(name, SettingKey::STRING, def, reload, member, description);
}


template <class Owner, class Reload>
SettingKey address(const char* name, const Default& def, Reload reload, std::string Owner::* member, const char* description)
{
	return row(name, SettingKey::ADDRESS, def, reload, member, description);
}


template <class Owner, class Reload>
SettingKey choice(const char* name, const Default& def, const char* choices, Reload reload, std::string Owner::* member, const char* description)
{
	SettingKey k = row(name, SettingKey::CHOICE, def, reload, member, description);
	k.choices = choices;
	return k;
}


template <class Owner, class Reload>
SettingKey list(const char* name, Reload reload, std::vector<std::string> Owner::* member, const char* description)
{
	return row(name, SettingKey::LIST, Default(""), reload, member, description);
}


// Derived defaults.

std::string processorCount(const Settings&)
{
	return std::to_string(Poco::Environment::processorCount());
}

std::string threeHeartbeats(const Settings& above)
{
	return std::to_string(3 * static_cast<Poco::UInt64>(above.session.heartbeatInterval));
}

std::string installedPluginDir(const Settings&)
{
	return IMGATE_DEFAULT_PLUGIN_DIR;
}

std::vector<SettingKey> table()
{
	// One row per key: name, default, bounds, RESTART or LIVE, the member
	// it lands in, meaning. Adding a key is a row here plus its line in
	// docs/configuration.md and etc/imgate.properties (SettingsTest checks
	// both). Only keys in Settings::session can be LIVE (checked at compile
	// time): Server::reload hands that struct, and nothing else, to the
	// running sessions.
	return
	{
		address("server.address", "0.0.0.0", RESTART, &Settings::address,
			"IP address to listen on for clients (IPv4 or IPv6; 0.0.0.0 is every IPv4 interface)."),
		integer("server.port", "7700", 0, 65535, RESTART, &Settings::port,
			"TCP port for clients; 0 picks a free port (the log names it)."),
		integer("server.maxSessions", "100000", 1, 10000000, RESTART, &Settings::maxSessions,
			"Most client connections at once; more are answered ERROR SERVER_BUSY and closed. Capped at start-up to the open-file limit minus 64."),
		integer("server.drainTime", "2", 0, 300, LIVE, &SessionConfig::drainTime,
			"Seconds over which SIGTERM/SIGINT spreads the KICK (SHUTDOWN) to every session; the process exits within drainTime + 5 s."),
		integer("server.ioThreads", processorCount, 1, 256, RESTART, &Settings::ioThreads,
			"Event-loop threads that own the sessions. Default: the number of CPU cores."),
		integer("session.heartbeatInterval", "30", 1, 3600, LIVE, &SessionConfig::heartbeatInterval,
			"Seconds between client heartbeats, told to the client in LOGIN_RESP."),
		integer("session.heartbeatTimeout", threeHeartbeats, 1, 86400, LIVE, &SessionConfig::heartbeatTimeout,
			"Seconds of silence after which a logged-in session is closed. Default: 3 x session.heartbeatInterval; never below it."),
		integer("session.loginTimeout", "10", 1, 3600, LIVE, &SessionConfig::loginTimeout,
			"Seconds a new connection has to log in before it is closed."),
		integer("session.takeoverGuard", "10", 0, 3600, RESTART, &SessionConfig::takeoverGuard,
			"Seconds during which a device displaced by a newer login of the same uid cannot take the uid back (LOGIN_RESP RATE_LIMITED); 0 disables the guard."),
		choice("session.devicePolicy", "single", "single|perDevice", RESTART, &SessionConfig::devicePolicy,
			"single: one session per uid, a LOGIN kicks the uid's other session (protocol 1.0). perDevice: one session per (uid, device), each device with its own delivery position, carbons on request (protocol 1.1)."),
		integer("session.maxDevices", "8", 1, 64, LIVE, &SessionConfig::maxDevices,
			"perDevice: most sessions (devices) a uid holds at once; one more gets LOGIN_RESP DEVICE_LIMIT."),
		integer("group.maxMembers", "1000", 1, 100000, LIVE, &SessionConfig::maxGroupMembers,
			"Most members of a group (admin API: 400 above it). A group message is stored once per member in the commit before its ack."),
		integer("protocol.maxBodySize", "65536", 256, 16777216, RESTART, &SessionConfig::maxBodySize,
			"Largest frame body in bytes; a larger body_len is answered ERROR FRAME_TOO_LARGE and the connection closed, without reading the body."),
		integer("message.maxPayloadSize", "32768", 1, 16777216, LIVE, &SessionConfig::maxPayloadSize,
			"Largest MSG_SEND payload in bytes (MSG_SEND_ACK PAYLOAD_TOO_LARGE above); at most protocol.maxBodySize - 256."),
		integer("delivery.retransmitTimeout", "10", 1, 3600, LIVE, &SessionConfig::retransmitTimeout,
			"Seconds after which an unacknowledged MSG_DELIVER is sent again."),
		integer("delivery.window", "64", 1, 4096, LIVE, &SessionConfig::window,
			"Most unacknowledged deliveries in flight per session; the rest waits in the store."),
		integer("tls.port", "0", 0, 65535, RESTART, &Settings::tlsPort,
			"TCP port for clients over TLS (protocol 1.1), on server.address; 0: no TLS listener. Needs tls.certificateFile and tls.privateKeyFile."),
		text("tls.certificateFile", "", RESTART, &Settings::tlsCertificateFile,
			"PEM file of the server certificate, optionally followed by its chain (Let's Encrypt: fullchain.pem). Re-read on SIGHUP: new connections get the new certificate, open ones keep theirs."),
		text("tls.privateKeyFile", "", RESTART, &Settings::tlsPrivateKeyFile,
			"PEM file of the certificate's private key, unencrypted (Let's Encrypt: privkey.pem); refused if every user may read it. Re-read on SIGHUP with the certificate."),
		text("tls.caFile", "", RESTART, &Settings::tlsCaFile,
			"Optional PEM file of intermediate certificates sent after the server certificate (when tls.certificateFile holds only the server's own)."),
		choice("tls.minVersion", "1.2", "1.2|1.3", RESTART, &Settings::tlsMinVersion,
			"Oldest TLS version accepted: 1.2 (1.2 and 1.3) or 1.3 (1.3 only). Older versions are never offered."),
		integer("websocket.port", "0", 0, 65535, RESTART, &Settings::webSocketPort,
			"TCP port for clients over WebSocket (protocol 1.1: one frame per binary message, subprotocol imgate.v1), on server.address; 0: no WebSocket listener."),
		text("websocket.path", "/imgate", RESTART, &Settings::webSocketPath,
			"Request path of the WebSocket upgrade; any other path answers 404 (but the chat page's files with websocket.demo)."),
		list("websocket.allowedOrigins", RESTART, &Settings::webSocketAllowedOrigins,
			"Comma-separated Origin values (e.g. https://chat.example.com) a browser's upgrade may come from; another Origin gets 403. Empty: any origin. Requests without an Origin (not from a browser) are allowed."),
		flag("websocket.tls", "false", RESTART, &Settings::webSocketTls,
			"Serve the WebSocket port over TLS (wss://) with the tls.* certificate and key."),
		flag("websocket.demo", "false", RESTART, &Settings::webSocketDemo,
			"Serve the chat page (built into imgated) at / of the WebSocket port: a demo and a test tool, off in production."),
		choice("store.type", "sqlite", "sqlite|postgresql|memory", RESTART, &Settings::storeType,
			"Message store: sqlite (durable: a message is on disk before its MSG_SEND_ACK), postgresql (durable, on a PostgreSQL server; what a cluster shares) or memory (fast, every pending message lost on restart)."),
		text("store.path", "data/imgate.db", RESTART, &Settings::storePath,
			"SQLite database file of the sqlite store; its folder is created if missing, and PATH-wal, PATH-shm and PATH.lock sit beside it. Relative paths are resolved against the working directory at start-up."),
		text("store.postgresql", "", RESTART, &Settings::storePostgresql,
			"The postgresql store's server: a libpq connection string (host=... port=... dbname=... user=... passfile=..., or a postgresql:// URI). Put the password in a passfile, not here."),
		integer("store.postgresqlTimeout", "30", 1, 3600, RESTART, &Settings::storePostgresqlTimeout,
			"Seconds a PostgreSQL connection waits for an answer before it is dropped and its work fails as 'unavailable' (sends get SERVER_BUSY, /readyz 503): bounds a server that stopped answering without closing the connection."),
		choice("store.sync", "full", "full|normal", RESTART, &Settings::storeSync,
			"full: every commit is fsynced before its acks go out (survives a power cut). normal: no fsync per commit (survives a crash of imgated, not of the machine)."),
		integer("store.maxDatabaseBytes", "0", 0, 1099511627776LL * 64, RESTART, &Settings::maxDatabaseBytes,
			"Largest size of the database file in bytes (SQLite max_page_count); 0: no limit but the disk. When full, sends get MSG_SEND_ACK SERVER_BUSY."),
		integer("store.retention", "2592000", 60, 3153600000LL, RESTART, &Settings::retention,
			"Seconds after sending at which any message, delivered or not, is deleted (undelivered deletions are logged as a warning)."),
		integer("store.deliveredRetention", "86400", 0, 3153600000LL, RESTART, &Settings::deliveredRetention,
			"Seconds after sending at which a delivered message is deleted; also how long a resend is recognised after delivery. 0: delete at acknowledgement. At most store.retention."),
		integer("store.historyRetention", "604800", 0, 3153600000LL, RESTART, &SessionConfig::historyRetention,
			"Seconds after sending during which a message stays readable with HISTORY (protocol 1.1), acknowledged or not; the sender's own copy is kept too. 0: no history (acknowledged messages follow store.deliveredRetention). store.retention still bounds it."),
		integer("store.cleanupInterval", "60", 1, 86400, RESTART, &Settings::cleanupInterval,
			"Seconds between retention runs of the sqlite store."),
		integer("store.maxQueuedBytes", "67108864", 65536, 17179869184LL, RESTART, &Settings::maxQueuedBytes,
			"Sqlite store: most bytes of sends waiting for the next commit; a send beyond it gets MSG_SEND_ACK SERVER_BUSY."),
		integer("store.readThreads", "2", 1, 64, RESTART, &Settings::readThreads,
			"Sqlite store: threads (one database connection each) that read pending messages for delivery."),
		integer("store.maxPendingPerRecipient", "10000", 1, 100000000, RESTART, &Settings::maxPendingPerRecipient,
			"Most undelivered messages one recipient may have; a send beyond it gets MSG_SEND_ACK SERVER_BUSY."),
		integer("store.memoryMaxBytes", "268435456", 1048576, 1099511627776LL, RESTART, &Settings::memoryMaxBytes,
			"Memory store only: most bytes of pending messages in all; a send beyond it gets MSG_SEND_ACK SERVER_BUSY."),
		flag("auth.allowAnonymous", "false", LIVE, &SessionConfig::allowAnonymous,
			"Accept a LOGIN without checking its token. Without it, and with no auth plugin loaded, every login gets AUTH_FAILED."),
		text("plugins.dir", installedPluginDir, RESTART, &Settings::pluginsDir,
			"Folder the filter plugins are loaded from. Default: <libdir>/imgate/plugins of the install prefix."),
		list("plugins.load", RESTART, &Settings::pluginsLoad,
			"Comma-separated plugin names, in filter-chain order; plugin NAME is the file NAME.so in plugins.dir."),
		flag("cluster.enabled", "false", RESTART, &Settings::clusterEnabled,
			"Run as one node of a cluster (docs/cluster.md): several imgated on one store.type = postgresql database, Redis for presence and notices between them."),
		text("cluster.nodeId", "", RESTART, &Settings::clusterNodeId,
			"This node's id in the cluster: 1 to 64 of A-Z a-z 0-9 _ . @ -, unique; a node whose id is held by a running node refuses to start."),
		text("cluster.redis", "127.0.0.1:6379", RESTART, &Settings::clusterRedis,
			"host:port of the cluster's Redis server."),
		text("cluster.redisPasswordFile", "", RESTART, &Settings::clusterRedisPasswordFile,
			"File holding Redis's password (requirepass), not readable by other users; empty: no AUTH."),
		integer("cluster.presenceTtl", "30", 3, 3600, RESTART, &Settings::clusterPresenceTtl,
			"Seconds a node's id and its users' presence live in Redis without a refresh (every third of it): how soon a dead node's users are routed elsewhere."),
		flag("admin.enabled", "true", RESTART, &Settings::adminEnabled,
			"Serve the admin HTTP listener: GET /metrics, /healthz, /readyz and the /v1/ admin API."),
		address("admin.address", "127.0.0.1", RESTART, &Settings::adminAddress,
			"IPv4 or IPv6 address the admin listener binds. /metrics and the health checks need no token: keep it on loopback or a private network."),
		integer("admin.port", "7780", 0, 65535, RESTART, &Settings::adminPort,
			"TCP port of the admin listener; 0 picks a free port (logged at start-up)."),
		text("admin.tokenFile", "", RESTART, &Settings::adminTokenFile,
			"File holding the bearer token of the /v1/ admin API (at least 16 characters; surrounding whitespace ignored). Without it the API answers 403, unless admin.allowNoToken."),
		flag("admin.allowNoToken", "false", RESTART, &Settings::adminAllowNoToken,
			"Serve the /v1/ admin API without a token. Refused unless admin.address is a loopback address (development only)."),
		integer("admin.threads", "2", 1, 16, RESTART, &Settings::adminThreads,
			"Threads that answer admin requests; they never run on the event loops."),
		integer("admin.maxBodyBytes", "65536", 1024, 16777216, RESTART, &Settings::adminMaxBodyBytes,
			"Largest admin request body in bytes (413 above).")
	};
}

} // namespace


const std::vector<SettingKey>& Settings::schema()
{
	static const std::vector<SettingKey> keys = table();
	return keys;
}


const std::vector<SettingRule>& Settings::rules()
{
	static const std::vector<SettingRule> conditions =
	{
		{"session.heartbeatTimeout", "session.heartbeatInterval", [](const Settings& s)
		{
			if (s.session.heartbeatTimeout >= s.session.heartbeatInterval) return std::string();
			return "session.heartbeatTimeout (" + std::to_string(s.session.heartbeatTimeout) + ") must not be below session.heartbeatInterval ("
				+ std::to_string(s.session.heartbeatInterval) + ")";
		}},
		{"message.maxPayloadSize", "protocol.maxBodySize", [](const Settings& s)
		{
			if (static_cast<Poco::UInt64>(s.session.maxPayloadSize) + 256 <= s.session.maxBodySize) return std::string();
			return "message.maxPayloadSize (" + std::to_string(s.session.maxPayloadSize) + ") must be at most protocol.maxBodySize - 256 ("
				+ std::to_string(static_cast<long>(s.session.maxBodySize) - 256) + ") so that a full MSG_SEND fits in a frame";
		}},
		{"store.path", nullptr, [](const Settings& s)
		{
			return s.storePath.empty() ? std::string("expected a file path, got an empty value") : std::string();
		}},
		{"store.postgresql", "store.type", [](const Settings& s)
		{
			if (s.storeType != "postgresql") return std::string();
			if (s.storePostgresql.empty()) return std::string("postgresql needs store.postgresql, a libpq connection string (host=... dbname=... user=...)");
			try
			{
				store::PostgresDatabase::withDefaults(s.storePostgresql);
			}
			catch (store::StoreException& exc)
			{
				return exc.message();
			}
			return std::string();
		}},
		{"cluster.nodeId", "cluster.enabled", [](const Settings& s)
		{
			if (!s.clusterEnabled) return std::string();
			if (!protocol::isValidUid(s.clusterNodeId))
				return std::string("a cluster node needs cluster.nodeId, 1 to 64 of A-Z a-z 0-9 _ . @ -, unique in the cluster");
			return std::string();
		}},
		{"store.type", "cluster.enabled", [](const Settings& s)
		{
			if (!s.clusterEnabled || s.storeType == "postgresql") return std::string();
			return "a cluster's nodes share one store: cluster.enabled needs store.type = postgresql, got " + s.storeType;
		}},
		{"cluster.redis", "cluster.enabled", [](const Settings& s)
		{
			if (!s.clusterEnabled) return std::string();
			const std::size_t colon = s.clusterRedis.rfind(':');
			unsigned port = 0;
			if (colon == std::string::npos || colon == 0 || !Poco::NumberParser::tryParseUnsigned(s.clusterRedis.substr(colon + 1), port)
				|| port == 0 || port > 65535)
				return "expected host:port, got \"" + s.clusterRedis + "\"";
			return std::string();
		}},
		{"store.deliveredRetention", "store.retention", [](const Settings& s)
		{
			if (s.deliveredRetention <= s.retention) return std::string();
			return "store.deliveredRetention (" + std::to_string(s.deliveredRetention) + ") must be at most store.retention ("
				+ std::to_string(s.retention) + ")";
		}},
		{"plugins.load", nullptr, [](const Settings& s)
		{
			for (std::size_t i = 0; i < s.pluginsLoad.size(); ++i)
			{
				const std::string& name = s.pluginsLoad[i];
				bool ok = !name.empty() && name.size() <= 64;
				for (char c: name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
				if (!ok) return "plugin names are letters, digits, - and _ (the file NAME.so), got \"" + name + "\"";
				for (std::size_t j = 0; j < i; ++j)
				{
					if (s.pluginsLoad[j] == name) return "plugin " + name + " is listed twice";
				}
			}
			return std::string();
		}},
		{"tls.certificateFile", "tls.port", [](const Settings& s)
		{
			if ((s.tlsPort == 0 && !(s.webSocketTls && s.webSocketPort != 0)) || (!s.tlsCertificateFile.empty() && !s.tlsPrivateKeyFile.empty())) return std::string();
			return std::string(s.tlsPort != 0 ? "tls.port" : "websocket.tls") + " needs tls.certificateFile and tls.privateKeyFile";
		}},
		{"websocket.path", nullptr, [](const Settings& s)
		{
			bool ok = s.webSocketPath.size() > 1 && s.webSocketPath.size() <= 200 && s.webSocketPath[0] == '/';
			for (char c: s.webSocketPath) ok = ok && c > ' ' && c < 127 && c != '?' && c != '#' && c != '%';
			return ok ? std::string() : "expected a path such as /imgate (starting with /, printable ASCII, no ?, # or %), got \"" + s.webSocketPath + "\"";
		}},
		{"websocket.port", "server.port", [](const Settings& s)
		{
			const unsigned ports[] = {s.port, s.tlsPort, s.webSocketPort};
			const char* names[] = {"server.port", "tls.port", "websocket.port"};
			for (int i = 0; i < 3; ++i)
			{
				for (int j = i + 1; j < 3; ++j)
				{
					if (ports[i] != 0 && ports[i] == ports[j]) return std::string(names[j]) + " (" + std::to_string(ports[j]) + ") is the same as " + names[i];
				}
			}
			return std::string();
		}},
		{"admin.allowNoToken", "admin.address", [](const Settings& s)
		{
			Poco::Net::IPAddress ip;
			if (!s.adminAllowNoToken || (Poco::Net::IPAddress::tryParse(s.adminAddress, ip) && ip.isLoopback())) return std::string();
			return "an admin API without a token is only allowed on a loopback admin.address, not on " + s.adminAddress;
		}}
	};
	return conditions;
}


namespace {

std::string parse(const SettingKey& k, const std::string& text, bool checkBounds, SettingValue& value)
	/// Parses text as k's type into value; returns what was expected, or "".
{
	switch (k.type)
	{
	case SettingKey::INT:
		{
			const std::string expected = "expected a whole number from " + std::to_string(k.min) + " to " + std::to_string(k.max);
			if (!Poco::NumberParser::tryParse64(text, value.number)) return expected + ", got \"" + text + "\"";
			if (checkBounds && (value.number < k.min || value.number > k.max)) return expected + ", got " + text;
			return "";
		}
	case SettingKey::BOOL:
		{
			const std::string lower = Poco::toLower(text);
			if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") value.flag = true;
			else if (lower == "false" || lower == "no" || lower == "off" || lower == "0") value.flag = false;
			else return "expected true or false, got \"" + text + "\"";
			return "";
		}
	case SettingKey::ADDRESS:
		{
			Poco::Net::IPAddress ip;
			if (!Poco::Net::IPAddress::tryParse(text, ip)) return "expected an IPv4 or IPv6 address, got \"" + text + "\"";
			value.text = text;
			return "";
		}
	case SettingKey::CHOICE:
		{
			Poco::StringTokenizer choices(k.choices, "|");
			for (const auto& c: choices)
			{
				if (c == text)
				{
					value.text = text;
					return "";
				}
			}
			return "expected one of " + Poco::replace(std::string(k.choices), "|", ", ") + ", got \"" + text + "\"";
		}
	case SettingKey::LIST:
		{
			Poco::StringTokenizer items(text, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
			value.items.assign(items.begin(), items.end());
			return "";
		}
	case SettingKey::STRING:
		value.text = text;
		return "";
	}
	return "unknown setting type";
}


class Reader
	/// Reads one key at a time and builds the error text.
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
		try
		{
			return Poco::trim(_config.getRawString(key));
		}
		catch (Poco::NotFoundException&)
		{
			// A key the file holds but POCO cannot read back by its name
			// (bytes that are no key characters; found by the settings
			// fuzz target).
			fail(protocol::escaped(key, 128), "not a key name: use letters, digits, '.', '-' and '_'");
		}
	}

	SettingValue value(const SettingKey& k, const Settings& above) const
		/// k's value in the file, or its default. A default is not held to
		/// the bounds (the number of CPU cores may exceed them), and
		/// SettingsTest checks that every written default parses.
	{
		SettingValue v;
		if (has(k.name))
		{
			const std::string error = parse(k, raw(k.name), true, v);
			if (!error.empty()) fail(k.name, error);
			return v;
		}
		const std::string error = parse(k, k.derive ? k.derive(above) : std::string(k.defaultValue), false, v);
		poco_assert_msg(error.empty(), k.name);
		return v;
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
		for (const auto& k: keys)
		{
			// "= 5" or "a. = 5": an empty name part would be its own prefix
			// again (endless recursion); report the key as written.
			if (k.empty()) out.push_back(prefix + ".");
			else collectKeys(prefix.empty() ? k : prefix + "." + k, out);
		}
	}

private:
	const Poco::Util::AbstractConfiguration& _config;
	std::string _path;
};

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
		if (find(key)) continue;
		if (key.compare(0, 8, "plugins.") == 0) continue; // checked below, once plugins.load is known
		r.fail(key, "unknown key (see docs/configuration.md for the keys imgated knows)");
	}

	// In table order, so that a derived default sees the keys above it.
	Settings s;
	for (const auto& k: schema()) k.set(s, r.value(k, s));
	// A broken condition names the key the file sets (the other one may be
	// at its default).
	for (const auto& rule: rules())
	{
		const std::string problem = rule.problem(s);
		if (!problem.empty()) r.fail(rule.other && !r.has(rule.key) ? rule.other : rule.key, problem);
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
		// "plugins.NAME. = 1" (found by the settings fuzz target): no key
		// after the plugin's name, and nothing POCO could read back.
		if (dot + 1 == key.size()) r.fail(key, "expected plugins." + name + ".KEY, the key is missing after the dot");
		s.pluginSettings[name][key.substr(dot + 1)] = r.raw(key);
	}
	return s;
}


std::map<std::string, std::string> Settings::values() const
{
	std::map<std::string, std::string> v;
	for (const auto& k: schema()) v[k.name] = k.text(*this);
	for (const auto& plugin: pluginSettings)
	{
		for (const auto& kv: plugin.second) v["plugins." + plugin.first + "." + kv.first] = kv.second;
	}
	return v;
}


Settings Settings::reloaded(const Settings& next, std::map<std::string, std::string>& refused) const
{
	Settings merged = *this;
	for (const auto& k: schema())
	{
		if (k.reloadable) k.copy(next, merged);
	}
	// A rule between a reloaded key and one that needs a restart may only
	// hold with both new values: the reloaded one keeps its running value.
	for (const auto& rule: rules())
	{
		const std::string problem = rule.problem(merged);
		if (problem.empty()) continue;
		std::string waiting;
		for (const char* name: {rule.key, rule.other})
		{
			const SettingKey* pKey = name ? find(name) : nullptr;
			if (pKey && !pKey->reloadable) waiting += (waiting.empty() ? "" : ", ") + std::string(name);
		}
		for (const char* name: {rule.key, rule.other})
		{
			const SettingKey* pKey = name ? find(name) : nullptr;
			if (!pKey || !pKey->reloadable) continue;
			if (pKey->text(merged) != pKey->text(*this))
				refused[name] = problem + (waiting.empty() ? std::string() : " (" + waiting + " needs a restart); restart to apply both");
			pKey->copy(*this, merged);
		}
	}
	// The running settings met every rule, so reverting every reloaded key
	// must too; should a rule still fail, nothing is reloaded.
	for (const auto& rule: rules())
	{
		const std::string problem = rule.problem(merged);
		if (problem.empty()) continue;
		for (const auto& k: schema())
		{
			if (k.reloadable && k.text(next) != k.text(*this) && !refused.count(k.name)) refused[k.name] = problem;
		}
		return *this;
	}
	return merged;
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
