//
// ImgateServer.h
//
// Layer: app
// The imgated daemon: command line, configuration, logging, signals.
//

#ifndef imgate_app_ImgateServer_INCLUDED
#define imgate_app_ImgateServer_INCLUDED

#include "Poco/AutoPtr.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include "server/app/Settings.h"
#include "Poco/Util/ServerApplication.h"
#include <string>

namespace imgate {
namespace app {

class Server;

class ImgateServer: public Poco::Util::ServerApplication
	/// Options: --config/-c PATH, --help/-h, --version, and
	/// ServerApplication's --daemon, --pidfile, --umask.
	///
	/// Signals: SIGTERM, SIGINT, SIGQUIT drain and stop; SIGHUP makes the
	/// plugins re-read their files.
	///
	/// Exit codes: EXIT_OK after a clean shutdown (SIGTERM/SIGINT),
	/// EXIT_USAGE for a bad option, EXIT_CONFIG for a configuration error
	/// (one log line naming file, line and key), EXIT_UNAVAILABLE when the
	/// listening address cannot be bound, EXIT_SOFTWARE for anything else.
{
public:
	ImgateServer();

protected:
	void initialize(Poco::Util::Application& self) override;
	void defineOptions(Poco::Util::OptionSet& options) override;
	void handleOption(const std::string& name, const std::string& value) override;
	int main(const std::vector<std::string>& args) override;

private:
	void handleConfig(const std::string& name, const std::string& value);
	void handleHelp(const std::string& name, const std::string& value);
	void handleVersion(const std::string& name, const std::string& value);
	void loadConfigFile();
	Settings settingsFrom(const Poco::Util::AbstractConfiguration* pConfig) const;
		/// Validated settings of pConfig (null: the built-in defaults), paths
		/// made absolute against the launch folder. Throws ConfigException.
	void reload(Server& server);
		/// SIGHUP: reads the file again and hands the result to server; a
		/// file that does not load keeps the running settings (and says why).
	void setUpLogging();

	const std::string _launchDir;
	std::string _configPath;
	Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> _pFileConfig;
	std::string _startupError;
	bool _helpRequested = false;
	bool _versionRequested = false;
};

} } // namespace imgate::app

#endif // imgate_app_ImgateServer_INCLUDED
