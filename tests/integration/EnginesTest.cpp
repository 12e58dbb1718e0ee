//
// EnginesTest.cpp
//
// The engine fixtures the PostgreSQL store's and the cluster's tests stand
// on: PostgresProcess, RedisProcess and HaproxyProcess start real servers
// on 127.0.0.1 only, keep (PostgreSQL) or lose (Redis) data across stop(),
// kill() and start() as documented, never run PostgreSQL as root, and
// leave no process and no folder behind.
//

#include "tests/support/ChildProcess.h"
#include "tests/support/HaproxyProcess.h"
#include "tests/support/PostgresProcess.h"
#include "tests/support/RedisProcess.h"
#include "Poco/Data/Session.h"
#include "Poco/Environment.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Redis/Array.h"
#include "Poco/Redis/Client.h"
#include "Poco/Redis/Command.h"
#include "Poco/Redis/Exception.h"
#include <cppunit/extensions/HelperMacros.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

using imgate::test::ChildProcess;
using imgate::test::HaproxyProcess;
using imgate::test::PostgresProcess;
using imgate::test::RedisProcess;
using namespace Poco::Data::Keywords;
using Poco::Redis::BulkString;
using Poco::Redis::Command;

class EnginesTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(EnginesTest);
	CPPUNIT_TEST(testPostgresStarts);
	CPPUNIT_TEST(testPostgresSettings);
	CPPUNIT_TEST(testPostgresRowSurvivesStop);
	CPPUNIT_TEST(testPostgresCommittedRowSurvivesKill);
	CPPUNIT_TEST(testPostgresNotRoot);
	CPPUNIT_TEST(testPostgresLoopbackOnly);
	CPPUNIT_TEST(testPostgresLeavesNothing);
	CPPUNIT_TEST(testPostgresFailureThrowsWithLog);
	CPPUNIT_TEST(testRedisSetGet);
	CPPUNIT_TEST(testRedisKillAndStart);
	CPPUNIT_TEST(testRedisRequirePass);
	CPPUNIT_TEST(testRedisLeavesNothing);
	CPPUNIT_TEST(testRedisFailureThrowsWithLog);
	CPPUNIT_TEST(testHaproxyForwards);
	CPPUNIT_TEST(testHaproxyRefusesBadConfig);
	CPPUNIT_TEST_SUITE_END();

public:
	void testPostgresStarts();
	void testPostgresSettings();
	void testPostgresRowSurvivesStop();
	void testPostgresCommittedRowSurvivesKill();
	void testPostgresNotRoot();
	void testPostgresLoopbackOnly();
	void testPostgresLeavesNothing();
	void testPostgresFailureThrowsWithLog();
	void testRedisSetGet();
	void testRedisKillAndStart();
	void testRedisRequirePass();
	void testRedisLeavesNothing();
	void testRedisFailureThrowsWithLog();
	void testHaproxyForwards();
	void testHaproxyRefusesBadConfig();

