//
// HaproxyProcess.h
//
// Test support: a real haproxy of its own for one test (the cluster's one
// address): its own temporary folder, a configuration the test gives, a
// frontend on a free loopback port, and its stats socket to read what it
// thinks of each server.
//

#ifndef imgate_test_HaproxyProcess_INCLUDED
#define imgate_test_HaproxyProcess_INCLUDED

#include "tests/support/ChildProcess.h"
#include "tests/support/TempFolder.h"
#include "Poco/Types.h"
#include <string>


namespace imgate {
namespace test {


class HaproxyProcess
	/// haproxy -db -f FOLDER/haproxy.cfg: in the foreground, as the test's
	/// own user, a child of the test process (SIGKILL if the test dies, see
	/// ChildProcess).
	///
	/// The configuration is the test's text with two words replaced:
	/// ${FRONTEND} by 127.0.0.1:PORT (a free port; the test's clients
	/// connect there) and ${STATS} by the path of a stats socket in the
	/// folder (for serverStatus(); the test adds "stats socket ${STATS}"
	/// to its global section).
	///
	/// Binary: $IMGATE_HAPROXY if set, else /usr/sbin/haproxy, else
	/// haproxy on PATH.
	///
	/// Not thread-safe: one thread, the one that made it, uses it.
{
public:
	explicit HaproxyProcess(const std::string& config);
		/// Checks the configuration (haproxy -c), starts haproxy and returns
		/// once the stats socket answers (the frontend listens by then; no
		/// connection is made to it). The configuration must have the stats
		/// socket. A port taken meanwhile by another process is replaced by
		/// another. Throws Poco::NotFoundException if there is no haproxy,
		/// Poco::RuntimeException with its output if the configuration is
		/// refused or haproxy does not come up within 10 s.

	~HaproxyProcess();
		/// SIGKILL, then removes the folder. Never throws.

	HaproxyProcess(const HaproxyProcess&) = delete;
	HaproxyProcess& operator = (const HaproxyProcess&) = delete;

	Poco::UInt16 port() const;
		/// The frontend's port on 127.0.0.1.

	std::string serverStatus(const std::string& backend, const std::string& server) const;
		/// The server's "status" in haproxy's "show stat" ("UP", "DOWN",
		/// "UP 1/2" while going down...), "" if haproxy does not list it.

	std::string checkStatus(const std::string& backend, const std::string& server) const;
		/// Its last health check's "check_status" ("L7OK"; "L7STS": the
		/// HTTP check got a status other than the one expected; "L4CON":
		/// connection refused...), "" if haproxy does not list it.

	std::string log() const;
		/// haproxy's output (alerts, warnings, and the log lines if the
		/// configuration logs to stderr).

	static std::string findBinary();

private:
	bool launch();
		/// Writes the configuration for _port, starts haproxy; true once
		/// it answers, false if the port was taken. Throws otherwise.
	std::string statField(const std::string& backend, const std::string& server, const std::string& field) const;
	std::string stats() const;
		/// "show stat" on the stats socket ("" if it does not answer).

	std::string _binary;
	TempFolder _folder;
	std::string _config;
	std::string _configPath;
	std::string _socketPath;
	std::string _logPath;
	Poco::UInt16 _port = 0;
	ChildProcess _haproxy;
};


inline Poco::UInt16 HaproxyProcess::port() const
{
	return _port;
}


} } // namespace imgate::test


#endif // imgate_test_HaproxyProcess_INCLUDED
