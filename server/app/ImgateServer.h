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
#include "Poco/Util/ServerApplication.h"
#include <string>

namespace imgate {
namespace app {

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
