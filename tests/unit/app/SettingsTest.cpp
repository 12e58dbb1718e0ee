//
// SettingsTest.cpp
//

#include "server/app/Server.h"
#include "server/app/Settings.h"
#include "Poco/AutoPtr.h"
#include "Poco/Environment.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/String.h"
#include "Poco/Channel.h"
#include "Poco/Logger.h"
#include "Poco/Message.h"
#include "Poco/NumberParser.h"
#include "Poco/StringTokenizer.h"
#include "Poco/Util/MapConfiguration.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include <cppunit/extensions/HelperMacros.h>
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

using namespace imgate::app;
using imgate::session::SessionConfig;
using Poco::Util::MapConfiguration;

namespace {

std::string readFile(const std::string& path)
{
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

} // namespace


class SettingsTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(SettingsTest);
	CPPUNIT_TEST(testDefaults);
	CPPUNIT_TEST(testValuesRead);
	CPPUNIT_TEST(testHeartbeatTimeoutDerived);
	CPPUNIT_TEST(testBadIntegerNamesFileLineAndKey);
	CPPUNIT_TEST(testOutOfRange);
	CPPUNIT_TEST(testUnknownKey);
	CPPUNIT_TEST(testPluginKeyWithoutPlugin);
	CPPUNIT_TEST(testBadBoolean);
	CPPUNIT_TEST(testBadChoice);
	CPPUNIT_TEST(testDeliveredRetentionWithinRetention);
	CPPUNIT_TEST(testPostgresqlStoreNeedsAConnectionString);
	CPPUNIT_TEST(testBadAddress);
	CPPUNIT_TEST(testTimeoutBelowInterval);
	CPPUNIT_TEST(testPayloadMustFitBody);
	CPPUNIT_TEST(testPluginsLoadAndTheirSettings);
	CPPUNIT_TEST(testLoggingKeysAllowed);
	CPPUNIT_TEST(testSchemaMatchesDocs);
	CPPUNIT_TEST(testDocsNameOnlyKnownKeys);
	CPPUNIT_TEST(testValuesCoverSchema);
	CPPUNIT_TEST(testWrittenDefaultsLoad);
	CPPUNIT_TEST(testLiveKeysLandInSessions);
	CPPUNIT_TEST(testReloadedCopiesExactlyTheLiveKeys);
	CPPUNIT_TEST(testEveryLiveKeyReachesTheSessions);
	CPPUNIT_TEST(testRestartKeysKeepTheRunningValue);
	CPPUNIT_TEST(testPayloadAboveRunningBodyNotApplied);
	CPPUNIT_TEST(testSchemaMatchesShippedConfig);
	CPPUNIT_TEST(testShippedConfigsLoad);
	CPPUNIT_TEST(testEffectiveMaxSessions);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		Poco::Path p(Poco::Path::temp());
		p.setFileName("imgate-settings-test-" + std::to_string(Poco::Environment::processorCount()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".properties");
		_path = p.toString();
	}

	void tearDown() override
	{
		Poco::File f(_path);
		if (f.exists()) f.remove();
	}

	Settings loadText(const std::string& text)
	{
		std::ofstream(_path) << text;
		Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> pConfig = new Poco::Util::PropertyFileConfiguration(_path);
		return Settings::load(*pConfig, _path);
	}

	std::string errorOf(const std::string& text)
	{
		try
		{
			loadText(text);
		}
		catch (ConfigException& exc)
		{
			return exc.message();
		}
		CPPUNIT_FAIL("no ConfigException for: " + text);
		return "";
	}