private:
	class EnvironmentOverride
		/// Sets an environment variable for a scope ("" counts as unset
		/// for the fixtures' own variables).
	{
	public:
		EnvironmentOverride(const std::string& name, const std::string& value):
			_name(name),
			_previous(Poco::Environment::get(name, ""))
		{
			Poco::Environment::set(name, value);
		}

		~EnvironmentOverride()
		{
			Poco::Environment::set(_name, _previous);
		}

	private:
		std::string _name;
		std::string _previous;
	};

	static std::set<std::string> listeners(Poco::UInt16 port)
		/// The addresses listening on TCP port, from /proc/net/tcp and tcp6
		/// ("127.0.0.1", or "ipv6:HEX").
	{
		std::set<std::string> found;
		for (const std::string table: {"/proc/net/tcp", "/proc/net/tcp6"})
		{
			std::ifstream in(table);
			std::string line;
			std::getline(in, line); // the header
			while (std::getline(in, line))
			{
				std::istringstream fields(line);
				std::string slot, local, remote, state;
				fields >> slot >> local >> remote >> state;
				const std::size_t colon = local.find(':');
				if (state != "0A" || colon == std::string::npos) continue; // 0A: LISTEN
				if (std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
				const std::string hex = local.substr(0, colon);
				if (hex.size() == 8)
				{
					// IPv4 in host (little-endian) order: 0100007F is 127.0.0.1.
					const unsigned long a = std::stoul(hex, nullptr, 16);
					found.insert(std::to_string(a & 0xff) + "." + std::to_string((a >> 8) & 0xff) + "."
						+ std::to_string((a >> 16) & 0xff) + "." + std::to_string((a >> 24) & 0xff));
				}
				else found.insert("ipv6:" + hex);
			}
		}
		return found;
	}

	static bool refused(const std::string& host, Poco::UInt16 port)
		/// True if a connection to host:port is refused (nothing listens there).
	{
		try
		{
			Poco::Net::StreamSocket socket;
			socket.connect(Poco::Net::SocketAddress(host, port), Poco::Timespan(5, 0));
			return false;
		}
		catch (Poco::Net::ConnectionRefusedException&)
		{
			return true;
		}
	}

	static bool alive(pid_t pid)
		/// True if pid is a process that is not a zombie.
	{
		std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
		std::string text;
		if (!std::getline(in, text)) return false;
		const std::size_t paren = text.rfind(')');
		return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
	}

	static long uidOf(pid_t pid)
		/// The real uid of pid, or -1.
	{
		std::ifstream in("/proc/" + std::to_string(pid) + "/status");
		std::string line;
		while (std::getline(in, line))
		{
			if (line.compare(0, 4, "Uid:") == 0) return std::stol(line.substr(4));
		}
		return -1;
	}

	static std::vector<std::string> linesOf(const std::string& path)
	{
		std::vector<std::string> lines;
		std::ifstream in(path);
		std::string line;
		while (std::getline(in, line)) lines.push_back(line);
		return lines;
	}

	static std::string configValue(Poco::Redis::Client& client, const std::string& name)
	{
		Command get("CONFIG");
		get << "GET" << name;
		Poco::Redis::Array reply = client.execute<Poco::Redis::Array>(get);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), reply.size());
		return reply.get<BulkString>(1).value();
	}

	static pid_t redisPid(Poco::Redis::Client& client)
	{
		const std::string info = client.execute<BulkString>(Command("INFO") << "server").value();
		const std::string key = "process_id:";
		const std::size_t at = info.find(key);
		CPPUNIT_ASSERT(at != std::string::npos);
		return static_cast<pid_t>(std::stol(info.substr(at + key.size())));
	}

	static void connect(Poco::Redis::Client& client, const RedisProcess& redis)
	{
		client.connect(redis.address(), Poco::Timespan(5, 0));
		client.setReceiveTimeout(Poco::Timespan(5, 0));
	}
};


