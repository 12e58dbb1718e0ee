//
// SqliteMessageStoreTest.cpp
//
// The durable store on a real SQLite file in a temporary folder: the
// store contract (DurableStoreContract.h, shared with the PostgreSQL
// store's test), and what is SQLite's own: migration from round 1's
// schema, read indexes added to an older file, a full database
// (store.maxDatabaseBytes), foreign, newer, damaged and read-only files,
// the folder and file modes, the lock against a second store, and
// connections without SQLite's mutex.
//

#include "server/store/SqliteMessageStore.h"
#include "tests/support/StoreWriteLock.h"
#include "tests/unit/store/DurableStoreContract.h"
#include "server/store/SqliteDatabase.h"
#include "Poco/Data/Session.h"
#include "Poco/Data/SQLite/Connector.h"
#include "Poco/Data/SQLite/Utility.h"
#include "Poco/Event.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/TemporaryFile.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <cppunit/extensions/HelperMacros.h>
#include <sqlite3.h>
#include <atomic>
#include <fstream>
#include <memory>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace imgate::store;
using namespace Poco::Data::Keywords;


class SqliteBackend
	/// DurableStoreContract's database: a file in a new temporary folder
	/// for each test.
{
public:
	using Store = SqliteMessageStore;
	using Options = SqliteMessageStore::Options;

	void setUp()
	{
		_dir = Poco::TemporaryFile::tempName() + "/";
		Poco::File(_dir).createDirectories();
		_path = _dir + "imgate.db";
	}

	void tearDown()
	{
		try
		{
			Poco::File(_dir).remove(true);
		}
		catch (Poco::Exception&)
		{
		}
	}

	Options options() const
	{
		Options o;
		o.path = _path;
		o.fullSync = false; // the fsync cost is measured in the benchmark, not here
		return o;
	}

	static void syncEachCommit(Options& o)
	{
		o.fullSync = true;
	}

	Poco::Int64 queryInt(const std::string& sql)
	{
		Poco::Data::Session check(Poco::Data::SQLite::Connector::KEY, _path);
		Poco::Int64 n = -1;
		check << sql, into(n), now;
		return n;
	}

	std::unique_ptr<imgate::test::StoreWriteLock> blockWriter()
	{
		return std::unique_ptr<imgate::test::StoreWriteLock>(new imgate::test::StoreWriteLock(_path));
	}

	const std::string& dir() const
	{
		return _dir;
	}

	const std::string& path() const
	{
		return _path;
	}

private:
	std::string _dir;
	std::string _path;
};


