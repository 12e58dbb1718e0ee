//
// SessionLogTest.cpp
//
// What sessions write to the log (issue 15, findings 2 and 10): bounded
// across connections that never log in, and client-chosen text quoted so
// it cannot forge fields. In process, with the log captured and the clock
// moved by the test.
//

#include "tests/support/InProcessServer.h"
#include "Poco/AutoPtr.h"
#include "Poco/Channel.h"
#include "Poco/Logger.h"
#include "Poco/Message.h"
#include "Poco/Mutex.h"
#include <cppunit/extensions/HelperMacros.h>
#include <vector>

using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::test::InProcessServer;

namespace {

class CapturingChannel: public Poco::Channel
{
public:
	void log(const Poco::Message& msg) override
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		_lines.push_back(msg.getText());
	}

	std::vector<std::string> lines()
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		return _lines;
	}

	std::size_t count(const std::string& text)
	{
		std::size_t n = 0;
		for (const std::string& line: lines())
		{
			if (line.find(text) != std::string::npos) ++n;
		}
		return n;
	}

private:
	Poco::FastMutex _mutex;
	std::vector<std::string> _lines;
};

} // namespace


class SessionLogTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(SessionLogTest);
	CPPUNIT_TEST(testLoginTimeoutFloodIsBounded);
	CPPUNIT_TEST(testDeviceCannotForgeFields);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pChannel = new CapturingChannel;
		Poco::Logger& logger = Poco::Logger::get("imgate.session");
		_pSavedChannel = logger.getChannel();
		_savedLevel = logger.getLevel();
		logger.setChannel(_pChannel);
		logger.setLevel(Poco::Message::PRIO_INFORMATION);
		imgate::session::SessionConfig config;
		config.loginTimeout = 1;
		_pServer.reset(new InProcessServer(config));
	}

	void tearDown() override
	{
		_pServer.reset();
		Poco::Logger& logger = Poco::Logger::get("imgate.session");
		logger.setChannel(_pSavedChannel);
		logger.setLevel(_savedLevel);
	}

	void testLoginTimeoutFloodIsBounded()
	{
		// 150 connections that never log in: each gets its ERROR and is
		// closed, but one loop logs at most 60 lines a minute about them,
		// then says that more are counted, not logged.
		std::vector<std::unique_ptr<ImgateClient>> clients;
		for (int i = 0; i < 150; ++i) clients.push_back(_pServer->connect());
		_pServer->advance(1000);
		for (auto& c: clients)
		{
			Reply r;
			CPPUNIT_ASSERT(c->receiveCommand(r, Command::ERROR, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		}
		CPPUNIT_ASSERT_EQUAL(std::size_t(60), _pChannel->count("login timeout peer="));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), _pChannel->count("NOT_LOGGED_IN")); // one line each, not two
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), _pChannel->count("60 lines about connections that have not logged in this minute: more are counted, not logged"));
		// A minute later the next line says how many were left out.
		_pServer->advance(60000);
		auto late = _pServer->connect();
		_pServer->advance(1000);
		CPPUNIT_ASSERT(late->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), _pChannel->count("90 more lines about connections that had not logged in were left out in the last minute"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(61), _pChannel->count("login timeout peer="));
	}

	void testDeviceCannotForgeFields()
	{
		auto c = _pServer->connect();
		Reply r = c->login("alice", "", "phone session=0 uid=root peer=10.0.0.1:1 \xE2\x80\xAE" "evil\"");
		CPPUNIT_ASSERT(r.result() == imgate::protocol::Status::OK);
		_pServer->sync();
		CPPUNIT_ASSERT_EQUAL(std::size_t(1),
			_pChannel->count("device=\"phone session=0 uid=root peer=10.0.0.1:1 \\u{202E}evil\\\"\" session="));
	}

private:
	Poco::AutoPtr<CapturingChannel> _pChannel;
	Poco::Channel::Ptr _pSavedChannel;
	int _savedLevel = 0;
	std::unique_ptr<InProcessServer> _pServer;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SessionLogTest);