void EnginesTest::testPostgresStarts()
{
	PostgresProcess pg;
	CPPUNIT_ASSERT(pg.running());
	CPPUNIT_ASSERT(pg.port() != 0);
	CPPUNIT_ASSERT_EQUAL("host=127.0.0.1 port=" + std::to_string(pg.port()) + " user=imgate dbname=imgate connect_timeout=5", pg.connectionString());
	CPPUNIT_ASSERT_EQUAL(std::string("1"), pg.queryOne("SELECT 1"));
	CPPUNIT_ASSERT_EQUAL(std::string("imgate"), pg.queryOne("SELECT current_database()"));
	CPPUNIT_ASSERT_EQUAL(std::string("imgate"), pg.queryOne("SELECT current_user"));
	CPPUNIT_ASSERT_EQUAL(std::string("UTF8"), pg.queryOne("SHOW server_encoding"));
	CPPUNIT_ASSERT_EQUAL(std::to_string(pg.port()), pg.queryOne("SHOW port"));
	// The store's durability tests need real fsyncs.
	CPPUNIT_ASSERT_EQUAL(std::string("on"), pg.queryOne("SHOW fsync"));
	CPPUNIT_ASSERT_EQUAL(std::string("100"), pg.queryOne("SHOW max_connections"));
	CPPUNIT_ASSERT_EQUAL(pg.dataDir(), pg.queryOne("SHOW data_directory"));
	// The unix socket in the fixture's folder, not /var/run/postgresql.
	CPPUNIT_ASSERT_EQUAL(pg.socketDir(), pg.queryOne("SHOW unix_socket_directories"));
	CPPUNIT_ASSERT(Poco::File(pg.socketDir() + "/.s.PGSQL." + std::to_string(pg.port())).exists());
	CPPUNIT_ASSERT(!Poco::File("/var/run/postgresql/.s.PGSQL." + std::to_string(pg.port())).exists());
	CPPUNIT_ASSERT_EQUAL(0, pg.dataDir().compare(0, pg.socketDir().size() + 1, pg.socketDir() + "/"));
	// Another database by its connection string.
	Poco::Data::Session postgres("postgresql", pg.connectionString("postgres"));
	std::string name;
	postgres << "SELECT current_database()", into(name), now;
	CPPUNIT_ASSERT_EQUAL(std::string("postgres"), name);
	// Errors reach the test.
	CPPUNIT_ASSERT_THROW(pg.execute("SELECT * FROM no_such_table"), Poco::Data::DataException);
	CPPUNIT_ASSERT_THROW(pg.queryOne("SELECT 1 WHERE false"), Poco::NotFoundException);
	CPPUNIT_ASSERT_EQUAL(std::string(), pg.queryOne("SELECT NULL"));
	CPPUNIT_ASSERT_THROW(pg.start(), Poco::IllegalStateException);
}


void EnginesTest::testPostgresSettings()
{
	// Settings add and override; the address, port and socket stay the fixture's.
	PostgresProcess pg({{"max_connections", "20"}, {"synchronous_commit", "off"}, {"listen_addresses", "*"}});
	CPPUNIT_ASSERT_EQUAL(std::string("20"), pg.queryOne("SHOW max_connections"));
	CPPUNIT_ASSERT_EQUAL(std::string("off"), pg.queryOne("SHOW synchronous_commit"));
	CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), pg.queryOne("SHOW listen_addresses"));
	pg.stop();
	pg.start();
	CPPUNIT_ASSERT_EQUAL(std::string("20"), pg.queryOne("SHOW max_connections"));
}


void EnginesTest::testPostgresRowSurvivesStop()
{
	PostgresProcess pg;
	pg.execute("CREATE TABLE t (id integer PRIMARY KEY, body text NOT NULL)");
	pg.execute("INSERT INTO t VALUES (1, 'before stop')");
	const Poco::UInt16 port = pg.port();

	pg.stop();
	CPPUNIT_ASSERT(!pg.running());
	CPPUNIT_ASSERT(ChildProcess::processesIn(pg.dataDir()).empty());
	CPPUNIT_ASSERT(refused("127.0.0.1", port));
	CPPUNIT_ASSERT_THROW(pg.queryOne("SELECT 1"), Poco::Exception);
	// A clean shutdown removes the lock file.
	CPPUNIT_ASSERT(!Poco::File(pg.dataDir() + "/postmaster.pid").exists());
	pg.stop(); // nothing to do

	pg.start();
	CPPUNIT_ASSERT(pg.running());
	CPPUNIT_ASSERT_EQUAL(port, pg.port());
	CPPUNIT_ASSERT_EQUAL(std::string("before stop"), pg.queryOne("SELECT body FROM t WHERE id = 1"));
	pg.execute("INSERT INTO t VALUES (2, 'after start')");
	CPPUNIT_ASSERT_EQUAL(std::string("2"), pg.queryOne("SELECT count(*) FROM t"));
}