class SqliteMessageStoreTest: public imgate::test::DurableStoreContract<SqliteBackend>
{
	CPPUNIT_TEST_SUB_SUITE(SqliteMessageStoreTest, imgate::test::DurableStoreContract<SqliteBackend>);
	CPPUNIT_TEST(testRoundOneDatabaseMigrates);
	CPPUNIT_TEST(testReadIndexesAddedToAnOlderDatabase);
	CPPUNIT_TEST(testRoundOneGapsAreDeliveredAgain);
	CPPUNIT_TEST(testDatabaseFullRefusesAndRecovers);
	CPPUNIT_TEST(testNewerSchemaRefused);
	CPPUNIT_TEST(testNotADatabase);
	CPPUNIT_TEST(testForeignDatabase);
	CPPUNIT_TEST(testCannotOpen);
	CPPUNIT_TEST(testMissingFolderIsCreated);
	CPPUNIT_TEST(testFilesArePrivateWhateverTheUmask);
	CPPUNIT_TEST(testReadOnlyDatabase);
	CPPUNIT_TEST(testSecondStoreOnSameFileRefused);
	CPPUNIT_TEST(testConnectionsWithoutMutex);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		DurableStoreContract::setUp();
		_dir = _backend.dir();
		_path = _backend.path();
	}

	static void writeFile(const std::string& path, const std::string& text)
	{
		std::ofstream out(path, std::ios::binary);
		out << text;
	}

	void testConnectionsWithoutMutex()
	{
		// Each connection is used by one thread at a time, so SQLite runs
		// in multi-thread mode: no per-connection mutex (perf: 11 % of the
		// server's CPU went to SQLite's mutexes in serialized mode).
		Poco::Data::Session writer = SqliteDatabase::openWriter(_path, false, 0);
		Poco::Data::Session reader = SqliteDatabase::openReader(_path);
		CPPUNIT_ASSERT(sqlite3_db_mutex(Poco::Data::SQLite::Utility::dbHandle(writer)) == nullptr);
		CPPUNIT_ASSERT(sqlite3_db_mutex(Poco::Data::SQLite::Utility::dbHandle(reader)) == nullptr);
		CPPUNIT_ASSERT(sqlite3_threadsafe() != 0);
	}

	void copyFixture(const std::string& name)
	{
		std::ifstream in(std::string(IMGATE_SOURCE_DIR) + "/tests/fixtures/store/" + name, std::ios::binary);
		CPPUNIT_ASSERT(in.good());
		std::ofstream out(_path, std::ios::binary);
		out << in.rdbuf();
		out.close();
		CPPUNIT_ASSERT(::chmod(_path.c_str(), 0600) == 0);
	}

	SqliteMessageStore::Options keepEverything() const
	{
		// The fixture's messages were sent on 2026-12-03: no retention may
		// delete them, whenever the test runs.
		SqliteMessageStore::Options o = options();
		o.retention = 3153600000u;
		o.historyRetention = 3153600000u;
		o.cleanupInterval = 86400;
		return o;
	}

	void testRoundOneDatabaseMigrates()
	{
		copyFixture("round1.db");
		Poco::UInt64 lastBefore = 0;
		Poco::Int64 deliveredClientId = 0;
		{
			Poco::Data::Session check(Poco::Data::SQLite::Connector::KEY, _path);
			check << "SELECT max(msg_id) FROM messages", into(lastBefore), now;
			check << "SELECT client_msg_id FROM messages WHERE payload = CAST('hello bob 1' AS BLOB)", into(deliveredClientId), now;
		}
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(1839417963152384), lastBefore);
		auto store = open(keepEverything());
		CPPUNIT_ASSERT_EQUAL(2, count("SELECT version FROM imgate_schema"));
		// What waited waits still, in order, from whom it came.
		PendingPage bob = read(*store, "bob", 0, 10);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), bob.messages.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(1839417963130880), bob.messages[0].msgId);
		CPPUNIT_ASSERT_EQUAL(std::string("hello bob 4"), bob.messages[0].payload);
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), bob.messages[0].fromUid);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), bob.messages[0].toUid);
		CPPUNIT_ASSERT_EQUAL(std::string("hello bob 5"), bob.messages[1].payload);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), store->pendingCount("bob"));
		CPPUNIT_ASSERT_EQUAL(std::string("hi alice"), read(*store, "alice", 0, 10).messages.at(0).payload);
		CPPUNIT_ASSERT_EQUAL(std::string("note to self"), read(*store, "carol", 0, 10).messages.at(0).payload);
		// Delivered ones are kept (history) and still recognised as sent.
		CPPUNIT_ASSERT_EQUAL(7, count("SELECT count(*) FROM messages"));
		CPPUNIT_ASSERT_EQUAL(6, count("SELECT count(*) FROM inbox WHERE sent = 1"));
		AppendResult resent = append(*store, "alice", "bob", static_cast<Poco::UInt64>(deliveredClientId), "hello bob 1");
		CPPUNIT_ASSERT(resent.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(1839417963100160), resent.msgId);
		// Ids go on from the last one.
		AppendResult next = append(*store, "alice", "bob", 99, "new");
		CPPUNIT_ASSERT(next.outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(next.msgId > lastBefore);
		store->close();
		// A second start finds schema 2 and changes nothing.
		auto again = open(keepEverything());
		CPPUNIT_ASSERT_EQUAL(3, static_cast<int>(again->pendingCount("bob")));
	}

	void testReadIndexesAddedToAnOlderDatabase()
	{
		// A schema-2 database written before the read indexes existed
		// gets them at start-up; its messages read as before.
		{
			auto store = open(options());
			append(*store, "alice", "bob", 1, "a->b");
			store->close();
		}
		{
			Poco::Data::Session s(Poco::Data::SQLite::Connector::KEY, _path);
			s << "DROP INDEX inbox_received", now;
			s << "DROP INDEX messages_by_pair", now;
			s << "DROP INDEX messages_by_group", now;
		}
		const std::string indexes = "SELECT count(*) FROM sqlite_master WHERE name IN ('inbox_received', 'messages_by_pair', 'messages_by_group')";
		CPPUNIT_ASSERT_EQUAL(0, count(indexes));
		auto store = open(options());
		CPPUNIT_ASSERT_EQUAL(3, count(indexes));
		CPPUNIT_ASSERT_EQUAL(std::string("a->b"), read(*store, "bob", 0, 10).messages.at(0).payload);
		HistoryQuery q;
		q.uid = "bob";
		q.withUid = "alice";
		CPPUNIT_ASSERT_EQUAL(std::string("a->b"), history(*store, q).messages.at(0).payload);
	}

	void testRoundOneGapsAreDeliveredAgain()
	{
		// Round 1 marked each message delivered on its own; a position
		// cannot hold a gap, so a delivered message above an undelivered
		// one is delivered once more (at least once).
		{
			Poco::Data::Session s(Poco::Data::SQLite::Connector::KEY, _path);
			s << "CREATE TABLE imgate_schema(version INTEGER NOT NULL)", now;
			s << "INSERT INTO imgate_schema(version) VALUES(1)", now;
			s << "CREATE TABLE imgate_state(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID", now;
			s << "CREATE TABLE messages(msg_id INTEGER PRIMARY KEY, to_uid TEXT NOT NULL, from_uid TEXT NOT NULL, "
				"client_msg_id INTEGER NOT NULL, created_ms INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, payload BLOB NOT NULL)", now;
			s << "CREATE UNIQUE INDEX messages_by_sender ON messages(from_uid, client_msg_id)", now;
			s << "CREATE INDEX messages_pending ON messages(to_uid, msg_id) WHERE delivered = 0", now;
			s << "CREATE INDEX messages_delivered ON messages(msg_id) WHERE delivered = 1", now;
			Poco::Int64 ms = Poco::Timestamp().epochMicroseconds() / 1000;
			Poco::Int64 base = ms << 10;
			s << "INSERT INTO messages VALUES(?, 'b', 'a', 1, ?, 1, 'one')", use(base), use(ms), now;
			Poco::Int64 second = base + 1, third = base + 2, other = base + 3;
			s << "INSERT INTO messages VALUES(?, 'b', 'a', 2, ?, 0, 'two')", use(second), use(ms), now;
			s << "INSERT INTO messages VALUES(?, 'b', 'a', 3, ?, 1, 'three')", use(third), use(ms), now;
			s << "INSERT INTO messages VALUES(?, 'c', 'a', 4, ?, 1, 'for c')", use(other), use(ms), now;
		}
		auto store = open(options());
		PendingPage b = read(*store, "b", 0, 10);
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), b.messages.size());
		CPPUNIT_ASSERT_EQUAL(std::string("two"), b.messages[0].payload);
		CPPUNIT_ASSERT_EQUAL(std::string("three"), b.messages[1].payload);
		CPPUNIT_ASSERT(read(*store, "c", 0, 10).messages.empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), store->pendingCount("c"));
	}

	void testDatabaseFullRefusesAndRecovers()
	{
		SqliteMessageStore::Options o = options();
		o.maxDatabaseBytes = 256 * 1024;
		o.deliveredRetention = 0;
		o.historyRetention = 0;
		auto store = open(o);
		const std::string payload(8000, 'p');
		std::vector<Poco::UInt64> stored;
		AppendResult r;
		for (Poco::UInt64 i = 1; i <= 200; ++i)
		{
			r = append(*store, "a", "b", i, payload);
			if (r.outcome != AppendResult::STORED) break;
			stored.push_back(r.msgId);
		}
		CPPUNIT_ASSERT_MESSAGE(std::to_string(r.outcome), r.outcome == AppendResult::STORE_FULL);
		CPPUNIT_ASSERT_MESSAGE(r.error, r.error.find("cannot write " + _path + ": database or disk is full") != std::string::npos);
		CPPUNIT_ASSERT(stored.size() >= 10);
		CPPUNIT_ASSERT(store->statistics().failedCommits >= 1);
		// A resend of a stored message still gets its id while full.
		AppendResult dup = append(*store, "a", "b", 1, payload);
		CPPUNIT_ASSERT(dup.outcome == AppendResult::DUPLICATE);
		CPPUNIT_ASSERT_EQUAL(stored[0], dup.msgId);
		// Everything acknowledged as STORED is there, in order.
		PendingPage page = read(*store, "b", 0, 1000);
		CPPUNIT_ASSERT_EQUAL(stored.size(), page.messages.size());
		for (std::size_t i = 0; i < stored.size(); ++i) CPPUNIT_ASSERT_EQUAL(stored[i], page.messages[i].msgId);
		// Deliveries free space; sends succeed again.
		store->acknowledge("b", "", stored[9], std::vector<Poco::UInt64>(stored.begin(), stored.begin() + 10));
		store->flush();
		AppendResult after = append(*store, "a", "b", 1000, payload);
		CPPUNIT_ASSERT_MESSAGE(after.error, after.outcome == AppendResult::STORED);
	}

	void testNewerSchemaRefused()
	{
		open(options())->close();
		{
			Poco::Data::Session s(Poco::Data::SQLite::Connector::KEY, _path);
			s << "UPDATE imgate_schema SET version = 3", now;
		}
		std::string e = openError(options());
		CPPUNIT_ASSERT_MESSAGE(e, e == _path + ": schema version 3 is newer than this imgated supports (2); run a newer imgated or use another store.path");
	}

	void testNotADatabase()
	{
		writeFile(_path, std::string(8192, 'x'));
		std::string e = openError(options());
		CPPUNIT_ASSERT_MESSAGE(e, e.find(_path + ": cannot use the database: file is not a database") == 0);
	}

	void testForeignDatabase()
	{
		{
			Poco::Data::Session s(Poco::Data::SQLite::Connector::KEY, _path);
			s << "CREATE TABLE customers(id INTEGER)", now;
		}
		std::string e = openError(options());
		CPPUNIT_ASSERT_MESSAGE(e, e == _path + ": is an SQLite database of another application (it has tables but no imgate_schema); refusing to touch it");
	}

	void testCannotOpen()
	{
		Poco::File(_path).createDirectory(); // a folder where the file should be
		std::string e = openError(options());
		CPPUNIT_ASSERT_MESSAGE(e, e == _path + ": cannot open the database: it is a directory");
	}

	void testMissingFolderIsCreated()
	{
		SqliteMessageStore::Options o = options();
		o.path = _dir + "a/b/imgate.db";
		auto store = open(o);
		CPPUNIT_ASSERT(append(*store, "a", "b", 1, "x").outcome == AppendResult::STORED);
		CPPUNIT_ASSERT(Poco::File(o.path).exists());
		store->close();
		// Under a regular file no folder can be made: the error names the path.
		writeFile(_dir + "plain", "x");
		o.path = _dir + "plain/imgate.db";
		std::string e = openError(o);
		CPPUNIT_ASSERT_MESSAGE(e, e.find(o.path + ": cannot create its folder: ") == 0);
	}

	static unsigned modeOf(const std::string& path)
	{
		struct stat st;
		CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 0, ::stat(path.c_str(), &st));
		return st.st_mode & 07777;
	}

	void testFilesArePrivateWhateverTheUmask()
	{
		// Payloads are private: new folders 0750, the database and its
		// -wal and -shm files 0640, even with a umask of 0.
		const mode_t saved = ::umask(0);
		SqliteMessageStore::Options o = options();
		o.path = _dir + "a/b/imgate.db";
		try
		{
			auto store = open(o);
			CPPUNIT_ASSERT(append(*store, "a", "b", 1, "x").outcome == AppendResult::STORED);
			CPPUNIT_ASSERT_EQUAL(0750u, modeOf(_dir + "a"));
			CPPUNIT_ASSERT_EQUAL(0750u, modeOf(_dir + "a/b"));
			CPPUNIT_ASSERT_EQUAL(0640u, modeOf(o.path));
			CPPUNIT_ASSERT_EQUAL(0640u, modeOf(o.path + "-wal"));
			CPPUNIT_ASSERT_EQUAL(0640u, modeOf(o.path + "-shm"));
			store->close();
		}
		catch (...)
		{
			::umask(saved);
			throw;
		}
		::umask(saved);
		// An existing database keeps its mode (the operator chose it).
		CPPUNIT_ASSERT_EQUAL(0, ::chmod(o.path.c_str(), 0644));
		open(o)->close();
		CPPUNIT_ASSERT_EQUAL(0644u, modeOf(o.path));
	}

	void testReadOnlyDatabase()
	{
		open(options())->close();
		Poco::File(_path + ".lock").remove(); // root's; the other user makes its own
		// The file belongs to someone else and may only be read; its folder
		// is writable (as /var/lib/imgate is for the imgate user).
		CPPUNIT_ASSERT_EQUAL(0, ::chmod(_path.c_str(), 0444));
		CPPUNIT_ASSERT_EQUAL(0, ::chmod(_dir.c_str(), 0777));
		std::string e;
		if (::geteuid() != 0)
		{
			e = openError(options());
		}
		else
		{
			// root may write anything: try as nobody, in a child process.
			int pipeFds[2];
			CPPUNIT_ASSERT_EQUAL(0, ::pipe(pipeFds));
			pid_t pid = ::fork();
			CPPUNIT_ASSERT(pid >= 0);
			if (pid == 0)
			{
				::close(pipeFds[0]);
				std::string message = ::setgid(65534) == 0 && ::setuid(65534) == 0 ? openError(options()) : "setuid failed";
				ssize_t ignored = ::write(pipeFds[1], message.data(), message.size());
				(void) ignored;
				::_exit(0);
			}
			::close(pipeFds[1]);
			char buffer[1024];
			ssize_t n;
			while ((n = ::read(pipeFds[0], buffer, sizeof(buffer))) > 0) e.append(buffer, static_cast<std::size_t>(n));
			::close(pipeFds[0]);
			int status = 0;
			::waitpid(pid, &status, 0);
		}
		CPPUNIT_ASSERT_MESSAGE(e, e.find(_path + ": cannot use the database: attempt to write a readonly database") == 0);
	}

	void testSecondStoreOnSameFileRefused()
	{
		auto first = open(options());
		std::string e = openError(options());
		CPPUNIT_ASSERT_MESSAGE(e, e == _path + " is in use by another imgated (pid " + std::to_string(::getpid()) + ")");
		first->close();
		CPPUNIT_ASSERT_EQUAL(std::string("(no error)"), openError(options()));
	}

private:
	std::string _dir;
	std::string _path;
};


CPPUNIT_TEST_SUITE_REGISTRATION(SqliteMessageStoreTest);
