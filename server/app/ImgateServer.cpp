//
// ImgateServer.cpp
//
// Layer: app
//

#include "server/app/ImgateServer.h"
#include "server/app/SystemdNotifier.h"
#include "server/app/Server.h"
#include "server/cluster/RedisLink.h"
#include "server/app/Settings.h"
#include "Poco/AutoPtr.h"
#include "Poco/ConsoleChannel.h"
#include "Poco/File.h"
#include "Poco/FormattingChannel.h"
#include "Poco/Net/NetException.h"
#include "Poco/Path.h"
#include "Poco/PatternFormatter.h"
#include "Poco/Util/HelpFormatter.h"
#include "Poco/Util/LoggingConfigurator.h"
#include "Poco/Util/Option.h"
#include "Poco/Util/OptionCallback.h"
#include "Poco/Util/OptionException.h"
#include "Poco/Util/OptionProcessor.h"
#include "Poco/Util/OptionSet.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include <cctype>
#include <csignal>
#include <iostream>

#ifndef IMGATE_VERSION
#define IMGATE_VERSION "0.0.0"
#endif

using Poco::Util::Option;
using Poco::Util::OptionCallback;

namespace imgate {
namespace app {

ImgateServer::ImgateServer():
	// Before run(): --daemon changes the working directory to / later.
	_launchDir(Poco::Path::current())
{
	setUnixOptions(true);
}


void ImgateServer::defineOptions(Poco::Util::OptionSet& options)
{
	ServerApplication::defineOptions(options);
	options.addOption(Option("config", "c", "Load the configuration from a .properties file. Without it, built-in defaults are used.")
		.required(false).repeatable(false).argument("PATH")
		.callback(OptionCallback<ImgateServer>(this, &ImgateServer::handleConfig)));
	options.addOption(Option("help", "h", "Print this help and exit.")
		.required(false).repeatable(false)
		.callback(OptionCallback<ImgateServer>(this, &ImgateServer::handleHelp)));
	options.addOption(Option("version", "", "Print the version and exit.")
		.required(false).repeatable(false)
		.callback(OptionCallback<ImgateServer>(this, &ImgateServer::handleVersion)));
}


int ImgateServer::runCommand(int argc, char** argv)
{
	const std::string error = optionError(std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc));
	if (!error.empty())
	{
		std::cerr << error << std::endl;
		return EXIT_CONFIG;
	}
	return run(argc, argv);
}


std::string ImgateServer::optionError(const std::vector<std::string>& args)
{
	// Application::processOptions() checks the same options with the same
	// processor, but only after --daemon forked, and reports a bad one as a
	// bare "Unknown option specified: x".
	Poco::Util::OptionSet options;
	defineOptions(options);
	Poco::Util::OptionProcessor processor(options);
	processor.setUnixStyle(true);
	std::string argument;
	try
	{
		for (const auto& arg: args)
		{
			argument = arg;
			std::string name;
			std::string value;
			// --help and --version stop the processing, as their handlers do.
			if (processor.process(arg, name, value) && (name == "help" || name == "version")) return "";
		}
		processor.checkRequired(); // also an option left without its argument
	}
	catch (Poco::Util::UnknownOptionException&)
	{
		const std::string hint = keyHint(argument);
		return "imgated: unknown option \"" + argument + "\"" + (hint.empty() ? std::string() : ": " + hint) + "; see imgated --help";
	}
	catch (Poco::Util::OptionException& exc)
	{
		std::string what = exc.displayText();
		if (!what.empty()) what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
		return "imgated: bad option \"" + argument + "\": " + what + "; see imgated --help";
	}
	return "";
}


std::string ImgateServer::keyHint(const std::string& argument)
{
	const std::size_t start = argument.find_first_not_of('-');
	if (start == std::string::npos) return "";
	const std::string key = argument.substr(start, argument.find_first_of("=:", start) - start);
	if (!Settings::find(key) && !Settings::isPluginKey(key) && key.compare(0, 8, "logging.") != 0) return "";
	return key + " is a configuration key, set it in the file given with --config=PATH (docs/configuration.md)";
}


void ImgateServer::handleOption(const std::string& name, const std::string& value)
{
	ServerApplication::handleOption(name, value);
}


void ImgateServer::handleConfig(const std::string&, const std::string& value)
{
	_configPath = Poco::Path(value).absolute(Poco::Path(_launchDir)).toString();
}


void ImgateServer::handleHelp(const std::string&, const std::string&)
{
	_helpRequested = true;
	stopOptionsProcessing();
}


void ImgateServer::handleVersion(const std::string&, const std::string&)
{
	_versionRequested = true;
	stopOptionsProcessing();
}


void ImgateServer::initialize(Poco::Util::Application& self)
{
	setUpLogging();
	if (_helpRequested || _versionRequested) return;
	try
	{
		loadConfigFile();
		// The LoggingSubsystem configures again later but only logs its errors;
		// configuring here turns a bad logging.* key into a start-up error.
		Poco::Util::LoggingConfigurator().configure(Poco::AutoPtr<Poco::Util::AbstractConfiguration>(&config(), true));
	}
	catch (Poco::Exception& exc)
	{
		// Reported by main(): an exception thrown here would escape run().
		_startupError = exc.displayText();
		return;
	}
	ServerApplication::initialize(self);
}


void ImgateServer::setUpLogging()
{
	// Default: the console, with timestamps. logging.* keys replace it.
	Poco::AutoPtr<Poco::PatternFormatter> pFormatter = new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i %q %s: %t");
	Poco::AutoPtr<Poco::FormattingChannel> pChannel = new Poco::FormattingChannel(pFormatter, new Poco::ConsoleChannel);
	Poco::Logger::root().setChannel(pChannel);
	Poco::Logger::root().setLevel(Poco::Message::PRIO_INFORMATION);
	for (const char* name: {"imgate.app", "imgate.admin", "imgate.net", "imgate.protocol", "imgate.session", "imgate.store"})
	{
		Poco::Logger::get(name).setChannel(pChannel);
		Poco::Logger::get(name).setLevel(Poco::Message::PRIO_INFORMATION);
	}
	config().setString("application.logger", "imgate.app"); // read by the LoggingSubsystem
	setLogger(Poco::Logger::get("imgate.app"));
}


void ImgateServer::loadConfigFile()
{
	if (_configPath.empty()) return;
	Poco::File file(_configPath);
	if (!file.exists())
		throw ConfigException(_configPath + ": configuration file not found");
	if (!file.canRead())
		throw ConfigException(_configPath + ": configuration file is not readable");
	try
	{
		_pFileConfig = new Poco::Util::PropertyFileConfiguration(_configPath);
	}
	catch (Poco::Exception& exc)
	{
		throw ConfigException(_configPath + ": cannot read: " + exc.displayText());
	}
	// The layered config() sees the file too (for logging.*); validation
	// looks at the file's own keys only, not at application.* / system.*.
	config().add(_pFileConfig, PRIO_DEFAULT, false);
}


Settings ImgateServer::settingsFrom(const Poco::Util::AbstractConfiguration* pConfig) const
{
	Settings settings = pConfig ? Settings::load(*pConfig, _configPath) : Settings::defaults();
	if (!Poco::Path(settings.storePath).isAbsolute())
		settings.storePath = Poco::Path(settings.storePath).absolute(Poco::Path(_launchDir)).toString();
	return settings;
}


void ImgateServer::reload(Server& server)
{
	Poco::Logger& log = Poco::Logger::get("imgate.app");
	if (_configPath.empty())
	{
		log.information("SIGHUP: running on the built-in defaults, no configuration file to read again");
		server.reload();
		return;
	}
	try
	{
		Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> pConfig;
		try
		{
			pConfig = new Poco::Util::PropertyFileConfiguration(_configPath);
		}
		catch (Poco::Exception& exc)
		{
			throw ConfigException(_configPath + ": cannot read: " + exc.displayText());
		}
		server.reload(settingsFrom(pConfig.get()), _configPath);
	}
	catch (ConfigException& exc)
	{
		log.error("SIGHUP: %s; the running configuration stays", exc.message());
		server.reload();
	}
}


int ImgateServer::main(const std::vector<std::string>& args)
{
	if (_helpRequested)
	{
		Poco::Util::HelpFormatter help(options());
		help.setCommand(commandName());
		help.setUsage("[--config=PATH] [--daemon] [--pidfile=PATH]");
		help.setHeader("imgate instant-messaging server, protocol v1.");
		help.setFooter("Configuration keys go in the --config file: docs/configuration.md. Signals: SIGTERM/SIGINT drain and stop;"
			" SIGHUP reads the configuration file again.");
		help.format(std::cout);
		return EXIT_OK;
	}
	if (_versionRequested)
	{
		std::cout << "imgated " << IMGATE_VERSION << " (protocol v1)" << std::endl;
		return EXIT_OK;
	}
	Poco::Logger& log = Poco::Logger::get("imgate.app");
	if (!args.empty())
	{
		const std::string hint = keyHint(args.front());
		log.fatal("unexpected argument \"%s\"%s; see imgated --help", args.front(), hint.empty() ? std::string() : ": " + hint);
		return EXIT_USAGE;
	}
	if (!_startupError.empty())
	{
		log.fatal(_startupError);
		return EXIT_CONFIG;
	}

	// Signals are taken with sigwait() in this thread; block them before any
	// thread starts so that every thread inherits the mask.
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGQUIT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	std::unique_ptr<Server> pServer;
	try
	{
		Settings settings = settingsFrom(_pFileConfig.get());
		log.information("imgated %s starting (config: %s)", std::string(IMGATE_VERSION),
			_configPath.empty() ? std::string("built-in defaults") : _configPath);
		pServer.reset(new Server(settings));
		pServer->start();
	}
	catch (ConfigException& exc)
	{
		log.fatal(exc.message());
		return EXIT_CONFIG;
	}
	catch (Poco::Net::NetException& exc)
	{
		log.fatal(exc.message());
		return EXIT_UNAVAILABLE;
	}
	catch (store::StoreException& exc)
	{
		// The PostgreSQL store's messages name the server ("postgresql host=...").
		const bool postgresql = exc.message().compare(0, 10, "postgresql") == 0 || exc.message().compare(0, 16, "store.postgresql") == 0;
		log.fatal(postgresql ? (exc.message().compare(0, 16, "store.postgresql") == 0 ? exc.message() : "store.postgresql: " + exc.message())
			: "store.path " + exc.message());
		return postgresql ? EXIT_UNAVAILABLE : EXIT_IOERR;
	}
	catch (cluster::ClusterException& exc)
	{
		log.fatal("cluster: " + exc.message());
		return EXIT_UNAVAILABLE;
	}
	catch (Poco::Exception& exc)
	{
		log.fatal("cannot start: %s", exc.displayText());
		return EXIT_SOFTWARE;
	}

	const std::string ready = "READY=1\nSTATUS=listening on " + pServer->listenAddress();
	SystemdNotifier::notify(ready);

	// Instead of waitForTerminationRequest(): SIGHUP must not stop the server.
	int sig = 0;
	while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
	{
		SystemdNotifier::notify("RELOADING=1");
		reload(*pServer);
		SystemdNotifier::notify(ready);
	}
	log.information("%s received", std::string(sig == SIGINT ? "SIGINT" : sig == SIGQUIT ? "SIGQUIT" : "SIGTERM"));
	SystemdNotifier::notify("STOPPING=1");
	pServer->shutdown();
	return EXIT_OK;
}

} } // namespace imgate::app