void EnginesTest::testPostgresCommittedRowSurvivesKill()
{
	PostgresProcess pg;
	pg.execute("CREATE TABLE t (id integer PRIMARY KEY, body text NOT NULL)");
	pg.execute("INSERT INTO t VALUES (1, 'committed')");
	pg.execute("INSERT INTO t SELECT g, 'bulk' FROM generate_series(10, 1009) g");
	const Poco::UInt16 port = pg.port();
	std::string backend;
	{
		// A transaction open when the server dies: it must not survive.
		Poco::Data::Session open("postgresql", pg.connectionString());
		open << "SELECT pg_backend_pid()", into(backend), now;
		open.begin();
		open << "INSERT INTO t VALUES (2, 'uncommitted')", now;
		CPPUNIT_ASSERT_EQUAL(std::string("1"), pg.queryOne("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"));
		CPPUNIT_ASSERT(alive(std::stoi(backend)));

		pg.kill();
		CPPUNIT_ASSERT(!pg.running());
	}
	// Every worker is gone with the postmaster, the client's backend too.
	CPPUNIT_ASSERT(!alive(std::stoi(backend)));
	CPPUNIT_ASSERT(ChildProcess::processesIn(pg.dataDir()).empty());
	CPPUNIT_ASSERT(refused("127.0.0.1", port));
	// A crash, not a shutdown: the lock file is left.
	CPPUNIT_ASSERT(Poco::File(pg.dataDir() + "/postmaster.pid").exists());
	pg.kill(); // nothing to do

	const std::size_t before = pg.log().size();
	pg.start();
	CPPUNIT_ASSERT(pg.running());
	CPPUNIT_ASSERT_EQUAL(port, pg.port());
	CPPUNIT_ASSERT(pg.log().find("automatic recovery in progress", before) != std::string::npos);
	CPPUNIT_ASSERT_EQUAL(std::string("committed"), pg.queryOne("SELECT body FROM t WHERE id = 1"));
	CPPUNIT_ASSERT_EQUAL(std::string("1000"), pg.queryOne("SELECT count(*) FROM t WHERE body = 'bulk'"));
	CPPUNIT_ASSERT_EQUAL(std::string("0"), pg.queryOne("SELECT count(*) FROM t WHERE id = 2"));

	// A second crash right after recovery, and back again.
	pg.execute("INSERT INTO t VALUES (3, 'after recovery')");
	pg.kill();
	pg.start();
	CPPUNIT_ASSERT_EQUAL(std::string("after recovery"), pg.queryOne("SELECT body FROM t WHERE id = 3"));
}


void EnginesTest::testPostgresNotRoot()
{
	PostgresProcess pg;
	struct stat st;
	CPPUNIT_ASSERT_EQUAL(0, ::stat(pg.dataDir().c_str(), &st));
	const pid_t backend = static_cast<pid_t>(std::stoi(pg.queryOne("SELECT pg_backend_pid()")));
	const long serverUid = uidOf(backend);
	const std::vector<std::string> lock = linesOf(pg.dataDir() + "/postmaster.pid");
	CPPUNIT_ASSERT(!lock.empty());
	const long postmasterUid = uidOf(static_cast<pid_t>(std::stoi(lock[0])));
	if (::geteuid() == 0)
	{
		// PostgreSQL refuses root: the fixture runs it as nobody.
		const ChildProcess::Account nobody = ChildProcess::account("nobody");
		CPPUNIT_ASSERT(st.st_uid != 0);
		CPPUNIT_ASSERT_EQUAL(nobody.uid, st.st_uid);
		CPPUNIT_ASSERT_EQUAL(static_cast<long>(nobody.uid), serverUid);
		CPPUNIT_ASSERT_EQUAL(static_cast<long>(nobody.uid), postmasterUid);
	}
	else
	{
		CPPUNIT_ASSERT_EQUAL(::geteuid(), st.st_uid);
		CPPUNIT_ASSERT_EQUAL(static_cast<long>(::geteuid()), serverUid);
		CPPUNIT_ASSERT_EQUAL(static_cast<long>(::geteuid()), postmasterUid);
	}
	// initdb makes the data folder private to its owner, as the server demands.
	CPPUNIT_ASSERT_EQUAL(0, static_cast<int>(st.st_mode & 077));
}


