//
// OutboxFileTest.cpp
//
// The client's outbox file: what was unanswered and which deliveries were
// handed over survive a reopen; a torn last record is dropped and the
// records before it kept; a file that is not an outbox is refused and left
// alone; a second client on the file is refused; the file is private; a
// large file is compacted to what is live.
//

#include "clients/cpp/src/OutboxFile.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/TemporaryFile.h"
#include <cppunit/extensions/HelperMacros.h>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

using imgate::client::Client;
using imgate::client::OutboxFile;

class OutboxFileTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(OutboxFileTest);
	CPPUNIT_TEST(testSurvivesAReopen);
	CPPUNIT_TEST(testTornLastRecordIsDropped);
	CPPUNIT_TEST(testDamageInTheMiddleIsRefused);
	CPPUNIT_TEST(testForeignFileRefusedAndUntouched);
	CPPUNIT_TEST(testSecondClientRefused);
	CPPUNIT_TEST(testFileIsPrivate);
	CPPUNIT_TEST(testCompactedToWhatIsLive);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_dir = Poco::TemporaryFile::tempName() + "/";
		Poco::File(_dir).createDirectories();
		_path = _dir + "outbox";
	}

	void tearDown() override
	{
		Poco::File(_dir).remove(true);
	}

	static Client::Outgoing message(Poco::UInt64 id, const std::string& payload)
	{
		Client::Outgoing m;
		m.clientMsgId = id;
		m.toUid = "bob";
		m.payload = payload;
		return m;
	}

	void testSurvivesAReopen()
	{
		{
			OutboxFile file(_path);
			CPPUNIT_ASSERT(file.restoredSends().empty());
			file.addSend(message(1, "one"));
			file.addSend(message(2, std::string("two\0bytes", 9)));
			Client::Outgoing group;
			group.clientMsgId = 3;
			group.toGroup = "g1";
			group.payload = "three";
			file.addSend(group);
			file.addAnswered(2);
			file.addDelivered(100);
			file.addDelivered(101);
			file.sync();
		}
		OutboxFile file(_path);
		const auto& sends = file.restoredSends();
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), sends.size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(1), sends[0].clientMsgId);
		CPPUNIT_ASSERT_EQUAL(std::string("one"), sends[0].payload);
		CPPUNIT_ASSERT_EQUAL(std::string("bob"), sends[0].toUid);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(3), sends[1].clientMsgId);
		CPPUNIT_ASSERT_EQUAL(std::string("g1"), sends[1].toGroup);
		CPPUNIT_ASSERT(sends[1].toUid.empty());
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), file.restoredIds().size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(101), file.restoredIds().back());
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), file.droppedBytes());
	}

	void testTornLastRecordIsDropped()
	{
		{
			OutboxFile file(_path);
			file.addSend(message(1, "kept"));
			file.addSend(message(2, "torn"));
			file.sync();
		}
		// A crash in the middle of the last write: its last 3 bytes never made it.
		const Poco::File::FileSize size = Poco::File(_path).getSize();
		CPPUNIT_ASSERT_EQUAL(0, ::truncate(_path.c_str(), static_cast<off_t>(size - 3)));
		OutboxFile file(_path);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), file.restoredSends().size());
		CPPUNIT_ASSERT_EQUAL(std::string("kept"), file.restoredSends()[0].payload);
		CPPUNIT_ASSERT(file.droppedBytes() > 0);
	}

	void testDamageInTheMiddleIsRefused()
	{
		{
			OutboxFile file(_path);
			file.addSend(message(1, "first"));
			file.addSend(message(2, "second"));
			file.sync();
		}
		// One byte of the first record's payload flipped: the second is whole.
		std::string data;
		{
			std::ifstream in(_path, std::ios::binary);
			data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
		}
		const std::size_t at = data.find("first");
		CPPUNIT_ASSERT(at != std::string::npos);
		data[at] = 'F';
		{
			std::ofstream out(_path, std::ios::binary | std::ios::trunc);
			out << data;
		}
		try
		{
			OutboxFile file(_path);
			CPPUNIT_FAIL("a damaged outbox was taken");
		}
		catch (Poco::FileException& exc)
		{
			CPPUNIT_ASSERT_MESSAGE(exc.displayText(), exc.displayText().find("damaged at byte") != std::string::npos);
		}
		std::ifstream in(_path, std::ios::binary);
		std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		CPPUNIT_ASSERT(after == data); // left as it was
	}

	void testForeignFileRefusedAndUntouched()
	{
		{
			std::ofstream out(_path);
			out << "somebody's notes\n";
		}
		try
		{
			OutboxFile file(_path);
			CPPUNIT_FAIL("a foreign file was taken");
		}
		catch (Poco::FileException& exc)
		{
			CPPUNIT_ASSERT_MESSAGE(exc.displayText(), exc.displayText().find(_path + ": not an imgate outbox file") != std::string::npos);
		}
		std::ifstream in(_path);
		std::string line;
		std::getline(in, line);
		CPPUNIT_ASSERT_EQUAL(std::string("somebody's notes"), line);
	}

	void testSecondClientRefused()
	{
		OutboxFile first(_path);
		try
		{
			OutboxFile second(_path);
			CPPUNIT_FAIL("two clients on one outbox");
		}
		catch (Poco::FileException& exc)
		{
			CPPUNIT_ASSERT_MESSAGE(exc.displayText(), exc.displayText().find("in use by another client") != std::string::npos);
		}
	}

	void testFileIsPrivate()
	{
		const mode_t old = ::umask(0);
		{
			OutboxFile file(_path);
			file.addSend(message(1, "secret"));
			file.sync();
		}
		::umask(old);
		struct stat st;
		CPPUNIT_ASSERT_EQUAL(0, ::stat(_path.c_str(), &st));
		CPPUNIT_ASSERT_EQUAL(0600, static_cast<int>(st.st_mode & 0777));
		CPPUNIT_ASSERT_EQUAL(0, ::stat((_path + ".lock").c_str(), &st));
		CPPUNIT_ASSERT_EQUAL(0600, static_cast<int>(st.st_mode & 0777));
	}

	void testCompactedToWhatIsLive()
	{
		const std::string payload(1000, 'p');
		{
			OutboxFile file(_path);
			for (Poco::UInt64 i = 1; i <= 10000; ++i)
			{
				file.addSend(message(i, payload));
				if (i != 5000) file.addAnswered(i);
				if (i % 100 == 0) file.sync();
			}
			file.sync();
		}
		// 10 MB went through; one send is live.
		CPPUNIT_ASSERT(Poco::File(_path).getSize() < 4u << 20);
		OutboxFile file(_path);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), file.restoredSends().size());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(5000), file.restoredSends()[0].clientMsgId);
	}

private:
	std::string _dir;
	std::string _path;
};


CPPUNIT_TEST_SUITE_REGISTRATION(OutboxFileTest);
