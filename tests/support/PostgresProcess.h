//
// PostgresProcess.h
//
// Test support: a real PostgreSQL server of its own for one test (the
// PostgreSQL store's integration tests): a fresh cluster in a temporary
// folder, 127.0.0.1 only, a free port.
//

#ifndef imgate_test_PostgresProcess_INCLUDED
#define imgate_test_PostgresProcess_INCLUDED

#include "tests/support/ChildProcess.h"
#include "tests/support/TempFolder.h"
#include "Poco/Types.h"
#include <map>
#include <string>
#include <vector>

namespace imgate {
namespace test {

class PostgresProcess
	/// A cluster made by initdb in its own temporary folder: superuser
	/// imgate trusted without a password, encoding UTF8, locale C, database
	/// imgate. The server listens on 127.0.0.1 only, on a port that was
	/// free, and puts its unix socket in the folder (not /var/run/postgresql).
	///
	/// Binaries: $IMGATE_PG_BINDIR if set, else the highest
	/// /usr/lib/postgresql/<version>/bin (Debian's place, not on PATH),
	/// else the folder of initdb on PATH.
	///
	/// PostgreSQL refuses to run as root. When the test runs as root (CI),
	/// initdb and the server run as the user nobody, who owns the folder;
	/// otherwise as the test's own user.
	///
	/// The postmaster is a child of the test process, run directly (not
	/// through pg_ctl) so that it is reaped here. stop(), kill() and the
	/// destructor return only when it and every worker it forked are gone;
	/// if the test process dies, the postmaster gets SIGKILL and its workers
	/// follow it (see ChildProcess).
	///
	/// Not thread-safe: one thread, the one that made it, uses it.
{
public:
	using Settings = std::map<std::string, std::string>;

	explicit PostgresProcess(const Settings& settings = Settings());
		/// Runs initdb, starts the server and creates the database imgate;
		/// returns when it accepts connections. The server's settings are
		/// listen_addresses = 127.0.0.1, port, unix_socket_directories =
		/// the folder, max_connections = 100, shared_buffers = 16MB; fsync
		/// stays on. settings add to or override all but the first three
		/// (postgres -c NAME=VALUE, on every start).
		/// A port taken meanwhile by another process is replaced by another.
		/// Throws Poco::NotFoundException if no PostgreSQL binaries are
		/// found, Poco::RuntimeException with initdb's or the server's log
		/// if either fails or the server does not accept connections
		/// within 60 s.

	~PostgresProcess();
		/// Immediate shutdown (SIGQUIT, as pg_ctl stop -m immediate), kill()
		/// if the server is not gone after 10 s, then removes the folder.
		/// Never throws.

	PostgresProcess(const PostgresProcess&) = delete;
	PostgresProcess& operator = (const PostgresProcess&) = delete;

	std::string connectionString(const std::string& database = "imgate") const;
		/// "host=127.0.0.1 port=N user=imgate dbname=DATABASE connect_timeout=5":
		/// for libpq and for Poco::Data::Session("postgresql", ...).

	Poco::UInt16 port() const;
		/// The TCP port on 127.0.0.1; the same across stop() and start().

	std::string dataDir() const;
		/// The cluster's folder (PGDATA), without a trailing '/'.

	std::string socketDir() const;
		/// The folder of the unix socket (.s.PGSQL.PORT), without a trailing '/'.

	std::string log() const;
		/// The output of initdb and of every start of the server.

	void stop();
		/// Fast shutdown (SIGINT, as pg_ctl stop -m fast): sessions are
		/// ended, a checkpoint is written, the data stays. Does nothing if
		/// the server is not running. Throws Poco::TimeoutException with the
		/// log (after kill()) if it is not gone within 30 s.

	void start();
		/// Starts the server again, on the same port and data, and waits as
		/// the constructor does; after kill() that includes crash recovery.
		/// Throws Poco::IllegalStateException if it is running, and
		/// Poco::RuntimeException with the log if it does not come up (the
		/// port may have been taken meanwhile).

	void kill();
		/// A crash: SIGSTOP to the postmaster and its workers, then SIGKILL
		/// to all of them; returns when none is left. No checkpoint and no
		/// shutdown record: start() recovers from the WAL, and only
		/// committed transactions survive. Does nothing if not running.

	bool running() const;
		/// True while the postmaster runs: false after stop(), kill(), or
		/// if it died.

	void execute(const std::string& sql) const;
		/// Runs one SQL statement (no ';'-separated lists: it is prepared)
		/// on a new connection to the database imgate, in autocommit,
		/// through Poco::Data::PostgreSQL. For a test's setup and checks.
		/// Throws Poco::Data::DataException (PostgreSQLException,
		/// ConnectionFailedException) on error.

	std::string queryOne(const std::string& sql) const;
		/// Runs one query as execute() does and returns the first column of
		/// its first row as PostgreSQL's text ("t" for true; empty for
		/// NULL). Throws Poco::NotFoundException if there is no row, and as
		/// execute() does.

private:
	void initialize();
	void launch();
	bool waitReady(long timeoutMs);
	void reapWorkers();
	void removeSharedMemory() const;
	std::string binary(const std::string& name) const;
	static std::string findBinDir();

	ChildProcess::Account _account;
	std::string _binDir;
	TempFolder _folder;
	std::string _dataDir;
	std::string _logPath;
	Settings _settings;
	Poco::UInt16 _port = 0;
	ChildProcess _postmaster;
};


inline Poco::UInt16 PostgresProcess::port() const
{
	return _port;
}


inline std::string PostgresProcess::dataDir() const
{
	return _dataDir;
}

} } // namespace imgate::test

#endif // imgate_test_PostgresProcess_INCLUDED