void EnginesTest::testPostgresLoopbackOnly()
{
	PostgresProcess pg;
	CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), pg.queryOne("SHOW listen_addresses"));
	CPPUNIT_ASSERT(listeners(pg.port()) == std::set<std::string>{"127.0.0.1"});
	// 127.0.0.2 is this machine too: only a socket bound to 127.0.0.1 refuses it.
	CPPUNIT_ASSERT(refused("127.0.0.2", pg.port()));
	CPPUNIT_ASSERT(!refused("127.0.0.1", pg.port()));
}


void EnginesTest::testPostgresLeavesNothing()
{
	// Destroyed while running, with a client connected.
	std::string folder;
	pid_t postmaster = -1;
	pid_t backend = -1;
	std::unique_ptr<Poco::Data::Session> pClient;
	{
		PostgresProcess pg;
		folder = pg.socketDir();
		postmaster = static_cast<pid_t>(std::stoi(linesOf(pg.dataDir() + "/postmaster.pid").at(0)));
		pClient.reset(new Poco::Data::Session("postgresql", pg.connectionString()));
		std::string pid;
		*pClient << "SELECT pg_backend_pid()", into(pid), now;
		backend = static_cast<pid_t>(std::stoi(pid));
		CPPUNIT_ASSERT(alive(postmaster));
		CPPUNIT_ASSERT(alive(backend));
	}
	CPPUNIT_ASSERT(!alive(postmaster));
	CPPUNIT_ASSERT(!alive(backend));
	CPPUNIT_ASSERT(!Poco::File(folder).exists());
	pClient.reset();

	// Destroyed after kill(): the shared memory a crash leaves is removed too.
	int shmId = -1;
	{
		PostgresProcess pg;
		folder = pg.socketDir();
		pg.kill();
		const std::vector<std::string> lock = linesOf(pg.dataDir() + "/postmaster.pid");
		CPPUNIT_ASSERT(lock.size() >= 7);
		std::istringstream in(lock[6]);
		long key = 0;
		in >> key >> shmId;
		struct shmid_ds ds;
		CPPUNIT_ASSERT_EQUAL(0, ::shmctl(shmId, IPC_STAT, &ds));
	}
	struct shmid_ds ds;
	CPPUNIT_ASSERT(::shmctl(shmId, IPC_STAT, &ds) != 0);
	CPPUNIT_ASSERT(!Poco::File(folder).exists());
}


void EnginesTest::testPostgresFailureThrowsWithLog()
{
	// A setting the server refuses: the exception carries its log.
	try
	{
		PostgresProcess pg(PostgresProcess::Settings{{"shared_buffers", "lots"}});
		CPPUNIT_FAIL("PostgreSQL started with shared_buffers = lots");
	}
	catch (Poco::RuntimeException& exc)
	{
		CPPUNIT_ASSERT_MESSAGE(exc.message(), exc.message().find("invalid value for parameter \"shared_buffers\"") != std::string::npos);
	}
	EnvironmentOverride bindir("IMGATE_PG_BINDIR", "/nonexistent/bin");
	CPPUNIT_ASSERT_THROW(PostgresProcess(), Poco::NotFoundException);
}


