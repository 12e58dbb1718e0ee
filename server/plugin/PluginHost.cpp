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

namespace imgate {
namespace plugin {

POCO_IMPLEMENT_EXCEPTION(PluginException, Poco::RuntimeException, "Plugin error")


namespace {

const char* VERSION_SYMBOL = "imgate_plugin_api_version";

} // namespace


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
