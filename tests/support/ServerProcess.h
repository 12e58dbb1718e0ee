//
// ServerProcess.h
//
// A real imgated process for integration tests: its own temporary folder,
// a generated .properties file, 127.0.0.1 on a port the kernel picks.
//

#ifndef imgate_test_ServerProcess_INCLUDED
#define imgate_test_ServerProcess_INCLUDED

#include "tools/imgate-cli/ImgateClient.h"
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <sys/types.h>

namespace imgate {
namespace test {

class ServerProcess
	/// Starts on construction and waits (up to 10 s) until the log says it
	/// listens. The destructor kills the process if it still runs and
	/// removes the folder: no process is left behind.
{
public:
	using Settings = std::map<std::string, std::string>;

	explicit ServerProcess(const Settings& overrides = Settings());
	ServerProcess(const std::string& baseConfig, const Settings& overrides);
		/// Test defaults: server.address=127.0.0.1, server.port=0,
		/// auth.allowAnonymous=true, server.ioThreads=2; or, with a
		/// baseConfig file, that file's settings with only the address and
		/// port moved to 127.0.0.1:0. Either way store.path is a fresh file
		/// in the server's own temporary folder. overrides win (an empty value removes a
		/// key). Throws Poco::RuntimeException with the log if the server
		/// does not come up.

	~ServerProcess();

	ServerProcess(const ServerProcess&) = delete;
	ServerProcess& operator = (const ServerProcess&) = delete;

	Poco::UInt16 port() const;

	Poco::UInt16 adminPort() const;

	Poco::UInt16 tlsPort() const;
	Poco::UInt16 webSocketPort() const;
		/// The TLS and WebSocket listeners' ports (0: off), from the log.

	std::string configPath() const;

	std::string storePath() const;
		/// The database file (store.path).

	void rewriteConfig(const Settings& overrides);
		/// Writes the server's configuration file again with overrides
		/// applied (an empty value removes a key); send SIGHUP to reload it.
		/// The admin listener's port (0 if admin.enabled = false).

	std::unique_ptr<client::ImgateClient> connect(const std::string& sourceAddress = "") const;
		/// Connects to the server, from sourceAddress (e.g. "127.0.0.2") if given.

	std::unique_ptr<client::ImgateClient> login(const std::string& uid, const std::string& device = "test") const;
		/// Connects and logs in; throws unless LOGIN_RESP is OK.

	void signal(int sig) const;

	int waitExit(long timeoutMs);
		/// The exit code, 128 + signal if killed, or -1 if still running.

	long rssKiB() const;
		/// The server's resident memory (VmRSS), or -1.

	std::string log() const;
	bool waitForLog(const std::string& text, long timeoutMs = 5000) const;

	static int run(const std::vector<std::string>& args, std::string& output, long timeoutMs = 10000);
		/// Runs imgated with args to completion and returns its exit code
		/// (-1 if it had to be killed), with stdout and stderr in output.

	static int runProgram(const std::string& program, const std::vector<std::string>& args, std::string& output, long timeoutMs);
		/// The same for any program (found on PATH if program has no '/').

	static std::string makeTempDir();
	static void writeFile(const std::string& path, const std::string& text);

private:
	void start(Settings settings, const Settings& overrides);
	static Poco::UInt16 portAfter(const std::string& log, const std::string& marker);
		/// The port of the first "MARKER ADDRESS:PORT" in log, or 0.

	std::string _dir;
	std::string _logPath;
	pid_t _pid = -1;
	int _status = 0;
	bool _exited = false;
	Poco::UInt16 _port = 0;
	Poco::UInt16 _adminPort = 0;
	Poco::UInt16 _tlsPort = 0;
	Poco::UInt16 _webSocketPort = 0;
	Settings _settings;
};


inline Poco::UInt16 ServerProcess::port() const
{
	return _port;
}


inline Poco::UInt16 ServerProcess::adminPort() const
{
	return _adminPort;
}


inline Poco::UInt16 ServerProcess::tlsPort() const
{
	return _tlsPort;
}


inline Poco::UInt16 ServerProcess::webSocketPort() const
{
	return _webSocketPort;
}

} } // namespace imgate::test

#endif // imgate_test_ServerProcess_INCLUDED
