//
// SettingsTest.cpp
//

#include "server/app/Server.h"
#include "server/app/Settings.h"
#include "Poco/AutoPtr.h"
#include "Poco/Environment.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/Util/MapConfiguration.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include <cppunit/extensions/HelperMacros.h>
#include <fstream>
#include <set>
#include <sstream>

using namespace imgate::app;
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
	CPPUNIT_TEST(testBadAddress);
	CPPUNIT_TEST(testTimeoutBelowInterval);
	CPPUNIT_TEST(testPayloadMustFitBody);
	CPPUNIT_TEST(testPluginsLoadAndTheirSettings);
	CPPUNIT_TEST(testLoggingKeysAllowed);
	CPPUNIT_TEST(testSchemaMatchesDocs);
	CPPUNIT_TEST(testValuesCoverSchema);
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
		CPPUNIT_ASSERT_EQUAL(2u, s.drainTime);
		CPPUNIT_ASSERT_EQUAL(static_cast<unsigned>(Poco::Environment::processorCount()), s.ioThreads);
		CPPUNIT_ASSERT_EQUAL(30u, s.heartbeatInterval);
		CPPUNIT_ASSERT_EQUAL(90u, s.heartbeatTimeout);
		CPPUNIT_ASSERT_EQUAL(10u, s.loginTimeout);
		CPPUNIT_ASSERT_EQUAL(65536u, s.maxBodySize);
		CPPUNIT_ASSERT_EQUAL(32768u, s.maxPayloadSize);
		CPPUNIT_ASSERT_EQUAL(10u, s.retransmitTimeout);
		CPPUNIT_ASSERT_EQUAL(64u, s.window);
		CPPUNIT_ASSERT_EQUAL(std::string("sqlite"), s.storeType);
		CPPUNIT_ASSERT(s.storeFullSync);
		CPPUNIT_ASSERT_EQUAL(2592000u, s.retention);
		CPPUNIT_ASSERT_EQUAL(86400u, s.deliveredRetention);
		CPPUNIT_ASSERT(!s.allowAnonymous);
		CPPUNIT_ASSERT(s.pluginsLoad.empty());
	}

	void testValuesRead()
	{
		Settings s = loadText("server.port = 9000\nserver.address=127.0.0.1\nauth.allowAnonymous: yes\ndelivery.window = 8\nplugins.load =\n");
		CPPUNIT_ASSERT_EQUAL(9000u, s.port);
		CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), s.address);
		CPPUNIT_ASSERT(s.allowAnonymous);
		CPPUNIT_ASSERT_EQUAL(8u, s.window);
	}

	void testHeartbeatTimeoutDerived()
	{
		CPPUNIT_ASSERT_EQUAL(15u, loadText("session.heartbeatInterval = 5\n").heartbeatTimeout);
		CPPUNIT_ASSERT_EQUAL(7u, loadText("session.heartbeatInterval = 5\nsession.heartbeatTimeout = 7\n").heartbeatTimeout);
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

	void testBadChoice()
	{
		std::string e = errorOf("store.type = redis\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find("store.type: expected one of sqlite, memory, got \"redis\"") != std::string::npos);
		e = errorOf("store.sync = off\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":1: store.sync: expected one of full, normal, got \"off\"") != std::string::npos);
	}

	void testDeliveredRetentionWithinRetention()
	{
		std::string e = errorOf("store.retention = 3600\nstore.deliveredRetention = 7200\n");
		CPPUNIT_ASSERT_MESSAGE(e, e.find(":2: store.deliveredRetention: store.deliveredRetention (7200) must be at most store.retention (3600)") != std::string::npos);
		Settings s = loadText("store.retention = 3600\nstore.deliveredRetention = 0\nstore.sync = normal\n");
		CPPUNIT_ASSERT_EQUAL(0u, s.deliveredRetention);
		CPPUNIT_ASSERT(!s.storeFullSync);
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
		CPPUNIT_ASSERT_EQUAL(768u, loadText("protocol.maxBodySize = 1024\nmessage.maxPayloadSize = 768\n").maxPayloadSize);
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

	void testSchemaMatchesDocs()
	{
		std::string docs = readFile(std::string(IMGATE_SOURCE_DIR) + "/docs/configuration.md");
		CPPUNIT_ASSERT(!docs.empty());
		for (const auto& k: Settings::schema())
		{
			std::string cell = "| `" + std::string(k.name) + "` |";
			std::size_t at = docs.find(cell);
			CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " is not documented in docs/configuration.md", at != std::string::npos);
			std::string row = docs.substr(at, docs.find('\n', at) - at);
			if (*k.defaultValue)
			{
				std::string expected = "| `" + std::string(k.defaultValue) + "` |";
				CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": docs row does not give the default " + k.defaultValue + ": " + row,
					row.find(expected) != std::string::npos);
			}
		}
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

	void testEffectiveMaxSessions()
	{
		CPPUNIT_ASSERT_EQUAL(std::size_t(19932), Server::effectiveMaxSessions(100000, 20000, 2));
		CPPUNIT_ASSERT_EQUAL(std::size_t(19424), Server::effectiveMaxSessions(100000, 20000, 256));
		CPPUNIT_ASSERT_EQUAL(std::size_t(500), Server::effectiveMaxSessions(500, 20000, 2));
		CPPUNIT_ASSERT_EQUAL(std::size_t(100000), Server::effectiveMaxSessions(100000, 0, 2));
	}

private:
	std::string _path;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SettingsTest);
