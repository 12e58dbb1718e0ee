//
// PluginHost.cpp
//
// Layer: plugin
//

#include "server/plugin/PluginHost.h"
#include "imgate/Plugin.h"
#include "Poco/File.h"
#include "Poco/SharedLibrary.h"
#include "Poco/Util/MapConfiguration.h"
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace imgate {
namespace plugin {

POCO_IMPLEMENT_EXCEPTION(PluginException, Poco::RuntimeException, "Plugin error")


namespace {

const char* VERSION_SYMBOL = "imgate_plugin_api_version";

std::string octal(unsigned mode)
{
	char text[8];
	std::snprintf(text, sizeof(text), "%04o", mode & 07777);
	return text;
}

std::string parentOf(const std::string& path)
{
	const std::size_t slash = path.rfind('/');
	if (slash == std::string::npos) return ".";
	return slash == 0 ? std::string("/") : path.substr(0, slash);
}


std::string resolve(const std::string& what, const std::string& path)
{
	char resolved[PATH_MAX];
	if (!::realpath(path.c_str(), resolved))
		throw PluginException(what + "cannot resolve " + path + ": " + std::strerror(errno));
	return resolved;
}


void checkNotOpen(const std::string& what, const std::string& path, const std::string& described, bool mayBeSticky)
	/// path (a file or folder a plugin comes from; described names it in
	/// the message) is owned by root or by this process's user, and nobody
	/// else may write it. With mayBeSticky (a folder above the plugin
	/// folder), others may write it if it has the sticky bit, as /tmp:
	/// they may add entries to it, but never rename or remove one they do
	/// not own, and the entry below it on the way is checked to be root's
	/// or ours.
{
	struct stat st;
	if (::stat(path.c_str(), &st) != 0)
		throw PluginException(what + "cannot check " + path + ": " + std::strerror(errno));
	const uid_t me = ::geteuid();
	if (st.st_uid != 0 && st.st_uid != me)
	{
		throw PluginException(what + "refusing to load: the " + described + " is owned by uid " + std::to_string(st.st_uid)
			+ ", not by root or the server's user (uid " + std::to_string(me) + "): another user could change the code the server runs");
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
	{
		const bool sticky = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
		if (sticky && mayBeSticky) return;
		// chmod go-w /tmp would break every other user of it.
		const std::string fix = sticky
			? "others may add files to it: keep plugins in a folder only root or the server's user can write"
			: "chmod go-w " + path;
		throw PluginException(what + "refusing to load: the " + described + " is writable by "
			+ ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " + octal(st.st_mode) + "): " + fix);
	}
}


void checkFolderChain(const std::string& what, const std::string& folder)
	/// folder (a realpath: no symlink in it) as a plugin folder, then
	/// every folder above it up to /: whoever may rename or replace any
	/// of them may swap the plugin folder for one of their own.
{
	checkNotOpen(what, folder, "plugin folder " + folder, false);
	for (std::string above = folder; above != "/";)
	{
		above = parentOf(above);
		checkNotOpen(what, above, "folder " + above + " (above the plugin folder " + folder + ")", true);
	}
}

} // namespace


std::string PluginHost::checkTrusted(const std::string& what, const std::string& path)
{
	// As sshd's StrictModes: the code the server will run, and every
	// folder on the way to it from /, can be changed by no one but root or
	// the server's own user. A symlink is judged by where it leads, and
	// where it is: the folder of the link chooses what it points to.
	const std::string linkFolder = resolve(what, parentOf(path));
	checkFolderChain(what, linkFolder);
	const std::string resolved = resolve(what, path);
	const std::string folder = parentOf(resolved);
	if (folder != linkFolder) checkFolderChain(what, folder);
	checkNotOpen(what, resolved, "plugin file " + resolved, false);
	return resolved;
}


PluginHost::PluginHost()
{
}


PluginHost::~PluginHost()
{
	// Filters first, while their libraries are still loaded.
	_plugins.clear();
}


unsigned PluginHost::apiVersion()
{
	return IMGATE_PLUGIN_API_VERSION;
}


std::string PluginHost::versionText(unsigned version)
{
	return std::to_string(version >> 16) + "." + std::to_string(version & 0xFFFF);
}


void PluginHost::load(const std::string& name, const std::string& path, const std::map<std::string, std::string>& settings)
{
	const std::string what = "plugin " + name + " (" + path + "): ";
	Poco::File file(path);
	if (!file.exists()) throw PluginException(what + "file not found");
	if (!file.isFile()) throw PluginException(what + "not a regular file");
	// Before anything of it runs: dlopen() runs its constructors.
	const std::string resolved = checkTrusted(what, path);

	// Opened by the resolved path, the one checkTrusted() judged: every
	// folder on it from / is root's or ours and nobody else may write it
	// (a sticky folder lets others add entries, never replace ours), and
	// it holds no symlink, so no other user can swap any part of it
	// between the check and dlopen(): the file loaded is the file checked.
	// (Root and the server's own user could, but they can replace the
	// plugin anyway.) Not open(O_NOFOLLOW) + fstat() + dlopen() of
	// /proc/self/fd/N: that name would become the library's name for the
	// dynamic loader and ClassLoader, and glibc hands back a loaded library
	// whose name matches, so a descriptor number used again for the next
	// plugin would get the previous plugin's library.
	//
	// And opened once: the version is read first, with a plain
	// SharedLibrary (ClassLoader checks only a class-name string, nothing
	// about the ABI), and that handle stays open while ClassLoader opens
	// the same path, which then gets the same library without running its
	// constructors again; ours is closed when load() returns or throws.
	Poco::SharedLibrary library;
	try
	{
		library.load(resolved, Poco::SharedLibrary::SHLIB_LOCAL);
	}
	catch (Poco::Exception& exc)
	{
		// dlerror() starts with the path, which the message names already.
		std::string reason = exc.message();
		for (const std::string* pPath: {&resolved, &path})
		{
			if (reason.compare(0, pPath->size() + 2, *pPath + ": ") == 0) reason.erase(0, pPath->size() + 2);
		}
		throw PluginException(what + "cannot load: " + reason);
	}
	struct Closer
	{
		Poco::SharedLibrary& library;
		~Closer() { library.unload(); }
	} closer{library};
	if (!library.hasSymbol(VERSION_SYMBOL))
		throw PluginException(what + "not an imgate plugin: no " + VERSION_SYMBOL + "() (end the plugin with IMGATE_PLUGIN(Class))");
	using VersionFunction = unsigned (*)();
	const unsigned version = reinterpret_cast<VersionFunction>(library.getSymbol(VERSION_SYMBOL))();
	const unsigned host = apiVersion();
	if ((version >> 16) != (host >> 16) || (version & 0xFFFF) > (host & 0xFFFF))
	{
		throw PluginException(what + "built for plugin API " + versionText(version)
			+ ", this server provides " + versionText(host) + " (rebuild the plugin against this server's SDK)");
	}

	try
	{
		_loader.loadLibrary(resolved);
	}
	catch (Poco::Exception& exc)
	{
		// Poco's texts repeat the path; say what is wrong in our words.
		const std::string reason = exc.message();
		if (reason.compare(0, 23, "Manifest class mismatch") == 0)
			throw PluginException(what + "its class manifest is not for imgate::Filter (end the plugin with IMGATE_PLUGIN(Class))");
		if (reason.compare(0, 11, "No manifest") == 0)
			throw PluginException(what + "no class manifest (end the plugin with IMGATE_PLUGIN(Class))");
		throw PluginException(what + "cannot load its class manifest: " + reason);
	}
	const Poco::Manifest<Filter>* pManifest = _loader.findManifest(resolved);
	if (!pManifest || pManifest->size() != 1)
	{
		std::size_t n = pManifest ? pManifest->size() : 0;
		_loader.unloadLibrary(resolved);
		throw PluginException(what + "must export exactly one filter class, exports " + std::to_string(n));
	}

	Poco::AutoPtr<Poco::Util::MapConfiguration> pConfig = new Poco::Util::MapConfiguration;
	for (const auto& kv: settings) pConfig->setString(kv.first, kv.second);
	Plugin plugin;
	plugin.name = name;
	plugin.path = path;
	plugin.apiVersion = version;
	try
	{
		// From this library's own manifest: ClassLoader::create(name) would
		// take the first loaded library exporting that class name, which
		// may be another plugin built from the same source.
		plugin.pFilter.reset(pManifest->begin()->create());
		plugin.pFilter->initialize(*pConfig);
	}
	catch (Poco::Exception& exc)
	{
		plugin.pFilter.reset();
		throw PluginException(what + "configuration: " + exc.message());
	}
	catch (std::exception& exc)
	{
		plugin.pFilter.reset();
		throw PluginException(what + "initialization failed: " + exc.what());
	}
	_plugins.push_back(std::move(plugin));
}

} } // namespace imgate::plugin
