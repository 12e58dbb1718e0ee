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
#include <vector>

namespace imgate {
namespace app {

class Server;

class ImgateServer: public Poco::Util::ServerApplication
	/// Options: --config/-c PATH, --help/-h, --version, and
	/// ServerApplication's --daemon, --pidfile, --umask.
	///
	/// Signals: SIGTERM, SIGINT, SIGQUIT drain and stop; SIGHUP reads the
	/// configuration file again, applies what can change live and logs
	/// each changed key as applied or as needing a restart (a file that
	/// does not load keeps the running settings), then the plugins re-read
	/// their files (Server::reload).
	///
	/// Exit codes: EXIT_OK after a clean shutdown (SIGTERM/SIGINT), --help
	/// or --version; EXIT_CONFIG for a bad option (one line on stderr naming
	/// it and pointing to --help, as ServerApplication exits for one) and
	/// for a configuration error (one log line naming file, line and key);
	/// EXIT_USAGE for an unexpected argument; EXIT_UNAVAILABLE when the
	/// listening address cannot be bound; EXIT_IOERR when the store cannot
	/// be opened; EXIT_SOFTWARE for anything else.
{
public:
	ImgateServer();

	int runCommand(int argc, char** argv);
		/// Checks the options, then ServerApplication::run(argc, argv). A bad
		/// option is reported before --daemon forks (a daemon's output goes
		/// nowhere) and returns EXIT_CONFIG.

protected:
	void initialize(Poco::Util::Application& self) override;
	void defineOptions(Poco::Util::OptionSet& options) override;
	void handleOption(const std::string& name, const std::string& value) override;
	int main(const std::vector<std::string>& args) override;

private:
	std::string optionError(const std::vector<std::string>& args);
		/// What is wrong with the options in args (the command line without
		/// the program name), as one line that names the option and points
		/// to imgated --help; "" if nothing is. Checked with the options and
		/// the option processor ServerApplication uses.

	static std::string keyHint(const std::string& argument);
		/// For an argument that sets a configuration key (server.port=1,
		/// --server.port=1): where keys are set instead. Otherwise "".

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