void EnginesTest::testRedisSetGet()
{
	RedisProcess redis;
	CPPUNIT_ASSERT(redis.running());
	CPPUNIT_ASSERT_EQUAL("127.0.0.1:" + std::to_string(redis.port()), redis.address());
	Poco::Redis::Client client;
	connect(client, redis);
	CPPUNIT_ASSERT_EQUAL(std::string("OK"), client.execute<std::string>(Command::set("greeting", "hello")));
	BulkString value = client.execute<BulkString>(Command::get("greeting"));
	CPPUNIT_ASSERT(!value.isNull());
	CPPUNIT_ASSERT_EQUAL(std::string("hello"), value.value());
	CPPUNIT_ASSERT(client.execute<BulkString>(Command::get("absent")).isNull());
	// No persistence, loopback only.
	CPPUNIT_ASSERT_EQUAL(std::string(""), configValue(client, "save"));
	CPPUNIT_ASSERT_EQUAL(std::string("no"), configValue(client, "appendonly"));
	CPPUNIT_ASSERT_EQUAL(std::string("yes"), configValue(client, "protected-mode"));
	CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), configValue(client, "bind"));
	CPPUNIT_ASSERT(listeners(redis.port()) == std::set<std::string>{"127.0.0.1"});
	CPPUNIT_ASSERT(refused("127.0.0.2", redis.port()));
	CPPUNIT_ASSERT_THROW(redis.start(), Poco::IllegalStateException);
}


void EnginesTest::testRedisKillAndStart()
{
	RedisProcess redis;
	const Poco::UInt16 port = redis.port();
	pid_t pid = -1;
	{
		Poco::Redis::Client client;
		connect(client, redis);
		client.execute<std::string>(Command::set("key", "value"));
		pid = redisPid(client);
	}
	CPPUNIT_ASSERT(alive(pid));

	redis.kill();
	CPPUNIT_ASSERT(!redis.running());
	CPPUNIT_ASSERT(!alive(pid));
	CPPUNIT_ASSERT(refused("127.0.0.1", port));
	redis.kill(); // nothing to do

	redis.start();
	CPPUNIT_ASSERT(redis.running());
	CPPUNIT_ASSERT_EQUAL(port, redis.port());
	{
		Poco::Redis::Client client;
		connect(client, redis);
		CPPUNIT_ASSERT_EQUAL(std::string("PONG"), client.execute<std::string>(Command::ping()));
		// Nothing is persisted.
		CPPUNIT_ASSERT(client.execute<BulkString>(Command::get("key")).isNull());
		const pid_t second = redisPid(client);
		CPPUNIT_ASSERT(second != pid);
		client.execute<std::string>(Command::set("key", "again"));
	}

	redis.stop();
	CPPUNIT_ASSERT(!redis.running());
	CPPUNIT_ASSERT(refused("127.0.0.1", port));
	redis.stop(); // nothing to do
	redis.start();
	Poco::Redis::Client client;
	connect(client, redis);
	CPPUNIT_ASSERT_EQUAL(std::string("PONG"), client.execute<std::string>(Command::ping()));
	CPPUNIT_ASSERT(client.execute<BulkString>(Command::get("key")).isNull());
}


void EnginesTest::testRedisRequirePass()
{
	RedisProcess redis("s3cret-pass");
	CPPUNIT_ASSERT_EQUAL(std::string("s3cret-pass"), redis.password());
	Poco::Redis::Client client;
	connect(client, redis);
	try
	{
		client.execute<BulkString>(Command::get("key"));
		CPPUNIT_FAIL("GET without AUTH was answered");
	}
	catch (Poco::Redis::RedisException& exc)
	{
		CPPUNIT_ASSERT_MESSAGE(exc.message(), exc.message().find("NOAUTH") != std::string::npos);
	}
	Command wrong("AUTH");
	wrong << "not-the-pass";
	CPPUNIT_ASSERT_THROW(client.execute<std::string>(wrong), Poco::Redis::RedisException);
	Command right("AUTH");
	right << "s3cret-pass";
	CPPUNIT_ASSERT_EQUAL(std::string("OK"), client.execute<std::string>(right));
	CPPUNIT_ASSERT_EQUAL(std::string("OK"), client.execute<std::string>(Command::set("key", "value")));
	CPPUNIT_ASSERT_EQUAL(std::string("value"), client.execute<BulkString>(Command::get("key")).value());
}


