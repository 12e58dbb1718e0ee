//
// PluginHostTest.cpp
//
// Real plugin .so files, one for every way a plugin can be wrong; every
// error names the plugin, its file and the problem.
//

#include "server/plugin/FilterChain.h"
#include "server/plugin/PluginHost.h"
#include "Poco/AutoPtr.h"
#include "Poco/Channel.h"
#include "Poco/Environment.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/Logger.h"
#include "Poco/Message.h"
#include "Poco/Mutex.h"
#include <cppunit/extensions/HelperMacros.h>
#include <cstdlib>
#include <fstream>
#include <set>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

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


class LinesChannel: public Poco::Channel
	/// Keeps the text of every message logged to it.
{
public:
	void log(const Poco::Message& msg) override
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		_lines += msg.getText() + "\n";
	}

	std::string lines() const
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		return _lines;
	}

private:
	mutable Poco::FastMutex _mutex;
	std::string _lines;
};


BanRequest banOf(const std::string& address, const std::string& uid, unsigned seconds)
{
	BanRequest ban;
	ban.address = address;
	ban.uid = uid;
	ban.seconds = seconds;
	ban.reason = "test";
	ban.origin = "admin";
	return ban;
}


std::string listed(const FilterChain& chain)
	/// "address|uid|seconds|reason|origin;" for each ban the chain lists.
{
	std::string text;
	for (const BanRequest& ban: chain.listBans())
		text += ban.address + "|" + ban.uid + "|" + std::to_string(ban.seconds) + "|" + ban.reason + "|" + ban.origin + ";";
	return text;
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
	CPPUNIT_TEST(testApi11PluginKeepsBansThroughItsHooks);
	CPPUNIT_TEST(testApi11PluginRebuiltKeepsBansWithAWarning);
	CPPUNIT_TEST(testApi12PluginKeepsBansInItsStore);
	CPPUNIT_TEST(testBansAcrossPluginsOfEveryVersion);
	CPPUNIT_TEST(testPluginsOthersCanChangeAreRefused);
	CPPUNIT_TEST(testFoldersAboveThePluginFolderCount);
	CPPUNIT_TEST(testOpensTheCheckedFileOnce);
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
		CPPUNIT_ASSERT_EQUAL(std::string("1.3"), PluginHost::versionText(host.plugins()[0].apiVersion));
	}

	void testOlderMinorGetsNoNewerHooks()
	{
		// A plugin built for 1.0 loads in this 1.3 server, but never sees
		// the 1.1 and 1.2 hooks nor the bans only the admin API makes.
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

	void expectKeepsListsAndLifts(const FilterChain& chain)
		/// The chain's one ban store keeps, lists and lifts bans.
	{
		CPPUNIT_ASSERT(chain.recordsBans());
		CPPUNIT_ASSERT(chain.listBans().empty());
		CPPUNIT_ASSERT(chain.recordBan(banOf("", "mallory", 60)));
		CPPUNIT_ASSERT(chain.recordBan(banOf("10.0.0.0/8", "", 0)));
		chain.ban(banOf("203.0.113.7", "", 30)); // a verdict's ban, no answer asked
		CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.0/8||0|test|admin;203.0.113.7||30|test|admin;|mallory|60|test|admin;"), listed(chain));
		CPPUNIT_ASSERT(chain.unban(banOf("", "mallory", 0)));
		CPPUNIT_ASSERT(!chain.unban(banOf("", "mallory", 0)));
		CPPUNIT_ASSERT(chain.unban(banOf("10.0.0.0/8", "", 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.7||30|test|admin;"), listed(chain));
	}

	void testApi11PluginKeepsBansThroughItsHooks()
	{
		// Built against the SDK as 1.1 shipped it (tests/fixtures/plugins/
		// sdk-1.1): its vtable ends at reconfigure(), so calling banStore()
		// on it would jump past its end.
		PluginHost host;
		host.load("bans-v11", pluginPath("bans-v11"), {});
		CPPUNIT_ASSERT_EQUAL(std::string("1.1"), PluginHost::versionText(host.plugins()[0].apiVersion));
		FilterChain chain(host);
		expectKeepsListsAndLifts(chain);

		// Whether it kept a ban, the 1.1 hooks cannot say: the list does.
		PluginHost fullHost;
		fullHost.load("bans-v11", pluginPath("bans-v11"), {{"full", "true"}});
		FilterChain full(fullHost);
		CPPUNIT_ASSERT(full.recordsBans());
		CPPUNIT_ASSERT(!full.recordBan(banOf("10.0.0.0/8", "", 0)));
		CPPUNIT_ASSERT(!full.recordBan(banOf("", "mallory", 60)));
	}

	void testApi11PluginRebuiltKeepsBansWithAWarning()
	{
		// The same source built against today's SDK says 1.3 and has no
		// store: its 1.1 hooks keep working, and the log says what to do.
		Poco::AutoPtr<LinesChannel> pLines = new LinesChannel;
		Poco::Logger& logger = Poco::Logger::get("imgate.plugin.bans-v11-rebuilt");
		logger.setChannel(pLines);
		PluginHost host;
		host.load("bans-v11-rebuilt", pluginPath("bans-v11-rebuilt"), {});
		CPPUNIT_ASSERT_EQUAL(std::string("1.3"), PluginHost::versionText(host.plugins()[0].apiVersion));
		FilterChain chain(host);
		logger.setChannel(nullptr);
		CPPUNIT_ASSERT_EQUAL(std::string("keeps bans through the plugin API 1.1 hooks (recordsBans, onBan, onUnban, listBans) although built for 1.3: "
			"they still work, but implement banStore() (docs/plugins.md, \"Bans\")\n"), pLines->lines());
		expectKeepsListsAndLifts(chain);
	}

	void testApi12PluginKeepsBansInItsStore()
	{
		Poco::Environment::set("IMGATE_STORE_ONBAN", "");
		PluginHost host;
		host.load("bans-v12", pluginPath("bans-v12"), {});
		FilterChain chain(host);
		expectKeepsListsAndLifts(chain);
		// Every ban went to record(), none to onBan().
		CPPUNIT_ASSERT_EQUAL(std::string(""), Poco::Environment::get("IMGATE_STORE_ONBAN"));

		PluginHost fullHost;
		fullHost.load("bans-v12", pluginPath("bans-v12"), {{"full", "true"}});
		FilterChain full(fullHost);
		CPPUNIT_ASSERT(full.recordsBans());
		CPPUNIT_ASSERT(!full.recordBan(banOf("", "mallory", 60)));
		CPPUNIT_ASSERT(full.listBans().empty());
	}

	void testBansAcrossPluginsOfEveryVersion()
	{
		// 1.0 (no ban hooks), 1.1 (hooks) and 1.2 (store) in one chain: a ban
		// reaches each as its version knows; lists come in plugin order.
		Poco::Environment::set("IMGATE_LEGACY_BANS", "");
		Poco::Environment::set("IMGATE_STORE_ONBAN", "");
		PluginHost host;
		host.load("legacy", pluginPath("legacy"), {});
		host.load("bans-v11", pluginPath("bans-v11"), {});
		host.load("bans-v12", pluginPath("bans-v12"), {});
		host.load("probe", pluginPath("probe"), {}); // 1.3, keeps no bans
		FilterChain chain(host);
		CPPUNIT_ASSERT(chain.recordBan(banOf("10.0.0.0/8", "", 0)));
		CPPUNIT_ASSERT(chain.recordBan(banOf("198.51.100.7", "eve", 60)));
		CPPUNIT_ASSERT_EQUAL(std::string("198.51.100.7/60;"), Poco::Environment::get("IMGATE_LEGACY_BANS"));
		CPPUNIT_ASSERT_EQUAL(std::string(""), Poco::Environment::get("IMGATE_STORE_ONBAN"));
		CPPUNIT_ASSERT_EQUAL(std::string(
			"10.0.0.0/8||0|test|admin;198.51.100.7||60|test|admin;|eve|60|test|admin;"  // bans-v11: one entry per target
			"10.0.0.0/8||0|test|admin;198.51.100.7|eve|60|test|admin;"),                // bans-v12: as asked
			listed(chain));
		// Lifted where held: the 1.1 plugin by address, the store by its key.
		CPPUNIT_ASSERT(chain.unban(banOf("10.0.0.0/8", "", 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("198.51.100.7||60|test|admin;|eve|60|test|admin;198.51.100.7|eve|60|test|admin;"), listed(chain));
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
			+ "built for plugin API 2.0, this server provides 1.3 (rebuild the plugin against this server's SDK)",
			errorOf("wrong-major", path));
	}

	void testNewerMinorVersion()
	{
		std::string path = pluginPath("newer-minor");
		CPPUNIT_ASSERT_EQUAL(prefix("newer-minor", path)
			+ "built for plugin API 1.99, this server provides 1.3 (rebuild the plugin against this server's SDK)",
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

	static void copyFile(const std::string& from, const std::string& to, mode_t mode)
	{
		std::ifstream in(from, std::ios::binary);
		std::ofstream out(to, std::ios::binary);
		out << in.rdbuf();
		out.close();
		CPPUNIT_ASSERT_EQUAL(0, ::chmod(to.c_str(), mode));
	}

	static std::string makeDir(const std::string& path, mode_t mode)
	{
		Poco::File(path).createDirectories();
		CPPUNIT_ASSERT_EQUAL(0, ::chmod(path.c_str(), mode));
		return path;
	}

	void testPluginsOthersCanChangeAreRefused()
	{
		// As sshd's StrictModes: code that another user could change is never
		// loaded (a library's constructors run as soon as it is opened).
		const std::string root = Poco::Path::temp() + "imgate-plugin-modes-" + std::to_string(::getpid()) + "/";
		const std::string good = makeDir(root + "good", 0755);
		const std::string open = makeDir(root + "open", 0777);
		const std::string shared = makeDir(root + "shared", 0775);
		copyFile(pluginPath("probe"), good + "/probe.so", 0644);
		copyFile(pluginPath("probe"), good + "/writable.so", 0666);
		copyFile(pluginPath("probe"), good + "/group.so", 0664);
		copyFile(pluginPath("probe"), good + "/stranger.so", 0644);
		CPPUNIT_ASSERT_EQUAL(0, ::chown((good + "/stranger.so").c_str(), 54321, 54321));
		copyFile(pluginPath("probe"), open + "/probe.so", 0644);
		copyFile(pluginPath("probe"), shared + "/probe.so", 0644);
		CPPUNIT_ASSERT_EQUAL(0, ::symlink((open + "/probe.so").c_str(), (good + "/via-open.so").c_str()));
		CPPUNIT_ASSERT_EQUAL(0, ::symlink((good + "/probe.so").c_str(), (open + "/to-good.so").c_str()));
		const std::string other = makeDir(root + "other", 0755);
		CPPUNIT_ASSERT_EQUAL(0, ::symlink((good + "/probe.so").c_str(), (other + "/linked.so").c_str()));
		try
		{
			PluginHost host;
			host.load("probe", good + "/probe.so", {});
			host.load("linked", other + "/linked.so", {}); // a symlink between trusted folders is fine
			CPPUNIT_ASSERT_EQUAL(std::size_t(2), host.plugins().size());

			std::string e = errorOf("w", good + "/writable.so");
			CPPUNIT_ASSERT_EQUAL(prefix("w", good + "/writable.so") + "refusing to load: the plugin file " + good
				+ "/writable.so is writable by others (mode 0666): chmod go-w " + good + "/writable.so", e);
			e = errorOf("g", good + "/group.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the plugin file " + good + "/group.so is writable by its group (mode 0664)") != std::string::npos);
			e = errorOf("s", good + "/stranger.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the plugin file " + good + "/stranger.so is owned by uid 54321, not by root or the server's user") != std::string::npos);
			e = errorOf("o", open + "/probe.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the plugin folder " + root + "open is writable by others (mode 0777): chmod go-w " + root + "open") != std::string::npos);
			e = errorOf("sh", shared + "/probe.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the plugin folder " + root + "shared is writable by its group (mode 0775)") != std::string::npos);
			// A symlink is judged by where it leads, and where it is.
			e = errorOf("v", good + "/via-open.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the plugin folder " + root + "open is writable by others") != std::string::npos);
			e = errorOf("t", open + "/to-good.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the plugin folder " + root + "open is writable by others") != std::string::npos);
		}
		catch (...)
		{
			Poco::File(root).remove(true);
			throw;
		}
		Poco::File(root).remove(true);
	}

	void testFoldersAboveThePluginFolderCount()
	{
		// Every folder from / down to the plugin folder: whoever may rename
		// one may put a folder of their own, with a plugin of their own, in
		// its place. A sticky folder (as /tmp) is fine above the plugin
		// folder, not as it.
		const std::string root = Poco::Path::temp() + "imgate-plugin-above-" + std::to_string(::getpid()) + "/";
		const std::string team = makeDir(root + "team", 0775);
		const std::string teamPlugins = makeDir(team + "/plugins", 0755);
		copyFile(pluginPath("probe"), teamPlugins + "/probe.so", 0644);
		const std::string sticky = makeDir(root + "sticky", 01777);
		const std::string stickyPlugins = makeDir(sticky + "/plugins", 0755);
		copyFile(pluginPath("probe"), stickyPlugins + "/probe.so", 0644);
		copyFile(pluginPath("probe"), sticky + "/probe.so", 0644);
		const std::string strangers = makeDir(root + "strangers", 01777);
		const std::string strangersPlugins = makeDir(strangers + "/plugins", 0755);
		copyFile(pluginPath("probe"), strangersPlugins + "/probe.so", 0644);
		CPPUNIT_ASSERT_EQUAL(0, ::chown(strangers.c_str(), 54321, 54321));
		const std::string good = makeDir(root + "good", 0755);
		copyFile(pluginPath("probe"), good + "/probe.so", 0644);
		CPPUNIT_ASSERT_EQUAL(0, ::symlink((teamPlugins + "/probe.so").c_str(), (good + "/via-team.so").c_str()));
		CPPUNIT_ASSERT_EQUAL(0, ::symlink((good + "/probe.so").c_str(), (teamPlugins + "/to-good.so").c_str()));
		try
		{
			PluginHost host;
			host.load("sticky", stickyPlugins + "/probe.so", {}); // others may add to the folder above, not replace ours
			CPPUNIT_ASSERT_EQUAL(std::size_t(1), host.plugins().size());

			const std::string teamWritable = "refusing to load: the folder " + team + " (above the plugin folder " + teamPlugins
				+ ") is writable by its group (mode 0775): chmod go-w " + team;
			std::string e = errorOf("t", teamPlugins + "/probe.so");
			CPPUNIT_ASSERT_EQUAL(prefix("t", teamPlugins + "/probe.so") + teamWritable, e);
			e = errorOf("s", sticky + "/probe.so");
			CPPUNIT_ASSERT_EQUAL(prefix("s", sticky + "/probe.so") + "refusing to load: the plugin folder " + sticky
				+ " is writable by others (mode 1777): others may add files to it: keep plugins in a folder only root or the server's user can write", e);
			// The owner of a sticky folder may rename anything in it.
			e = errorOf("o", strangersPlugins + "/probe.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find("the folder " + strangers + " (above the plugin folder " + strangersPlugins
				+ ") is owned by uid 54321, not by root or the server's user") != std::string::npos);
			// Symlinks: where the link leads, and where it is.
			e = errorOf("v", good + "/via-team.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find(teamWritable) != std::string::npos);
			e = errorOf("l", teamPlugins + "/to-good.so");
			CPPUNIT_ASSERT_MESSAGE(e, e.find(teamWritable) != std::string::npos);
		}
		catch (...)
		{
			Poco::File(root).remove(true);
			throw;
		}
		Poco::File(root).remove(true);
	}

	static int collectName(struct dl_phdr_info* pInfo, std::size_t, void* pNames)
	{
		static_cast<std::set<std::string>*>(pNames)->insert(pInfo->dlpi_name ? pInfo->dlpi_name : "");
		return 0;
	}

	void testOpensTheCheckedFileOnce()
	{
		// The library is opened by the path checkTrusted() judged (a
		// symlink's target, resolved), and mapped once: its constructors
		// run once, not once for its version and again for its manifest.
		const std::string root = Poco::Path::temp() + "imgate-plugin-once-" + std::to_string(::getpid()) + "/";
		const std::string dir = makeDir(root + "plugins", 0755);
		copyFile(pluginPath("probe"), dir + "/real.so", 0644);
		CPPUNIT_ASSERT_EQUAL(0, ::symlink((dir + "/real.so").c_str(), (dir + "/alias.so").c_str()));
		try
		{
			::setenv("IMGATE_PROBE_MAPPED", "0", 1);
			{
				PluginHost host;
				host.load("alias", dir + "/alias.so", {});
				CPPUNIT_ASSERT_EQUAL(std::string("1"), std::string(::getenv("IMGATE_PROBE_MAPPED")));
				std::set<std::string> names;
				::dl_iterate_phdr(&collectName, &names);
				CPPUNIT_ASSERT(names.count(dir + "/real.so") == 1);
				CPPUNIT_ASSERT(names.count(dir + "/alias.so") == 0);
				// Messages keep naming the file as configured.
				CPPUNIT_ASSERT_EQUAL(dir + "/alias.so", host.plugins()[0].path);
			}
			::unsetenv("IMGATE_PROBE_MAPPED");
		}
		catch (...)
		{
			::unsetenv("IMGATE_PROBE_MAPPED");
			Poco::File(root).remove(true);
			throw;
		}
		Poco::File(root).remove(true);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginHostTest);
