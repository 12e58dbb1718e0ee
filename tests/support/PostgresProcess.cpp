//
// PostgresProcess.cpp
//

#include "tests/support/PostgresProcess.h"
#include "tests/support/TestCertificates.h"
#include "tests/support/Wait.h"
#include "Poco/Data/PostgreSQL/Connector.h"
#include "Poco/Data/Session.h"
#include "Poco/Data/Statement.h"
#include "Poco/DirectoryIterator.h"
#include "Poco/Environment.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/NumberParser.h"
#include "Poco/Path.h"
#include "Poco/StringTokenizer.h"
#include <signal.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <sstream>

using namespace Poco::Data::Keywords;

namespace imgate {
namespace test {

namespace {

const long INITDB_TIMEOUT_MS = 120000;
const long START_TIMEOUT_MS = 60000;
const long STOP_TIMEOUT_MS = 30000;
const long IMMEDIATE_TIMEOUT_MS = 10000;
const long REAP_TIMEOUT_MS = 10000;
const int START_ATTEMPTS = 5;


ChildProcess::Account serverAccount()
{
	// PostgreSQL refuses root ("root" execution of the PostgreSQL server
	// is not permitted): CI runs the tests as root.
	return ::geteuid() == 0 ? ChildProcess::account("nobody") : ChildProcess::Account();
}


std::vector<int> versionOf(const std::string& name)
	/// "15" -> {15}, "9.6" -> {9, 6}; empty if name is not a version.
{
	std::vector<int> version;
	Poco::StringTokenizer parts(name, ".");
	for (const auto& part: parts)
	{
		int n = 0;
		if (!Poco::NumberParser::tryParse(part, n) || n < 0) return std::vector<int>();
		version.push_back(n);
	}
	return version;
}


bool hasBinaries(const std::string& dir)
{
	return ::access((dir + "/initdb").c_str(), X_OK) == 0 && ::access((dir + "/postgres").c_str(), X_OK) == 0;
}


std::size_t sizeOf(const std::string& path)
{
	struct stat st;
	return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}


std::vector<std::string> linesOf(const std::string& text)
{
	std::vector<std::string> lines;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) lines.push_back(line);
	return lines;
}

} // namespace


PostgresProcess::PostgresProcess(const Settings& settings):
	_account(serverAccount()),
	_binDir(findBinDir()),
	_folder("imgate-pg", _account),
	_dataDir(_folder.path() + "data"),
	_logPath(_folder.path() + "postgres.log"),
	_settings(settings)
{
	Poco::Data::PostgreSQL::Connector::registerConnector();
	try
	{
		initialize();
		for (int attempt = 1; ; ++attempt)
		{
			_port = TestCertificates::freePort();
			const std::size_t offset = sizeOf(_logPath);
			launch();
			if (waitReady(START_TIMEOUT_MS)) break;
			// freePort() only says the port was free a moment ago: another
			// test may have taken it since. Any other failure is final.
			const std::string text = ChildProcess::readFile(_logPath, offset);
			kill();
			const bool taken = text.find("Address already in use") != std::string::npos;
			if (!taken || attempt == START_ATTEMPTS)
				throw Poco::RuntimeException("PostgreSQL did not start (" + _binDir + "):\n" + log());
		}
		Poco::Data::Session session("postgresql", connectionString("postgres"));
		session << "CREATE DATABASE imgate", now;
	}
	catch (...)
	{
		try
		{
			kill();
			removeSharedMemory();
		}
		catch (...)
		{
		}
		throw;
	}
}


PostgresProcess::~PostgresProcess()
{
	try
	{
		if (_postmaster.running())
		{
			_postmaster.signal(SIGQUIT);
			if (_postmaster.waitExit(IMMEDIATE_TIMEOUT_MS) == -1) kill();
		}
		reapWorkers();
		removeSharedMemory();
	}
	catch (...)
	{
	}
}


void PostgresProcess::initialize()
{
	const int rc = ChildProcess::run(binary("initdb"),
		{"-D", _dataDir, "-A", "trust", "-U", "imgate", "-E", "UTF8", "--no-locale", "--no-sync"},
		_logPath, _folder.path(), _account, INITDB_TIMEOUT_MS);
	if (rc != 0)
		throw Poco::RuntimeException("initdb failed (" + std::to_string(rc) + ", " + _binDir + "):\n" + log());
}


void PostgresProcess::launch()
{
	Settings all{{"max_connections", "100"}, {"shared_buffers", "16MB"}};
	for (const auto& kv: _settings) all[kv.first] = kv.second;
	all["listen_addresses"] = "127.0.0.1";
	all["port"] = std::to_string(_port);
	all["unix_socket_directories"] = socketDir();
	std::vector<std::string> args{"-D", _dataDir};
	for (const auto& kv: all)
	{
		args.push_back("-c");
		args.push_back(kv.first + "=" + kv.second);
	}
	// The postgres binary itself, not pg_ctl: the postmaster is then this
	// process's child, which it reaps and which dies with it.
	_postmaster.launch(binary("postgres"), args, _logPath, _folder.path(), _account);
}


bool PostgresProcess::waitReady(long timeoutMs)
{
	Poco::Timestamp start;
	// pg_ctl's own test: postmaster.pid names this postmaster and its
	// status line says "ready" (not the log, whose language may vary).
	const std::string pidFile = _dataDir + "/postmaster.pid";
	const std::string pid = std::to_string(_postmaster.pid());
	bool ready = waitUntil([&]()
	{
		if (!_postmaster.running()) return true;
		const std::vector<std::string> lines = linesOf(ChildProcess::readFile(pidFile));
		return lines.size() >= 8 && lines[0] == pid && lines[7].compare(0, 5, "ready") == 0;
	}, timeoutMs, 20);
	if (!ready || !_postmaster.running()) return false;
	// And a real connection over TCP, as a test makes.
	const long left = timeoutMs - static_cast<long>(start.elapsed() / 1000);
	return waitUntil([&]()
	{
		if (!_postmaster.running()) return true;
		try
		{
			Poco::Data::Session session("postgresql", connectionString("postgres"));
			return true;
		}
		catch (Poco::Exception&)
		{
			return false;
		}
	}, left > 0 ? left : 0, 100) && _postmaster.running();
}


void PostgresProcess::stop()
{
	if (!_postmaster.running())
	{
		reapWorkers();
		return;
	}
	_postmaster.signal(SIGINT);
	if (_postmaster.waitExit(STOP_TIMEOUT_MS) == -1)
	{
		kill();
		throw Poco::TimeoutException("PostgreSQL did not stop within 30 s:\n" + log());
	}
	reapWorkers();
}


void PostgresProcess::start()
{
	if (_postmaster.running()) throw Poco::IllegalStateException("PostgreSQL is running", _dataDir);
	launch();
	if (!waitReady(START_TIMEOUT_MS))
	{
		kill();
		throw Poco::RuntimeException("PostgreSQL did not start again:\n" + log());
	}
}


void PostgresProcess::kill()
{
	if (!_postmaster.killWithWorkers(_dataDir, REAP_TIMEOUT_MS))
		throw Poco::TimeoutException("PostgreSQL workers still running", _dataDir);
}


bool PostgresProcess::running() const
{
	return _postmaster.running();
}


void PostgresProcess::reapWorkers()
{
	// A worker notices its postmaster's death only at its next wait; until
	// then it holds the shared memory, and a new postmaster refuses the
	// data folder ("pre-existing shared memory block is still in use").
	if (!ChildProcess::killProcessesIn(_dataDir, REAP_TIMEOUT_MS))
		throw Poco::TimeoutException("PostgreSQL workers still running", _dataDir);
}


void PostgresProcess::removeSharedMemory() const
{
	// A killed postmaster leaves its System V segment (its key and id are
	// on line 7 of postmaster.pid); a start() would remove it, nothing else
	// will. Removed only if it is still that segment and unused.
	const std::vector<std::string> lines = linesOf(ChildProcess::readFile(_dataDir + "/postmaster.pid"));
	if (lines.size() < 7) return;
	std::istringstream in(lines[6]);
	long key = 0;
	int id = -1;
	if (!(in >> key >> id) || id < 0) return;
	struct shmid_ds ds;
	if (::shmctl(id, IPC_STAT, &ds) == 0 && static_cast<long>(ds.shm_perm.__key) == key && ds.shm_nattch == 0)
		::shmctl(id, IPC_RMID, nullptr);
}


std::string PostgresProcess::connectionString(const std::string& database) const
{
	return "host=127.0.0.1 port=" + std::to_string(_port) + " user=imgate dbname=" + database + " connect_timeout=5";
}


std::string PostgresProcess::socketDir() const
{
	return _folder.path().substr(0, _folder.path().size() - 1);
}


std::string PostgresProcess::log() const
{
	return ChildProcess::readFile(_logPath);
}


void PostgresProcess::execute(const std::string& sql) const
{
	Poco::Data::Session session("postgresql", connectionString());
	session << sql, now;
}


std::string PostgresProcess::queryOne(const std::string& sql) const
{
	Poco::Data::Session session("postgresql", connectionString());
	std::vector<std::string> values;
	session << sql, into(values), now;
	if (values.empty()) throw Poco::NotFoundException("no row", sql);
	return values.front();
}


std::string PostgresProcess::binary(const std::string& name) const
{
	return _binDir + "/" + name;
}


std::string PostgresProcess::findBinDir()
{
	const std::string fromEnvironment = Poco::Environment::get("IMGATE_PG_BINDIR", "");
	if (!fromEnvironment.empty())
	{
		std::string dir = fromEnvironment;
		while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
		if (!hasBinaries(dir)) throw Poco::NotFoundException("IMGATE_PG_BINDIR has no initdb and postgres", dir);
		return dir;
	}
	// Debian and Ubuntu: /usr/lib/postgresql/<version>/bin, the newest.
	std::string best;
	std::vector<int> bestVersion;
	const std::string root = "/usr/lib/postgresql";
	if (Poco::File(root).exists())
	{
		for (Poco::DirectoryIterator it(root), end; it != end; ++it)
		{
			const std::vector<int> version = versionOf(it.name());
			const std::string dir = root + "/" + it.name() + "/bin";
			if (!version.empty() && version > bestVersion && hasBinaries(dir))
			{
				best = dir;
				bestVersion = version;
			}
		}
	}
	if (!best.empty()) return best;
	Poco::Path initdb;
	if (Poco::Path::find(Poco::Environment::get("PATH", ""), "initdb", initdb))
	{
		const std::string dir = initdb.parent().toString();
		const std::string trimmed = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
		if (hasBinaries(trimmed)) return trimmed;
	}
	throw Poco::NotFoundException("PostgreSQL binaries (initdb, postgres): looked in $IMGATE_PG_BINDIR, /usr/lib/postgresql/*/bin and PATH");
}

} } // namespace imgate::test
