//
// PluginHostTest.cpp
//
// Real plugin .so files, one for every way a plugin can be wrong; every
// error names the plugin, its file and the problem.
//

#include "server/plugin/FilterChain.h"
#include "server/plugin/PluginHost.h"
#include "Poco/Environment.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>
#include <fstream>

using namespace imgate;
using imgate::plugin::FilterChain;
using imgate::plugin::PluginException;
using imgate::plugin::PluginHost;
using imgate::plugin::SessionSlots;

namespace {

std::string pluginPath(const std::string& name)
{
	return std::string(IMGATE_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

} // namespace


class PluginHostTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(PluginHostTest);
	CPPUNIT_TEST(testLoadsGoodPlugin);
	CPPUNIT_TEST(testMissingFile);
	CPPUNIT_TEST(testNotASharedLibrary);
	CPPUNIT_TEST(testEmptyFile);
	CPPUNIT_TEST(testNoVersionSymbol);
	CPPUNIT_TEST(testOtherMajorVersion);
	CPPUNIT_TEST(testNewerMinorVersion);
	CPPUNIT_TEST(testNoManifest);
	CPPUNIT_TEST(testWrongManifestClass);
	CPPUNIT_TEST(testSameClassInTwoPlugins);
	CPPUNIT_TEST(testTwoClasses);
	CPPUNIT_TEST(testInitializeThrows);
	CPPUNIT_TEST(testChainVerdicts);
	CPPUNIT_TEST(testChainShieldsExceptions);
	CPPUNIT_TEST(testChainShieldsAnyThrow);
	CPPUNIT_TEST(testSessionSlotKeepsState);
	CPPUNIT_TEST(testAuthenticator);
	CPPUNIT_TEST(testOlderMinorGetsNoNewerHooks);
	CPPUNIT_TEST_SUITE_END();

public:
	std::string errorOf(const std::string& name, const std::string& path, const std::map<std::string, std::string>& settings = {})
	{
		PluginHost host;
		try
		{
			host.load(name, path, settings);
		}
		catch (PluginException& exc)
		{
			CPPUNIT_ASSERT(host.plugins().empty());
			return exc.message();
		}
		CPPUNIT_FAIL("no PluginException for " + path);
		return "";
	}

	std::string prefix(const std::string& name, const std::string& path)
	{
		return "plugin " + name + " (" + path + "): ";
	}

	void testLoadsGoodPlugin()
	{
		PluginHost host;
		host.load("probe", pluginPath("probe"), {});
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), host.plugins().size());
		CPPUNIT_ASSERT_EQUAL(std::string("probe"), host.plugins()[0].name);
		CPPUNIT_ASSERT_EQUAL(PluginHost::apiVersion(), host.plugins()[0].apiVersion);
		CPPUNIT_ASSERT_EQUAL(std::string("1.1"), PluginHost::versionText(host.plugins()[0].apiVersion));
	}

	void testOlderMinorGetsNoNewerHooks()
	{
		// A plugin built for 1.0 loads in this 1.1 server, but never sees
		// the 1.1 hooks nor the bans only the admin API makes.
		PluginHost host;
		host.load("legacy", pluginPath("legacy"), {});
		CPPUNIT_ASSERT_EQUAL(std::string("1.0"), PluginHost::versionText(host.plugins()[0].apiVersion));
		FilterChain chain(host);
		CPPUNIT_ASSERT(!chain.recordsBans());
		imgate::BanRequest request;
		request.uid = "mallory";
		CPPUNIT_ASSERT(!chain.unban(request));
		CPPUNIT_ASSERT(chain.listBans().empty());
		Poco::Environment::set("IMGATE_LEGACY_BANS", "");
		request.address = "10.0.0.0/8";
		request.seconds = 60;
		chain.ban(request);         // a CIDR block: admin only
		request.address = "10.0.0.1";
		request.seconds = 0;
		chain.ban(request);         // until lifted: admin only
		request.seconds = 30;
		chain.ban(request);         // what a 1.0 plugin knows
		CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1/30;"), Poco::Environment::get("IMGATE_LEGACY_BANS"));
	}

	void testMissingFile()
	{
		std::string path = pluginPath("ghost");
		CPPUNIT_ASSERT_EQUAL(prefix("ghost", path) + "file not found", errorOf("ghost", path));
	}

	void testNotASharedLibrary()
	{
		std::string path = pluginPath("text-file");
		// Longer than an ELF header (64 bytes), or dlopen says "file too short".
		std::ofstream(path) << std::string(200, '#') << "\nthis is not an ELF file, just some text for the test\n";
		std::string e = errorOf("text-file", path);
		Poco::File(path).remove();
		CPPUNIT_ASSERT_EQUAL(prefix("text-file", path) + "cannot load: invalid ELF header", e);
	}

	void testEmptyFile()
	{
		std::string path = pluginPath("empty");
		std::ofstream(path).close();
		std::string e = errorOf("empty", path);
		Poco::File(path).remove();
		CPPUNIT_ASSERT_EQUAL(prefix("empty", path) + "cannot load: file too short", e);
	}

	void testNoVersionSymbol()
	{
		std::string path = pluginPath("no-version");
		CPPUNIT_ASSERT_EQUAL(prefix("no-version", path)
			+ "not an imgate plugin: no imgate_plugin_api_version() (end the plugin with IMGATE_PLUGIN(Class))",
			errorOf("no-version", path));
	}

	void testOtherMajorVersion()
	{
		std::string path = pluginPath("wrong-major");
		CPPUNIT_ASSERT_EQUAL(prefix("wrong-major", path)
			+ "built for plugin API 2.0, this server provides 1.1 (rebuild the plugin against this server's SDK)",
			errorOf("wrong-major", path));
	}

	void testNewerMinorVersion()
	{
		std::string path = pluginPath("newer-minor");
		CPPUNIT_ASSERT_EQUAL(prefix("newer-minor", path)
			+ "built for plugin API 1.99, this server provides 1.1 (rebuild the plugin against this server's SDK)",
			errorOf("newer-minor", path));
	}

	void testNoManifest()
	{
		std::string path = pluginPath("no-manifest");
		CPPUNIT_ASSERT_EQUAL(prefix("no-manifest", path) + "no class manifest (end the plugin with IMGATE_PLUGIN(Class))",
			errorOf("no-manifest", path));
	}

	void testWrongManifestClass()
	{
		std::string path = pluginPath("wrong-class");
		CPPUNIT_ASSERT_EQUAL(prefix("wrong-class", path) + "its class manifest is not for imgate::Filter (end the plugin with IMGATE_PLUGIN(Class))",
			errorOf("wrong-class", path));
	}

	void testSameClassInTwoPlugins()
	{
		// Both export "ProbeFilter"; each name gets its own library's class,
		// whatever the load order.
		PluginHost host;
		host.load("probe-copy", pluginPath("probe-copy"), {{"rejectUid", "mallory"}});
		host.load("probe", pluginPath("probe"), {{"rejectUid", "mallory"}});
		LoginInfo login;
		login.uid = "mallory";
		SessionSlot slot;
		CPPUNIT_ASSERT_EQUAL(std::string("probe-copy: uid mallory refused"), host.plugins()[0].pFilter->onLogin(login, slot).message());
		CPPUNIT_ASSERT_EQUAL(std::string("probe: uid mallory refused"), host.plugins()[1].pFilter->onLogin(login, slot).message());
	}

	void testTwoClasses()
	{
		std::string path = pluginPath("two-classes");
		CPPUNIT_ASSERT_EQUAL(prefix("two-classes", path) + "must export exactly one filter class, exports 2",
			errorOf("two-classes", path));
	}

	void testInitializeThrows()
	{
		std::string path = pluginPath("probe");
		CPPUNIT_ASSERT_EQUAL(prefix("probe", path) + "configuration: failInit: asked to fail",
			errorOf("probe", path, {{"failInit", "true"}}));
	}

	void testChainVerdicts()
	{
		PluginHost host;
		host.load("probe", pluginPath("probe"), {{"rejectUid", "mallory"}, {"banUid", "eve"}});
		FilterChain chain(host);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), chain.size());
		CPPUNIT_ASSERT(!chain.hasAuthenticator());
		SessionSlots slots;
		bool authenticated = true;
		LoginInfo login;
		login.uid = "alice";
		CPPUNIT_ASSERT(chain.onLogin(login, slots, authenticated).action() == Verdict::PROCEED);
		CPPUNIT_ASSERT(!authenticated);
		login.uid = "mallory";
		Verdict v = chain.onLogin(login, slots, authenticated);
		CPPUNIT_ASSERT(v.action() == Verdict::REJECT);
		CPPUNIT_ASSERT(v.status() == Status::RATE_LIMITED);
		CPPUNIT_ASSERT_EQUAL(std::string("probe: uid mallory refused"), v.message());
		login.uid = "eve";
		v = chain.onLogin(login, slots, authenticated);
		CPPUNIT_ASSERT(v.action() == Verdict::BAN);
		CPPUNIT_ASSERT_EQUAL(60u, v.banSeconds());
	}

	void testChainShieldsExceptions()
	{
		PluginHost host;
		host.load("probe", pluginPath("probe"), {{"throwOnUid", "boom"}});
		FilterChain chain(host);
		SessionSlots slots;
		bool authenticated;
		LoginInfo login;
		login.uid = "boom";
		Verdict v = chain.onLogin(login, slots, authenticated);
		CPPUNIT_ASSERT(v.action() == Verdict::REJECT);
		CPPUNIT_ASSERT(v.status() == Status::INTERNAL);
		login.uid = "fine";
		CPPUNIT_ASSERT(!chain.onLogin(login, slots, authenticated).stops());
	}

	void testChainShieldsAnyThrow()
	{
		PluginHost host;
		host.load("probe", pluginPath("probe"), {{"throwOnFrameCmd", "16"}, {"throwOnAccept", "true"}});
		FilterChain chain(host);
		SessionSlots slots;
		FrameInfo frame;
		frame.cmd = 16; // throws an int
		Verdict v = chain.onFrame(frame, slots);
		CPPUNIT_ASSERT(v.action() == Verdict::REJECT);
		CPPUNIT_ASSERT(v.status() == Status::INTERNAL);
		CPPUNIT_ASSERT_EQUAL(std::string("internal error"), v.message());
		frame.cmd = 3;
		CPPUNIT_ASSERT(!chain.onFrame(frame, slots).stops());
		PeerInfo peer;
		peer.address = "127.0.0.1";
		CPPUNIT_ASSERT(chain.onAccept(peer).status() == Status::INTERNAL);
	}

	void testSessionSlotKeepsState()
	{
		PluginHost host;
		host.load("probe", pluginPath("probe"), {{"maxFrames", "3"}});
		FilterChain chain(host);
		SessionSlots first, second;
		FrameInfo frame;
		for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(!chain.onFrame(frame, first).stops());
		CPPUNIT_ASSERT(chain.onFrame(frame, first).status() == Status::RATE_LIMITED);
		CPPUNIT_ASSERT(!chain.onFrame(frame, second).stops()); // per session
	}

	void testAuthenticator()
	{
		PluginHost host;
		host.load("probe", pluginPath("probe"), {{"authenticate", "yes"}});
		FilterChain chain(host);
		CPPUNIT_ASSERT(chain.hasAuthenticator());
		SessionSlots slots;
		bool authenticated = false;
		LoginInfo login;
		login.uid = "alice";
		login.token = "let-me-in";
		CPPUNIT_ASSERT(!chain.onLogin(login, slots, authenticated).stops());
		CPPUNIT_ASSERT(authenticated);
		login.token = "wrong";
		Verdict v = chain.onLogin(login, slots, authenticated);
		CPPUNIT_ASSERT(v.status() == Status::AUTH_FAILED);
		CPPUNIT_ASSERT(!authenticated);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginHostTest);
