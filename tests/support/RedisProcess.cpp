//
// RedisProcess.cpp
//

#include "tests/support/RedisProcess.h"
#include "tests/support/TestCertificates.h"
#include "tests/support/Wait.h"
#include "Poco/Exception.h"
#include "Poco/Redis/Client.h"
#include "Poco/Redis/Command.h"
#include <signal.h>
#include <sys/stat.h>

namespace imgate {
namespace test {

namespace {

const long START_TIMEOUT_MS = 30000;
const long STOP_TIMEOUT_MS = 10000;
const int START_ATTEMPTS = 5;


std::size_t sizeOf(const std::string& path)
{
	struct stat st;
	return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

} // namespace


RedisProcess::RedisProcess(const std::string& password):
	_binary(findBinary()),
	_folder("imgate-redis"),
	_logPath(_folder.path() + "redis.log"),
	_password(password)
{
	for (int attempt = 1; ; ++attempt)
	{
		_port = TestCertificates::freePort();
		const std::size_t offset = sizeOf(_logPath);
		launch();
		if (waitReady(START_TIMEOUT_MS)) break;
		// freePort() only says the port was free a moment ago: another test
		// may have taken it since. Any other failure is final.
		const std::string text = ChildProcess::readFile(_logPath, offset);
		_server.terminate(SIGKILL, 0);
		const bool taken = text.find("Address already in use") != std::string::npos;
		if (!taken || attempt == START_ATTEMPTS)
			throw Poco::RuntimeException("redis-server did not start (" + _binary + "):\n" + log());
	}
}


RedisProcess::~RedisProcess()
{
	try
	{
		_server.terminate(SIGKILL, 0);
	}
	catch (...)
	{
	}
}


void RedisProcess::launch()
{
	std::vector<std::string> args{
		"--bind", "127.0.0.1",
		"--port", std::to_string(_port),
		"--save", "",
		"--appendonly", "no",
		"--dir", _folder.path(),
		"--daemonize", "no",
		"--protected-mode", "yes"};
	if (!_password.empty())
	{
		args.push_back("--requirepass");
		args.push_back(_password);
	}
	_server.launch(_binary, args, _logPath, _folder.path());
}


bool RedisProcess::waitReady(long timeoutMs) const
{
	return waitUntil([&]()
	{
		return !_server.running() || answers();
	}, timeoutMs, 20) && _server.running();
}


bool RedisProcess::answers() const
{
	try
	{
		Poco::Redis::Client client;
		client.connect("127.0.0.1", _port, Poco::Timespan(1, 0));
		client.setReceiveTimeout(Poco::Timespan(2, 0));
		if (!_password.empty())
		{
			Poco::Redis::Command auth("AUTH");
			auth << _password;
			client.execute<std::string>(auth);
		}
		// While it loads, redis answers -LOADING, which throws.
		return client.execute<std::string>(Poco::Redis::Command::ping()) == "PONG";
	}
	catch (Poco::Exception&)
	{
		return false;
	}
}


std::string RedisProcess::address() const
{
	return "127.0.0.1:" + std::to_string(_port);
}


std::string RedisProcess::log() const
{
	return ChildProcess::readFile(_logPath);
}


void RedisProcess::stop()
{
	_server.terminate(SIGTERM, STOP_TIMEOUT_MS);
}


void RedisProcess::start()
{
	if (_server.running()) throw Poco::IllegalStateException("redis-server is running", address());
	launch();
	if (!waitReady(START_TIMEOUT_MS))
	{
		_server.terminate(SIGKILL, 0);
		throw Poco::RuntimeException("redis-server did not start again:\n" + log());
	}
}


void RedisProcess::kill()
{
	_server.terminate(SIGKILL, 0);
}


bool RedisProcess::running() const
{
	return _server.running();
}


std::string RedisProcess::findBinary()
{
	return ChildProcess::findProgram("IMGATE_REDIS_SERVER", "/usr/bin/redis-server", "redis-server");
}

} } // namespace imgate::test