	void testDefaults()
	{
		Settings s = Settings::defaults();
		CPPUNIT_ASSERT_EQUAL(std::string("0.0.0.0"), s.address);
		CPPUNIT_ASSERT_EQUAL(7700u, s.port);
		CPPUNIT_ASSERT_EQUAL(2u, s.session.drainTime);
		CPPUNIT_ASSERT_EQUAL(static_cast<unsigned>(Poco::Environment::processorCount()), s.ioThreads);
		CPPUNIT_ASSERT_EQUAL(30u, s.session.heartbeatInterval);
		CPPUNIT_ASSERT_EQUAL(90u, s.session.heartbeatTimeout);
		CPPUNIT_ASSERT_EQUAL(10u, s.session.loginTimeout);
		CPPUNIT_ASSERT_EQUAL(10u, s.session.takeoverGuard);
		CPPUNIT_ASSERT_EQUAL(65536u, s.session.maxBodySize);
		CPPUNIT_ASSERT_EQUAL(32768u, s.session.maxPayloadSize);
		CPPUNIT_ASSERT_EQUAL(10u, s.session.retransmitTimeout);
		CPPUNIT_ASSERT_EQUAL(64u, s.session.window);
		CPPUNIT_ASSERT_EQUAL(std::string("sqlite"), s.storeType);
		CPPUNIT_ASSERT_EQUAL(std::string("data/imgate.db"), s.storePath);
		CPPUNIT_ASSERT_EQUAL(std::string("full"), s.storeSync);
		CPPUNIT_ASSERT_EQUAL(2592000u, s.retention);
		CPPUNIT_ASSERT_EQUAL(86400u, s.deliveredRetention);
		CPPUNIT_ASSERT_EQUAL(std::size_t(10000), s.maxPendingPerRecipient);
		CPPUNIT_ASSERT(!s.session.allowAnonymous);
		CPPUNIT_ASSERT_MESSAGE(s.pluginsDir, Poco::Path(s.pluginsDir).isAbsolute() && Poco::endsWith(s.pluginsDir, std::string("/imgate/plugins")));
		CPPUNIT_ASSERT(s.pluginsLoad.empty());
		CPPUNIT_ASSERT(s.adminEnabled);
		CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), s.adminAddress);
		CPPUNIT_ASSERT_EQUAL(7780u, s.adminPort);
		CPPUNIT_ASSERT(s.adminTokenFile.empty());
	}

	void testValuesRead()
	{
		Settings s = loadText("server.port = 9000\nserver.address=127.0.0.1\nauth.allowAnonymous: yes\ndelivery.window = 8\nplugins.load =\n");
		CPPUNIT_ASSERT_EQUAL(9000u, s.port);
		CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), s.address);
		CPPUNIT_ASSERT(s.session.allowAnonymous);
		CPPUNIT_ASSERT_EQUAL(8u, s.session.window);
	}

	void testHeartbeatTimeoutDerived()
	{
		CPPUNIT_ASSERT_EQUAL(15u, loadText("session.heartbeatInterval = 5\n").session.heartbeatTimeout);
		CPPUNIT_ASSERT_EQUAL(7u, loadText("session.heartbeatInterval = 5\nsession.heartbeatTimeout = 7\n").session.heartbeatTimeout);
	}

	void testBadIntegerNamesFileLineAndKey()
	{
		std::string e = errorOf("# comment\nserver.address = 127.0.0.1\n  server.port = seventy\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(_path + ":3: server.port: ") == 0);
		CPPUNIT_ASSERT_MESSAGE(e, e.find("\"seventy\"") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(e, e.find("0 to 65535") != std::string::npos);
	}

	void testOutOfRange()
	{
		std::string e = errorOf("delivery.window = 0\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":1: delivery.window: expected a whole number from 1 to 4096, got 0") != std::string::npos);
		CPPUNIT_ASSERT(errorOf("server.port = 70000\n").find("server.port") != std::string::npos);
		CPPUNIT_ASSERT(errorOf("server.port = -1\n").find("server.port") != std::string::npos);
	}

	void testUnknownKey()
	{
		std::string e = errorOf("server.port = 1\nserver.prot = 2\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":2: server.prot: unknown key") != std::string::npos);
		CPPUNIT_ASSERT(errorOf("foo = bar\n").find("foo: unknown key") != std::string::npos);
	}

	void testPluginKeyWithoutPlugin()
	{
		std::string e = errorOf("plugins.auth-jwt.secret = s3cret\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("plugins.auth-jwt.secret: plugin settings need their plugin in plugins.load") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE("a secret value must never be echoed", e.find("s3cret") == std::string::npos);
	}

	void testBadBoolean()
	{
		std::string e = errorOf("auth.allowAnonymous = maybe\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("auth.allowAnonymous: expected true or false, got \"maybe\"") != std::string::npos);
	}

	void testPostgresqlStoreNeedsAConnectionString()
	{
		std::string e = errorOf("store.type = postgresql\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":1: store.type: postgresql needs store.postgresql, a libpq connection string") != std::string::npos);
		e = errorOf("store.type = postgresql\nstore.postgresql = host=127.0.0.1 dbname\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("store.postgresql: not a libpq connection string") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(e, e.find("dbname") != std::string::npos); // libpq says where
		// libpq quotes what it could not read: never a password.
		e = errorOf("store.type = postgresql\nstore.postgresql = host=127.0.0.1 password=hunter2 dbname\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("not a libpq connection string") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(e, e.find("hunter2") == std::string::npos);
		// Read, not connected to, until the server starts.
		Settings s = loadText("store.type = postgresql\nstore.postgresql = postgresql://imgate@127.0.0.1:1/imgate\n");
		CPPUNIT_ASSERT_EQUAL(std::string("postgresql://imgate@127.0.0.1:1/imgate"), s.storePostgresql);
	}

	void testBadChoice()
	{
		std::string e = errorOf("store.type = redis\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("store.type: expected one of sqlite, postgresql, memory, got \"redis\"") != std::string::npos);
		e = errorOf("store.sync = off\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":1: store.sync: expected one of full, normal, got \"off\"") != std::string::npos);
	}

	void testDeliveredRetentionWithinRetention()
	{
		std::string e = errorOf("store.retention = 3600\nstore.deliveredRetention = 7200\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":2: store.deliveredRetention: store.deliveredRetention (7200) must be at most store.retention (3600)") != std::string::npos);
		Settings s = loadText("store.retention = 3600\nstore.deliveredRetention = 0\nstore.sync = normal\n");
		CPPUNIT_ASSERT_EQUAL(0u, s.deliveredRetention);
		CPPUNIT_ASSERT_EQUAL(std::string("normal"), s.storeSync);
	}

	void testBadAddress()
	{
		std::string e = errorOf("server.address = localhost:80\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("server.address: expected an IPv4 or IPv6 address") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(std::string("::1"), loadText("server.address = ::1\n").address);
	}

	void testTimeoutBelowInterval()
	{
		std::string e = errorOf("session.heartbeatInterval = 30\nsession.heartbeatTimeout = 10\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":2: session.heartbeatTimeout: session.heartbeatTimeout (10) must not be below session.heartbeatInterval (30)") != std::string::npos);
	}

	void testPayloadMustFitBody()
	{
		std::string e = errorOf("protocol.maxBodySize = 1024\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("protocol.maxBodySize: message.maxPayloadSize (32768) must be at most protocol.maxBodySize - 256 (768)") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(768u, loadText("protocol.maxBodySize = 1024\nmessage.maxPayloadSize = 768\n").session.maxPayloadSize);
	}

	void testPluginsLoadAndTheirSettings()
	{
		Settings s = loadText("plugins.load = blacklist, auth-jwt\nplugins.auth-jwt.secret = s3cret\nplugins.auth-jwt.leeway = 5\n");
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), s.pluginsLoad.size());
		CPPUNIT_ASSERT_EQUAL(std::string("blacklist"), s.pluginsLoad[0]);
		CPPUNIT_ASSERT_EQUAL(std::string("auth-jwt"), s.pluginsLoad[1]);
		CPPUNIT_ASSERT_EQUAL(std::string("s3cret"), s.pluginSettings["auth-jwt"]["secret"]);
		CPPUNIT_ASSERT_EQUAL(std::string("5"), s.pluginSettings["auth-jwt"]["leeway"]);
		CPPUNIT_ASSERT(s.pluginSettings.count("blacklist") == 0);
		std::string e = errorOf("plugins.load = a, ../evil\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":1: plugins.load: plugin names are letters, digits, - and _ (the file NAME.so), got \"../evil\"") != std::string::npos);
		e = errorOf("plugins.load = a,a\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("plugins.load: plugin a is listed twice") != std::string::npos);
		e = errorOf("plugins.load = a\nplugins.b.key = 1\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":2: plugins.b.key: plugin settings need their plugin in plugins.load") != std::string::npos);
		// A dot and no key (the settings fuzz target's find: it threw NotFoundException).
		e = errorOf("plugins.load = auth-jwt\nplugins.auth-jwt. = 1\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("plugins.auth-jwt.: expected plugins.auth-jwt.KEY, the key is missing after the dot") != std::string::npos);
	}

	void testLoggingKeysAllowed()
	{
		Settings s = loadText("logging.loggers.root.level = debug\nserver.port = 1234\n");
		CPPUNIT_ASSERT_EQUAL(1234u, s.port);
	}

	void testValuesCoverSchema()
	{
		// A reload compares values(): a key missing there would never be
		// reported as changed.
		Settings s = loadText("plugins.load = x\nplugins.x.rate = 5\nsession.heartbeatInterval = 20\n");
		std::map<std::string, std::string> v = s.values();
		for (const auto& k: Settings::schema())
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " missing from Settings::values()", v.count(k.name) == 1);
		CPPUNIT_ASSERT_EQUAL(Settings::schema().size() + 1, v.size());
		CPPUNIT_ASSERT_EQUAL(std::string("5"), v["plugins.x.rate"]);
		CPPUNIT_ASSERT_EQUAL(std::string("60"), v["session.heartbeatTimeout"]); // derived
		CPPUNIT_ASSERT_EQUAL(std::string("x"), v["plugins.load"]);
		CPPUNIT_ASSERT(Settings::find("delivery.window")->reloadable);
		CPPUNIT_ASSERT(!Settings::find("server.port")->reloadable);
		CPPUNIT_ASSERT(Settings::find("no.such") == nullptr);
	}

	static std::vector<std::string> cells(const std::string& row)
		/// The cells of a Markdown table row, trimmed.
	{
		std::vector<std::string> result;
		Poco::StringTokenizer t(row, "|", Poco::StringTokenizer::TOK_TRIM);
		for (std::size_t i = 1; i + 1 < t.count(); ++i) result.push_back(t[i]);
		return result;
	}

	void testSchemaMatchesDocs()
	{
		// Each key's line gives its default (or "empty"; a derived default
		// is described in words) and what SIGHUP does with it.
		std::string docs = readFile(std::string(IMGATE_SOURCE_DIR) + "/docs/configuration.md");
		CPPUNIT_ASSERT(!docs.empty());
		CPPUNIT_ASSERT(docs.find("| key | default | SIGHUP | meaning |") != std::string::npos);
		for (const auto& k: Settings::schema())
		{
			std::string cell = "| `" + std::string(k.name) + "` |";
			std::size_t at = docs.find(cell);
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " is not documented in docs/configuration.md", at != std::string::npos);
			std::string row = docs.substr(at, docs.find('\n', at) - at);
			std::vector<std::string> c = cells(row);
			CPPUNIT_ASSERT_MESSAGE(row, c.size() >= 4);
			if (*k.defaultValue)
				CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": docs row does not give the default " + k.defaultValue + ": " + row,
					c[1] == "`" + std::string(k.defaultValue) + "`");
			else if (!k.derive)
				CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": docs row should give the default as empty: " + row, c[1] == "empty");
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": the SIGHUP column should say " + (k.reloadable ? "live" : "restart") + ": " + row,
				c[2] == (k.reloadable ? "live" : "restart"));
		}
	}

	void testDocsNameOnlyKnownKeys()
	{
		std::istringstream docs(readFile(std::string(IMGATE_SOURCE_DIR) + "/docs/configuration.md"));
		std::string line;
		int rows = 0;
		while (std::getline(docs, line))
		{
			if (line.compare(0, 3, "| `") != 0) continue;
			std::string key = line.substr(3, line.find('`', 3) - 3);
			CPPUNIT_ASSERT_MESSAGE(key + " is documented but is no key of Settings::schema()", Settings::find(key) != nullptr);
			++rows;
		}
		CPPUNIT_ASSERT_EQUAL(static_cast<int>(Settings::schema().size()), rows);
	}

	void testSchemaMatchesShippedConfig()
	{
		// etc/imgate.properties names every key (set or commented out) and no other.
		std::ifstream in(std::string(IMGATE_SOURCE_DIR) + "/etc/imgate.properties");
		CPPUNIT_ASSERT(in.good());
		std::set<std::string> mentioned;
		std::string line;
		while (std::getline(in, line))
		{
			std::size_t i = line.find_first_not_of("# \t");
			if (i == std::string::npos) continue;
			std::size_t eq = line.find_first_of(" =", i);
			if (eq == std::string::npos || line.find('=', i) == std::string::npos) continue;
			std::string key = line.substr(i, eq - i);
			if (key.find('.') == std::string::npos) continue;
			mentioned.insert(key);
		}
		for (const auto& k: Settings::schema())
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " missing from etc/imgate.properties", mentioned.count(k.name) == 1);
		for (const auto& key: mentioned)
		{
			bool known = key.compare(0, 8, "logging.") == 0 || key.compare(0, 8, "plugins.") == 0;
			for (const auto& k: Settings::schema()) known = known || key == k.name;
			CPPUNIT_ASSERT_MESSAGE(key + " in etc/imgate.properties is not a known key", known);
		}
	}

	void testShippedConfigsLoad()
	{
		for (const char* name: {"/etc/imgate.properties", "/etc/imgate.dev.properties", "/etc/imgate.dev-plugins.properties"})
		{
			std::string path = std::string(IMGATE_SOURCE_DIR) + name;
			Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> pConfig = new Poco::Util::PropertyFileConfiguration(path);
			Settings s = Settings::load(*pConfig, path);
			CPPUNIT_ASSERT_EQUAL(7700u, s.port);
		}
	}

	void testWrittenDefaultsLoad()
	{
		// Every default written in the table, set explicitly in a file,
		// loads (it is within the bounds) and gives the built-in defaults.
		std::string text;
		for (const auto& k: Settings::schema())
		{
			if (*k.defaultValue) text += std::string(k.name) + " = " + k.defaultValue + "\n";
			else CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": only a text or a list may default to empty",
				k.derive || k.type == SettingKey::STRING || k.type == SettingKey::LIST);
		}
		const Settings defaults = Settings::defaults();
		CPPUNIT_ASSERT(loadText(text).values() == defaults.values());
		for (const auto& k: Settings::schema())
		{
			if (k.derive) CPPUNIT_ASSERT_EQUAL(k.derive(defaults), k.text(defaults));
		}
	}

	void testLiveKeysLandInSessions()
	{
		// Only SessionConfig reaches the running server on a
		// reload (the row factories refuse anything else at compile time),
		// and each row reaches its own field of it; every field but the
		// close linger has a row.
		std::set<std::string> reached;
		for (const auto& k: Settings::schema())
		{
			if (k.reloadable) CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " is reloadable but does not land in Settings::session", k.inSession);
			Settings s = Settings::defaults();
			Settings changed = loadText(companions(k) + k.name + " = " + otherValue(k, k.text(s)) + "\n");
			std::vector<std::string> fields = differences(s.session, changed.session);
			if (k.name == std::string("session.heartbeatInterval")) fields.erase(std::remove(fields.begin(), fields.end(), "heartbeatTimeout"), fields.end()); // derived
			if (!k.inSession)
			{
				CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " changed the session config", fields.empty());
				continue;
			}
			CPPUNIT_ASSERT_EQUAL_MESSAGE(k.name, std::size_t(1), fields.size());
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " lands in a field another key lands in", reached.insert(fields[0]).second);
		}
		std::vector<std::string> all = differences(SessionConfig(), SessionConfig(), true);
		for (const auto& field: all)
			CPPUNIT_ASSERT_MESSAGE("SessionConfig::" + field + " has no row in Settings::schema()", field == "closeLinger" || reached.count(field));
	}

	void testReloadedCopiesExactlyTheLiveKeys()
	{
		const Settings running = Settings::defaults();
		for (const auto& k: Settings::schema())
		{
			std::string value = otherValue(k, k.text(running));
			Settings next = loadText(companions(k) + k.name + " = " + value + "\n");
			std::map<std::string, std::string> refused;
			const Settings merged = running.reloaded(next, refused);
			CPPUNIT_ASSERT(refused.empty());
			CPPUNIT_ASSERT_EQUAL_MESSAGE(k.name, k.reloadable ? value : k.text(running), k.text(merged));
			for (const auto& other: Settings::schema())
			{
				if (&other == &k || (k.name == std::string("session.heartbeatInterval") && other.name == std::string("session.heartbeatTimeout"))) continue;
				CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(k.name) + " changed " + other.name, other.text(running), other.text(merged));
			}
		}
	}

	void testEveryLiveKeyReachesTheSessions()
	{
		// A reloadable key changed in a reload changes the config the
		// running sessions read, and only then is it logged as applied.
		int live = 0;
		for (const auto& k: Settings::schema())
		{
			if (!k.reloadable) continue;
			++live;
			LogLines log;
			Server server(serverSettings({}));
			const SessionConfig before = server.sessions().config();
			const std::string value = otherValue(k, k.text(serverSettings({})));
			const Settings next = serverSettings({{k.name, value}});
			server.reload(next, _path);
			const SessionConfig& now = server.sessions().config();
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " did not reach the sessions", !differences(before, now).empty());
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": the sessions do not run with the new settings", differences(now, next.session).empty());
			CPPUNIT_ASSERT_MESSAGE(log.text(), log.has("SIGHUP: applied " + std::string(k.name) + " "));
			CPPUNIT_ASSERT_MESSAGE(log.text(), !log.has("SIGHUP: needs a restart"));
		}
		CPPUNIT_ASSERT_EQUAL(10, live);
	}

	void testRestartKeysKeepTheRunningValue()
	{
		for (const auto& k: Settings::schema())
		{
			if (k.reloadable) continue;
			LogLines log;
			Server server(serverSettings({}));
			const SessionConfig before = server.sessions().config();
			const std::string value = otherValue(k, k.text(serverSettings({})));
			server.reload(serverSettings(withCompanions(k, value)), _path);
			CPPUNIT_ASSERT_MESSAGE(k.name, differences(before, server.sessions().config()).empty());
			CPPUNIT_ASSERT_MESSAGE(log.text(), log.has("SIGHUP: needs a restart, still running with the old value: " + std::string(k.name) + " "));
			CPPUNIT_ASSERT_MESSAGE(log.text(), !log.has("SIGHUP: applied"));
			// Reported again at the next reload: the running value stayed.
			server.reload(serverSettings(withCompanions(k, value)), _path);
			CPPUNIT_ASSERT_EQUAL_MESSAGE(log.text(), std::size_t(2), log.count("SIGHUP: needs a restart, still running with the old value: " + std::string(k.name) + " "));
		}
	}

	void testPayloadAboveRunningBodyNotApplied()
	{
		// The new payload limit fits only the new body size, which needs a
		// restart: the running limit stays, the window is applied.
		LogLines log;
		Server server(serverSettings({}));
		server.reload(serverSettings({{"protocol.maxBodySize", "131072"}, {"message.maxPayloadSize", "100000"}, {"delivery.window", "8"}}), _path);
		const SessionConfig& now = server.sessions().config();
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(32768), now.maxPayloadSize);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(65536), now.maxBodySize);
		CPPUNIT_ASSERT_EQUAL(8u, now.window);
		CPPUNIT_ASSERT_MESSAGE(log.text(), log.has("SIGHUP: not applied: message.maxPayloadSize 32768 -> 100000: message.maxPayloadSize (100000) must be at most"
			" protocol.maxBodySize - 256 (65280) so that a full MSG_SEND fits in a frame (protocol.maxBodySize needs a restart); restart to apply both"));
		CPPUNIT_ASSERT_MESSAGE(log.text(), log.has("SIGHUP: needs a restart, still running with the old value: protocol.maxBodySize 65536 -> 131072"));
		CPPUNIT_ASSERT_MESSAGE(log.text(), log.has("SIGHUP: applied delivery.window 64 -> 8"));
		CPPUNIT_ASSERT_MESSAGE(log.text(), !log.has("SIGHUP: applied message.maxPayloadSize"));
		// A payload limit that fits the running body size is applied.
		server.reload(serverSettings({{"message.maxPayloadSize", "1000"}}), _path);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(1000), server.sessions().config().maxPayloadSize);
		CPPUNIT_ASSERT_MESSAGE(log.text(), log.has("SIGHUP: applied message.maxPayloadSize 32768 -> 1000"));
	}

	void testEffectiveMaxSessions()
	{
		CPPUNIT_ASSERT_EQUAL(std::size_t(19932), Server::effectiveMaxSessions(100000, 20000, 2));
		CPPUNIT_ASSERT_EQUAL(std::size_t(19424), Server::effectiveMaxSessions(100000, 20000, 256));
		CPPUNIT_ASSERT_EQUAL(std::size_t(500), Server::effectiveMaxSessions(500, 20000, 2));
		CPPUNIT_ASSERT_EQUAL(std::size_t(100000), Server::effectiveMaxSessions(100000, 0, 2));
	}