void EnginesTest::testRedisLeavesNothing()
{
	std::string folder;
	pid_t pid = -1;
	{
		RedisProcess redis;
		Poco::Redis::Client client;
		connect(client, redis);
		pid = redisPid(client);
		folder = configValue(client, "dir");
		CPPUNIT_ASSERT(alive(pid));
		CPPUNIT_ASSERT(Poco::File(folder).exists());
	}
	CPPUNIT_ASSERT(!alive(pid));
	CPPUNIT_ASSERT(!Poco::File(folder).exists());
}


void EnginesTest::testRedisFailureThrowsWithLog()
{
	{
		// A "server" that prints its arguments and exits: its output reaches the test.
		EnvironmentOverride binary("IMGATE_REDIS_SERVER", "/bin/echo");
		try
		{
			RedisProcess redis;
			CPPUNIT_FAIL("/bin/echo answered PING");
		}
		catch (Poco::RuntimeException& exc)
		{
			CPPUNIT_ASSERT_MESSAGE(exc.message(), exc.message().find("/bin/echo") != std::string::npos);
			CPPUNIT_ASSERT_MESSAGE(exc.message(), exc.message().find("--bind 127.0.0.1 --port") != std::string::npos);
		}
	}
	EnvironmentOverride binary("IMGATE_REDIS_SERVER", "/nonexistent/redis-server");
	CPPUNIT_ASSERT_THROW(RedisProcess(), Poco::NotFoundException);
}


void EnginesTest::testHaproxyForwards()
{
	// One backend server, the test's own socket: a client's bytes reach it
	// through the frontend, the stats socket reports it, and nothing is
	// left listening once the fixture is gone.
	Poco::Net::ServerSocket backend(Poco::Net::SocketAddress("127.0.0.1", 0));
	const std::string config =
		"global\n"
		"\tstats socket ${STATS} mode 600 level admin\n"
		"defaults\n"
		"\tmode tcp\n"
		"\ttimeout connect 5s\n"
		"\ttimeout client 30s\n"
		"\ttimeout server 30s\n"
		"frontend f\n"
		"\tbind ${FRONTEND}\n"
		"\tdefault_backend b\n"
		"backend b\n"
		"\tserver s1 127.0.0.1:" + std::to_string(backend.address().port()) + "\n";
	Poco::UInt16 port = 0;
	{
		HaproxyProcess proxy(config);
		port = proxy.port();
		CPPUNIT_ASSERT(listeners(port) == std::set<std::string>{"127.0.0.1"});
		CPPUNIT_ASSERT_EQUAL(std::string("no check"), proxy.serverStatus("b", "s1"));
		CPPUNIT_ASSERT_EQUAL(std::string(), proxy.serverStatus("b", "s2"));
		Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", port));
		client.sendBytes("hello", 5);
		backend.setReceiveTimeout(Poco::Timespan(10, 0));
		Poco::Net::StreamSocket served = backend.acceptConnection();
		served.setReceiveTimeout(Poco::Timespan(10, 0));
		char bytes[5];
		int got = 0;
		while (got < 5)
		{
			const int n = served.receiveBytes(bytes + got, 5 - got);
			CPPUNIT_ASSERT(n > 0);
			got += n;
		}
		CPPUNIT_ASSERT_EQUAL(std::string("hello"), std::string(bytes, 5));
	}
	CPPUNIT_ASSERT(listeners(port).empty());
}


void EnginesTest::testHaproxyRefusesBadConfig()
{
	try
	{
		HaproxyProcess proxy("frontend f\n\tbind ${FRONTEND}\n\tno-such-keyword\n");
		CPPUNIT_FAIL("haproxy started on a broken configuration");
	}
	catch (Poco::RuntimeException& exc)
	{
		CPPUNIT_ASSERT_MESSAGE(exc.message(), exc.message().find("haproxy refuses the configuration") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(exc.message(), exc.message().find("no-such-keyword") != std::string::npos);
	}
	EnvironmentOverride binary("IMGATE_HAPROXY", "/nonexistent/haproxy");
	CPPUNIT_ASSERT_THROW(HaproxyProcess("frontend f\n"), Poco::NotFoundException);
}


CPPUNIT_TEST_SUITE_REGISTRATION(EnginesTest);
