//
// RedisProcess.h
//
// Test support: a real redis-server of its own for one test (the cluster's
// integration tests): its own temporary folder, 127.0.0.1 only, a free port.
//

#ifndef imgate_test_RedisProcess_INCLUDED
#define imgate_test_RedisProcess_INCLUDED

#include "tests/support/ChildProcess.h"
#include "tests/support/TempFolder.h"
#include "Poco/Types.h"
#include <string>

namespace imgate {
namespace test {

class RedisProcess
	/// redis-server with --bind 127.0.0.1 --port N --save "" --appendonly no
	/// --dir FOLDER --daemonize no --protected-mode yes, and --requirepass if
	/// a password is given. Nothing is persisted: no key survives stop() or
	/// kill(). It runs as the test's own user, root included.
	///
	/// Binary: $IMGATE_REDIS_SERVER if set, else /usr/bin/redis-server,
	/// else redis-server on PATH.
	///
	/// The server is a child of the test process, reaped here; if the test
	/// process dies, it gets SIGKILL (see ChildProcess).
	///
	/// Not thread-safe: one thread, the one that made it, uses it.
{
public:
	explicit RedisProcess(const std::string& password = std::string());
		/// Starts the server and returns when PING answers PONG (after AUTH
		/// with password, if one is given). A port taken meanwhile by another
		/// process is replaced by another. Throws Poco::NotFoundException if
		/// there is no redis-server, Poco::RuntimeException with its log if
		/// it does not answer within 30 s.

	~RedisProcess();
		/// SIGKILL, then removes the folder. Never throws.

	RedisProcess(const RedisProcess&) = delete;
	RedisProcess& operator = (const RedisProcess&) = delete;

	Poco::UInt16 port() const;
		/// The TCP port on 127.0.0.1; the same across stop() and start().

	std::string address() const;
		/// "127.0.0.1:PORT", for Poco::Redis::Client::connect().

	const std::string& password() const;
		/// The requirepass given to the constructor; empty for none.

	std::string log() const;
		/// The server's output, every start.

	void stop();
		/// SIGTERM (redis-server's shutdown), SIGKILL if it is not gone
		/// within 10 s. Does nothing if the server is not running.

	void start();
		/// Starts the server again on the same port, empty, and waits as the
		/// constructor does. Throws Poco::IllegalStateException if it is
		/// running, Poco::RuntimeException with the log if it does not come
		/// up (the port may have been taken meanwhile).

	void kill();
		/// SIGKILL, and reaps it. Does nothing if not running.

	bool running() const;
		/// True while the server process runs.

private:
	void launch();
	bool waitReady(long timeoutMs) const;
	bool answers() const;
	static std::string findBinary();

	std::string _binary;
	TempFolder _folder;
	std::string _logPath;
	std::string _password;
	Poco::UInt16 _port = 0;
	ChildProcess _server;
};


inline Poco::UInt16 RedisProcess::port() const
{
	return _port;
}


inline const std::string& RedisProcess::password() const
{
	return _password;
}

} } // namespace imgate::test

#endif // imgate_test_RedisProcess_INCLUDED