private:
	class LogLines: public Poco::Channel
		/// Collects what imgate.app logs while it lives.
	{
	public:
		LogLines():
			_logger(Poco::Logger::get("imgate.app")),
			_pPrevious(_logger.getChannel())
		{
			_logger.setChannel(Poco::Channel::Ptr(this, true));
		}

		~LogLines()
		{
			_logger.setChannel(_pPrevious);
		}

		void log(const Poco::Message& message) override
		{
			_lines.push_back(message.getText());
		}

		std::size_t count(const std::string& start) const
		{
			std::size_t n = 0;
			for (const auto& line: _lines) n += line.compare(0, start.size(), start) == 0;
			return n;
		}

		bool has(const std::string& start) const
		{
			return count(start) > 0;
		}

		std::string text() const
		{
			std::string all;
			for (const auto& line: _lines) all += line + "\n";
			return all;
		}

	private:
		Poco::Logger& _logger;
		Poco::Channel::Ptr _pPrevious;
		std::vector<std::string> _lines;
	};

	Settings serverSettings(std::map<std::string, std::string> overrides)
		/// A server that can be built in this process without binding or
		/// writing anything, with overrides on top.
	{
		std::map<std::string, std::string> keys = {{"server.address", "127.0.0.1"}, {"server.port", "0"},
			{"server.ioThreads", "1"}, {"store.type", "memory"}, {"admin.enabled", "false"}};
		for (const auto& kv: overrides) keys[kv.first] = kv.second;
		std::string text;
		for (const auto& kv: keys) text += kv.first + " = " + kv.second + "\n";
		return loadText(text);
	}

	static std::string companions(const SettingKey& k)
		/// The lines a changed k needs beside it to load (a TLS port needs a
		/// certificate and key, the postgresql store a connection string;
		/// they are not read unless the server starts).
	{
		std::string lines;
		for (const auto& key: withCompanions(k, ""))
		{
			if (key.first != k.name) lines += key.first + " = " + key.second + "\n";
		}
		return lines;
	}

	static std::map<std::string, std::string> withCompanions(const SettingKey& k, const std::string& value)
	{
		std::map<std::string, std::string> keys = {{k.name, value}};
		if (k.name == std::string("tls.port"))
		{
			keys["tls.certificateFile"] = "/nonexistent/cert.pem";
			keys["tls.privateKeyFile"] = "/nonexistent/key.pem";
		}
		if (k.name == std::string("store.type")) keys["store.postgresql"] = "host=127.0.0.1 dbname=imgate";
		if (k.name == std::string("cluster.enabled"))
		{
			keys["cluster.nodeId"] = "node1";
			keys["store.type"] = "postgresql";
			keys["store.postgresql"] = "host=127.0.0.1 dbname=imgate";
		}
		return keys;
	}

	static std::string otherValue(const SettingKey& k, const std::string& current)
		/// A valid value of k that differs from current.
	{
		switch (k.type)
		{
		case SettingKey::INT:
			{
				Poco::Int64 n = Poco::NumberParser::parse64(current);
				return std::to_string(n < k.max ? n + 1 : n - 1);
			}
		case SettingKey::BOOL:
			return current == "true" ? "false" : "true";
		case SettingKey::ADDRESS:
			return current == "127.0.0.1" ? "127.0.0.2" : "127.0.0.1";
		case SettingKey::CHOICE:
			{
				Poco::StringTokenizer choices(k.choices, "|");
				for (const auto& c: choices)
				{
					if (c != current) return c;
				}
				break;
			}
		case SettingKey::STRING:
			return current.empty() ? "other" : current + ".other";
		case SettingKey::LIST:
			return current.empty() ? "other" : current + ", other";
		}
		CPPUNIT_FAIL(std::string("no other value for ") + k.name);
		return "";
	}

	static std::vector<std::string> differences(const SessionConfig& a, const SessionConfig& b, bool all = false)
		/// The fields (every field if all) in which a and b differ; written
		/// out here, not taken from the table it checks.
	{
		std::vector<std::string> names;
		auto field = [&](const char* name, bool same) { if (all || !same) names.push_back(name); };
		field("maxBodySize", a.maxBodySize == b.maxBodySize);
		field("maxPayloadSize", a.maxPayloadSize == b.maxPayloadSize);
		field("heartbeatInterval", a.heartbeatInterval == b.heartbeatInterval);
		field("heartbeatTimeout", a.heartbeatTimeout == b.heartbeatTimeout);
		field("loginTimeout", a.loginTimeout == b.loginTimeout);
		field("takeoverGuard", a.takeoverGuard == b.takeoverGuard);
		field("retransmitTimeout", a.retransmitTimeout == b.retransmitTimeout);
		field("window", a.window == b.window);
		field("drainTime", a.drainTime == b.drainTime);
		field("closeLinger", a.closeLinger == b.closeLinger);
		field("allowAnonymous", a.allowAnonymous == b.allowAnonymous);
		field("devicePolicy", a.devicePolicy == b.devicePolicy);
		field("maxDevices", a.maxDevices == b.maxDevices);
		field("maxGroupMembers", a.maxGroupMembers == b.maxGroupMembers);
		field("historyRetention", a.historyRetention == b.historyRetention);
		return names;
	}

	std::string _path;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SettingsTest);
