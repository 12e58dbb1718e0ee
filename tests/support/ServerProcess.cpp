//
// ServerProcess.cpp
//

#include "tests/support/ServerProcess.h"
#include "tests/support/Wait.h"
#include "Poco/AutoPtr.h"
#include "Poco/Exception.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/Process.h"
#include "Poco/Thread.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>
#include <fstream>
#include <sstream>
#include <atomic>

namespace imgate {
namespace test {

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::string& outputPath, const std::string& program = IMGATED_PATH)
{
	std::vector<char*> argv;
	std::vector<std::string> all{program};
	all.insert(all.end(), args.begin(), args.end());
	for (auto& a: all) argv.push_back(const_cast<char*>(a.c_str()));
	argv.push_back(nullptr);
	pid_t pid = ::fork();
	if (pid < 0) throw Poco::SystemException("fork failed");
	if (pid == 0)
	{
		int fd = ::open(outputPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
		{
			::dup2(fd, 1);
			::dup2(fd, 2);
			::close(fd);
		}
		// Tests block no signals, but be explicit: the child starts clean.
		sigset_t none;
		sigemptyset(&none);
		::sigprocmask(SIG_SETMASK, &none, nullptr);
		::execvp(argv[0], argv.data());
		::_exit(127);
	}
	return pid;
}

int decode(int status)
{
	if (WIFEXITED(status)) return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
	return -1;
}

std::string readAll(const std::string& path)
{
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

} // namespace


std::string ServerProcess::makeTempDir()
{
	static std::atomic<int> counter{0};
	Poco::Path p(Poco::Path::temp());
	p.pushDirectory("imgate-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
	Poco::File(p).createDirectories();
	return p.toString();
}


void ServerProcess::writeFile(const std::string& path, const std::string& text)
{
	std::ofstream out(path);
	out << text;
}


ServerProcess::ServerProcess(const Settings& overrides)
{
	start({{"auth.allowAnonymous", "true"}, {"server.ioThreads", "2"}}, overrides);
}


ServerProcess::ServerProcess(const std::string& baseConfig, const Settings& overrides)
{
	Settings settings;
	{
		Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> pBase = new Poco::Util::PropertyFileConfiguration(baseConfig);
		std::vector<std::string> stack{""};
		while (!stack.empty())
		{
			std::string prefix = stack.back();
			stack.pop_back();
			Poco::Util::AbstractConfiguration::Keys keys;
			pBase->keys(prefix, keys);
			if (!prefix.empty() && pBase->hasProperty(prefix)) settings[prefix] = pBase->getRawString(prefix);
			for (const auto& k: keys) stack.push_back(prefix.empty() ? k : prefix + "." + k);
		}
	}
	start(settings, overrides);
}


void ServerProcess::start(Settings settings, const Settings& overrides)
{
	settings["server.address"] = "127.0.0.1";
	settings["server.port"] = "0";
	// Every test server its own admin port, or tests running side by side collide.
	if (settings.find("admin.port") == settings.end()) settings["admin.port"] = "0";
	_dir = makeTempDir();
	// Each server its own database, removed with its folder.
	settings["store.path"] = _dir + "imgate.db";
	for (const auto& kv: overrides) settings[kv.first] = kv.second;
	_logPath = _dir + "imgated.log";
	_settings = settings;
	rewriteConfig(Settings());
	_pid = spawn({"--config=" + configPath()}, _logPath);

	// "imgate.app: listening on ADDRESS:PORT with N event loops": the last
	// line of the start, after the TLS and WebSocket listeners' own.
	const std::string marker = ": listening on ";
	std::string found;
	bool up = waitUntil([&]()
	{
		std::string text = log();
		std::size_t at = text.find(marker);
		const std::size_t end = at == std::string::npos ? at : text.find('\n', at);
		const std::size_t with = at == std::string::npos ? at : text.find(" with ", at);
		if (at != std::string::npos && end != std::string::npos && with != std::string::npos && with < end)
		{
			found = text.substr(at + marker.size(), with - at - marker.size());
			return true;
		}
		return waitExit(0) != -1;
	}, 10000);
	if (!up || found.empty())
	{
		std::string text = log();
		if (_pid > 0 && !_exited) { ::kill(_pid, SIGKILL); waitExit(5000); }
		throw Poco::RuntimeException("imgated did not start:\n" + text);
	}
	_port = static_cast<Poco::UInt16>(std::stoi(found.substr(found.rfind(':') + 1)));
	const std::string started = log();
	_tlsPort = portAfter(started, "TLS listening on ");
	_webSocketPort = portAfter(started, "WebSocket listening on ");
	const std::string adminMarker = "admin: serving http://";
	std::size_t at = started.find(adminMarker);
	if (at != std::string::npos)
	{
		std::string address = started.substr(at + adminMarker.size(), started.find('/', at + adminMarker.size()) - at - adminMarker.size());
		_adminPort = static_cast<Poco::UInt16>(std::stoi(address.substr(address.rfind(':') + 1)));
	}
}


Poco::UInt16 ServerProcess::portAfter(const std::string& log, const std::string& marker)
{
	const std::size_t at = log.find(marker);
	if (at == std::string::npos) return 0;
	const std::size_t end = log.find_first_of(" \n", at + marker.size());
	const std::string address = log.substr(at + marker.size(), end - at - marker.size());
	return static_cast<Poco::UInt16>(std::stoi(address.substr(address.rfind(':') + 1)));
}


std::string ServerProcess::configPath() const
{
	return _dir + "imgate.properties";
}


std::string ServerProcess::storePath() const
{
	auto it = _settings.find("store.path");
	return it == _settings.end() ? std::string() : it->second;
}


void ServerProcess::rewriteConfig(const Settings& overrides)
{
	for (const auto& kv: overrides) _settings[kv.first] = kv.second;
	std::string text;
	for (const auto& kv: _settings)
	{
		if (!kv.second.empty()) text += kv.first + " = " + kv.second + "\n";
	}
	writeFile(configPath(), text);
}


ServerProcess::~ServerProcess()
{
	if (_pid > 0 && !_exited)
	{
		::kill(_pid, SIGKILL);
		waitExit(10000);
	}
	try
	{
		Poco::File(_dir).remove(true);
	}
	catch (Poco::Exception&)
	{
	}
}


std::unique_ptr<client::ImgateClient> ServerProcess::connect(const std::string& sourceAddress) const
{
	return std::unique_ptr<client::ImgateClient>(new client::ImgateClient("127.0.0.1", _port, Poco::Timespan(5, 0), sourceAddress));
}


std::unique_ptr<client::ImgateClient> ServerProcess::login(const std::string& uid, const std::string& device) const
{
	auto pClient = connect();
	client::Reply reply = pClient->login(uid, "", device);
	if (reply.result() != protocol::Status::OK)
		throw Poco::RuntimeException("login of " + uid + " failed with status " + protocol::statusName(reply.status));
	return pClient;
}


void ServerProcess::signal(int sig) const
{
	if (_pid > 0 && !_exited) ::kill(_pid, sig);
}


int ServerProcess::waitExit(long timeoutMs)
{
	if (_exited) return decode(_status);
	Poco::Timestamp start;
	while (true)
	{
		pid_t r = ::waitpid(_pid, &_status, WNOHANG);
		if (r == _pid)
		{
			_exited = true;
			return decode(_status);
		}
		if (start.isElapsed(timeoutMs * 1000)) return -1;
		Poco::Thread::sleep(10);
	}
}


long ServerProcess::rssKiB() const
{
	std::ifstream in("/proc/" + std::to_string(_pid) + "/status");
	std::string line;
	while (std::getline(in, line))
	{
		if (line.compare(0, 6, "VmRSS:") == 0) return std::stol(line.substr(6));
	}
	return -1;
}


std::string ServerProcess::log() const
{
	return readAll(_logPath);
}


bool ServerProcess::waitForLog(const std::string& text, long timeoutMs) const
{
	return waitUntil([&]() { return log().find(text) != std::string::npos; }, timeoutMs);
}


int ServerProcess::run(const std::vector<std::string>& args, std::string& output, long timeoutMs)
{
	return runProgram(IMGATED_PATH, args, output, timeoutMs);
}


int ServerProcess::runProgram(const std::string& program, const std::vector<std::string>& args, std::string& output, long timeoutMs)
{
	std::string dir = makeTempDir();
	std::string path = dir + "output.log";
	pid_t pid = spawn(args, path, program);
	int status = 0;
	int rc = -1;
	Poco::Timestamp start;
	while (true)
	{
		if (::waitpid(pid, &status, WNOHANG) == pid)
		{
			rc = decode(status);
			break;
		}
		if (start.isElapsed(timeoutMs * 1000))
		{
			::kill(pid, SIGKILL);
			::waitpid(pid, &status, 0);
			break;
		}
		Poco::Thread::sleep(10);
	}
	output = readAll(path);
	Poco::File(dir).remove(true);
	return rc;
}

} } // namespace imgate::test
