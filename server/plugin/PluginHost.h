//
// PluginHost.h
//
// Layer: plugin
// Loads filter plugins (NAME.so) with Poco::ClassLoader after checking
// their API version, and owns the filters.
//

#ifndef imgate_plugin_PluginHost_INCLUDED
#define imgate_plugin_PluginHost_INCLUDED

#include "imgate/Filter.h"
#include "Poco/ClassLoader.h"
#include "Poco/Exception.h"
#include "Poco/Util/AbstractConfiguration.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace plugin {

POCO_DECLARE_EXCEPTION(, PluginException, Poco::RuntimeException)
	/// A plugin that cannot be used; the text names the plugin, its file
	/// and what is wrong.


class PluginHost
	/// Main thread only (start-up). The ClassLoader is declared first, so it
	/// is destroyed last: no library is unloaded while a filter made from it
	/// is alive. Whoever holds per-session plugin state (SessionSlot) must
	/// be destroyed before the host.
{
public:
	struct Plugin
	{
		std::string name;
		std::string path;
		unsigned apiVersion;
		std::unique_ptr<Filter> pFilter;
	};

	PluginHost();
	~PluginHost();

	void load(const std::string& name, const std::string& path, const std::map<std::string, std::string>& settings);
		/// Loads path (which must hold exactly one filter class), checks its
		/// API version, creates the filter and initializes it with settings
		/// (the plugin's own keys, "plugins.NAME." removed). Throws
		/// PluginException "plugin NAME (PATH): ..." for a missing file, a
		/// file that is not a shared library, no API version symbol, an API
		/// version this server does not support, no manifest or a manifest
		/// of the wrong class, and an initialize() that throws. Before any
		/// of its code runs, refuses a file (or, for a symlink, its target)
		/// or a folder on the way to it that is owned by another user than
		/// root or the server's, or writable by group or others
		/// (checkTrusted()). The library is opened once, by the resolved
		/// path checkTrusted() judged.

	const std::vector<Plugin>& plugins() const;

	static std::string checkTrusted(const std::string& what, const std::string& path);
		/// Returns the path resolved (realpath(): no symlink in it), to be
		/// opened as it is. Throws PluginException (what, then the path, its
		/// mode or owner and the fix) unless the file path resolves to and
		/// the folder it is in (the plugin folder), and, for a symlink, the
		/// folder of the link too, are owned by root or this process's user
		/// and not writable by group or others, and so is every folder above
		/// those up to / (resolved), except that a folder above may be
		/// writable by others if it has the sticky bit (as /tmp: others may
		/// add entries to it, but not rename or remove ours).

	static unsigned apiVersion();
		/// The API version this server provides (IMGATE_PLUGIN_API_VERSION).

	static std::string versionText(unsigned version);
		/// "1.0".

private:
	Poco::ClassLoader<Filter> _loader;
	std::vector<Plugin> _plugins;
};


inline const std::vector<PluginHost::Plugin>& PluginHost::plugins() const
{
	return _plugins;
}

} } // namespace imgate::plugin

#endif // imgate_plugin_PluginHost_INCLUDED
