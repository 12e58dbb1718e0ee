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

void checkNotOpen(const std::string& what, const std::string& path, const char* kind)
	/// path (a file or folder a plugin comes from) is owned by root or by
	/// this process's user, and nobody else may write it.
{
	struct stat st;
	if (::stat(path.c_str(), &st) != 0)
		throw PluginException(what + "cannot check " + path + ": " + std::strerror(errno));
	const uid_t me = ::geteuid();
	if (st.st_uid != 0 && st.st_uid != me)
	{
		throw PluginException(what + "refusing to load: the " + kind + " " + path + " is owned by uid " + std::to_string(st.st_uid)
			+ ", not by root or the server's user (uid " + std::to_string(me) + "): another user could change the code the server runs");
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
	{
		throw PluginException(what + "refusing to load: the " + kind + " " + path + " is writable by "
			+ ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " + octal(st.st_mode) + "): chmod go-w " + path);
	}
}

} // namespace


void PluginHost::checkTrusted(const std::string& what, const std::string& path)
{
	// As sshd's StrictModes: the code the server will run, and the folders
	// it is found in, can be changed by no one but root or the server's
	// own user. A symlink is judged by where it leads, and where it is.
	struct stat link;
	if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
		checkNotOpen(what, parentOf(path), "plugin folder");
	char resolved[PATH_MAX];
	if (!::realpath(path.c_str(), resolved))
		throw PluginException(what + "cannot resolve " + path + ": " + std::strerror(errno));
	checkNotOpen(what, parentOf(resolved), "plugin folder");
	checkNotOpen(what, resolved, "plugin file");
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
	checkTrusted(what, path);

	// The version first, with a plain SharedLibrary: ClassLoader checks
	// only a class-name string, nothing about the ABI.
	unsigned version;
	{
		Poco::SharedLibrary library;
		try
		{
			library.load(path, Poco::SharedLibrary::SHLIB_LOCAL);
		}
		catch (Poco::Exception& exc)
		{
			// dlerror() starts with the path, which the message names already.
			std::string reason = exc.message();
			if (reason.compare(0, path.size() + 2, path + ": ") == 0) reason.erase(0, path.size() + 2);
			throw PluginException(what + "cannot load: " + reason);
		}
		if (!library.hasSymbol(VERSION_SYMBOL))
		{
			library.unload();
			throw PluginException(what + "not an imgate plugin: no " + VERSION_SYMBOL + "() (end the plugin with IMGATE_PLUGIN(Class))");
		}
		using VersionFunction = unsigned (*)();
		version = reinterpret_cast<VersionFunction>(library.getSymbol(VERSION_SYMBOL))();
		library.unload();
	}
	const unsigned host = apiVersion();
	if ((version >> 16) != (host >> 16) || (version & 0xFFFF) > (host & 0xFFFF))
	{
		throw PluginException(what + "built for plugin API " + versionText(version)
			+ ", this server provides " + versionText(host) + " (rebuild the plugin against this server's SDK)");
	}

	try
	{
		_loader.loadLibrary(path);
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
	const Poco::Manifest<Filter>* pManifest = _loader.findManifest(path);
	if (!pManifest || pManifest->size() != 1)
	{
		std::size_t n = pManifest ? pManifest->size() : 0;
		_loader.unloadLibrary(path);
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
