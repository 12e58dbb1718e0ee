//
// BlacklistFilterTest.cpp
//
// The blacklist's bans in time, on a clock the test moves: temporary and
// listed bans end exactly when due, the watcher's turn (watch()) prunes
// what expired, list() counts the seconds down. No watcher thread, no
// waiting.
//

#include "plugins/blacklist/BlacklistFilter.h"
#include "Poco/AutoPtr.h"
#include "Poco/Channel.h"
#include "Poco/Logger.h"
#include "Poco/File.h"
#include "Poco/Message.h"
#include "Poco/Path.h"
#include "Poco/Util/MapConfiguration.h"
#include <cppunit/extensions/HelperMacros.h>
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <vector>
#include <unistd.h>

using imgate::BanRequest;
using imgate::LoginInfo;
using imgate::PeerInfo;
using imgate::SessionSlot;
using imgate::Status;
using imgate::Verdict;
using imgate::blacklist::BlacklistFilter;

namespace {

const Poco::Int64 SECOND = 1000000;


class ManualClock: public imgate::blacklist::Clock
	/// Starts at an arbitrary time; only advance() moves it.
{
public:
	Poco::Int64 microseconds() const override
	{
		return _now;
	}

	void advance(Poco::Int64 micros)
	{
		_now += micros;
	}

private:
	Poco::Int64 _now = 1000 * SECOND;
};


class LogLines: public Poco::Channel
	/// Keeps the text of every message logged to it.
{
public:
	void log(const Poco::Message& msg) override
	{
		lines.push_back(msg.getText());
	}

	bool has(const std::string& text) const
	{
		return std::find(lines.begin(), lines.end(), text) != lines.end();
	}

	std::vector<std::string> lines;
};


BanRequest addressBan(const std::string& address, unsigned seconds)
{
	BanRequest ban;
	ban.address = address;
	ban.seconds = seconds;
	ban.reason = "test";
	ban.origin = "BlacklistFilterTest";
	return ban;
}


BanRequest uidBan(const std::string& uid, unsigned seconds)
{
	BanRequest ban;
	ban.uid = uid;
	ban.seconds = seconds;
	ban.reason = "test";
	ban.origin = "BlacklistFilterTest";
	return ban;
}

} // namespace


class BlacklistFilterTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(BlacklistFilterTest);
	CPPUNIT_TEST(testTemporaryAddressBanEndsOnTime);
	CPPUNIT_TEST(testTemporaryUidBanEndsOnTime);
	CPPUNIT_TEST(testRenewingMovesTheEnd);
	CPPUNIT_TEST(testWatcherPrunesExpiredTemporaryBans);
	CPPUNIT_TEST(testLookupDropsItsExpiredBan);
	CPPUNIT_TEST(testTimedBlockEndsOnTimeWithoutWatcher);
	CPPUNIT_TEST(testTimedBlocksEndInTurn);
	CPPUNIT_TEST(testWatcherPrunesListedBans);
	CPPUNIT_TEST(testBansUntilLiftedStay);
	CPPUNIT_TEST(testListCountsSecondsDown);
	CPPUNIT_TEST(testWholeInternetLineIsWarnedWithFileAndLine);
	CPPUNIT_TEST(testByteOrderMarkIsSkipped);
	CPPUNIT_TEST(testBanTextCannotForgeLogFields);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pLog = new LogLines;
		Poco::Logger& logger = Poco::Logger::get("imgate.plugin.blacklist");
		logger.setChannel(_pLog);
		logger.setLevel(Poco::Message::PRIO_INFORMATION);
		_pFilter.reset(new BlacklistFilter(_clock));
	}

	void tearDown() override
	{
		_pFilter.reset();
		Poco::Logger::get("imgate.plugin.blacklist").setChannel(nullptr);
		for (const std::string& path: _files) Poco::File(path).remove();
	}

	std::string writeFile(const std::string& name, const std::string& text)
	{
		const std::string path = Poco::Path::temp() + "imgate-blacklist-test-" + std::to_string(::getpid()) + "-" + name;
		std::ofstream(path, std::ios::binary) << text;
		_files.push_back(path);
		return path;
	}

	std::size_t linesWith(const std::string& text) const
	{
		return static_cast<std::size_t>(std::count_if(_pLog->lines.begin(), _pLog->lines.end(),
			[&text](const std::string& line) { return line.find(text) != std::string::npos; }));
	}

	void initialize(const std::map<std::string, std::string>& settings = {})
	{
		Poco::AutoPtr<Poco::Util::MapConfiguration> pConfig(new Poco::Util::MapConfiguration);
		for (const auto& s: settings) pConfig->setString(s.first, s.second);
		_pFilter->initialize(*pConfig);
	}

	bool acceptRefused(const std::string& address)
		/// onAccept() refuses address as banned; fails on any other refusal.
	{
		PeerInfo peer;
		peer.address = address;
		Verdict v = _pFilter->onAccept(peer);
		if (v.action() == Verdict::PROCEED) return false;
		CPPUNIT_ASSERT(v.action() == Verdict::REJECT);
		CPPUNIT_ASSERT(v.status() == Status::BANNED);
		CPPUNIT_ASSERT_EQUAL(std::string("address banned"), v.message());
		return true;
	}

	bool loginRefused(const std::string& uid, const std::string& address = "192.0.2.1")
		/// onLogin() refuses uid as banned; fails on any other refusal.
	{
		LoginInfo login;
		login.uid = uid;
		login.peer.address = address;
		SessionSlot slot;
		Verdict v = _pFilter->onLogin(login, slot);
		if (v.action() == Verdict::PROCEED) return false;
		CPPUNIT_ASSERT(v.action() == Verdict::REJECT);
		CPPUNIT_ASSERT(v.status() == Status::BANNED);
		CPPUNIT_ASSERT_EQUAL(std::string("uid banned"), v.message());
		return true;
	}

	std::vector<BanRequest> list() const
	{
		std::vector<BanRequest> bans;
		_pFilter->list([&bans](const BanRequest& ban) { bans.push_back(ban); });
		return bans;
	}

	void testTemporaryAddressBanEndsOnTime()
	{
		initialize();
		CPPUNIT_ASSERT(_pFilter->record(addressBan("203.0.113.7", 60)));
		CPPUNIT_ASSERT(acceptRefused("203.0.113.7"));
		CPPUNIT_ASSERT(!acceptRefused("203.0.113.8"));
		_clock.advance(60 * SECOND - 1);
		CPPUNIT_ASSERT(acceptRefused("203.0.113.7"));
		_clock.advance(1);
		CPPUNIT_ASSERT(!acceptRefused("203.0.113.7"));
		CPPUNIT_ASSERT(list().empty());
	}

	void testTemporaryUidBanEndsOnTime()
	{
		initialize();
		CPPUNIT_ASSERT(_pFilter->record(uidBan("mallory", 5)));
		CPPUNIT_ASSERT(loginRefused("mallory"));
		CPPUNIT_ASSERT(!loginRefused("alice"));
		_clock.advance(5 * SECOND - 1);
		CPPUNIT_ASSERT(loginRefused("mallory"));
		_clock.advance(1);
		CPPUNIT_ASSERT(!loginRefused("mallory"));
	}

	void testRenewingMovesTheEnd()
	{
		// Renewing a ban in force needs no room, even in a full table.
		initialize({{"maxTemporaryBans", "1"}});
		CPPUNIT_ASSERT(_pFilter->record(addressBan("198.51.100.1", 10)));
		_clock.advance(5 * SECOND);
		CPPUNIT_ASSERT(_pFilter->record(addressBan("198.51.100.1", 10)));
		_clock.advance(10 * SECOND - 1);
		CPPUNIT_ASSERT(acceptRefused("198.51.100.1"));
		_clock.advance(1);
		CPPUNIT_ASSERT(!acceptRefused("198.51.100.1"));
	}

	void testWatcherPrunesExpiredTemporaryBans()
	{
		initialize({{"maxTemporaryBans", "1"}});
		CPPUNIT_ASSERT(_pFilter->record(addressBan("198.51.100.1", 1)));
		CPPUNIT_ASSERT(!_pFilter->record(addressBan("198.51.100.2", 1)));
		CPPUNIT_ASSERT(_pLog->has("ban table full (1 entries): ban of address=198.51.100.2 uid= not recorded"));
		_clock.advance(SECOND);
		// Expired, but still in the table until pruned (nothing looked .1 up).
		CPPUNIT_ASSERT(!_pFilter->record(addressBan("198.51.100.2", 1)));
		CPPUNIT_ASSERT(!_pLog->has("temporary bans expired: 1 (0 in force)"));
		_pFilter->watch();
		CPPUNIT_ASSERT(_pLog->has("temporary bans expired: 1 (0 in force)"));
		CPPUNIT_ASSERT(_pFilter->record(addressBan("198.51.100.2", 1)));
		CPPUNIT_ASSERT(acceptRefused("198.51.100.2"));
		// A turn with nothing expired says nothing.
		const std::size_t lines = _pLog->lines.size();
		_pFilter->watch();
		CPPUNIT_ASSERT_EQUAL(lines, _pLog->lines.size());
	}

	void testLookupDropsItsExpiredBan()
	{
		initialize({{"maxTemporaryBans", "1"}});
		CPPUNIT_ASSERT(_pFilter->record(uidBan("mallory", 1)));
		_clock.advance(SECOND);
		CPPUNIT_ASSERT(!loginRefused("mallory")); // erases the expired entry
		CPPUNIT_ASSERT(_pFilter->record(uidBan("trudy", 1)));
	}

	void testTimedBlockEndsOnTimeWithoutWatcher()
	{
		// A CIDR block from the admin API is a listed ban: the hooks end it
		// when due, whenever the watcher's next turn comes.
		initialize({{"reloadInterval", "3600"}});
		CPPUNIT_ASSERT(_pFilter->record(addressBan("10.0.0.0/8", 3)));
		CPPUNIT_ASSERT(acceptRefused("10.1.2.3"));
		CPPUNIT_ASSERT(!acceptRefused("11.1.2.3"));
		_clock.advance(3 * SECOND - 1);
		CPPUNIT_ASSERT(acceptRefused("10.1.2.3"));
		CPPUNIT_ASSERT(!_pLog->has("ban ip 10.0.0.0/8 expired"));
		_clock.advance(1);
		CPPUNIT_ASSERT(!acceptRefused("10.1.2.3"));
		CPPUNIT_ASSERT(_pLog->has("ban ip 10.0.0.0/8 expired"));
		CPPUNIT_ASSERT(list().empty());
	}

	void testTimedBlocksEndInTurn()
	{
		// After the earliest ends, the next one's end is watched for.
		initialize();
		CPPUNIT_ASSERT(_pFilter->record(addressBan("10.0.0.0/8", 5)));
		CPPUNIT_ASSERT(_pFilter->record(addressBan("192.168.0.0/16", 2)));
		_clock.advance(2 * SECOND);
		CPPUNIT_ASSERT(!acceptRefused("192.168.1.1"));
		CPPUNIT_ASSERT(acceptRefused("10.1.2.3"));
		_clock.advance(3 * SECOND - 1);
		CPPUNIT_ASSERT(acceptRefused("10.1.2.3"));
		_clock.advance(1);
		CPPUNIT_ASSERT(!loginRefused("alice", "10.1.2.3")); // onLogin ends it too
		CPPUNIT_ASSERT(!acceptRefused("10.1.2.3"));
		CPPUNIT_ASSERT(_pLog->has("ban ip 10.0.0.0/8 expired"));
	}

	void testWatcherPrunesListedBans()
	{
		initialize();
		CPPUNIT_ASSERT(_pFilter->record(addressBan("10.0.0.0/8", 3)));
		_clock.advance(3 * SECOND);
		CPPUNIT_ASSERT(!_pLog->has("ban ip 10.0.0.0/8 expired"));
		_pFilter->watch();
		CPPUNIT_ASSERT(_pLog->has("ban ip 10.0.0.0/8 expired"));
	}

	void testBansUntilLiftedStay()
	{
		initialize();
		CPPUNIT_ASSERT(_pFilter->record(addressBan("10.0.0.0/8", 0)));
		CPPUNIT_ASSERT(_pFilter->record(addressBan("203.0.113.7", 0)));
		CPPUNIT_ASSERT(_pFilter->record(uidBan("mallory", 0)));
		_clock.advance(400LL * 86400 * SECOND);
		_pFilter->watch();
		CPPUNIT_ASSERT(acceptRefused("10.1.2.3"));
		CPPUNIT_ASSERT(acceptRefused("203.0.113.7"));
		CPPUNIT_ASSERT(loginRefused("mallory"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), list().size());
		CPPUNIT_ASSERT(_pFilter->lift(uidBan("mallory", 0)));
		CPPUNIT_ASSERT(!loginRefused("mallory"));
	}

	void testListCountsSecondsDown()
	{
		// Whole seconds left, rounded up; an expired ban is not listed,
		// pruned or not.
		initialize();
		CPPUNIT_ASSERT(_pFilter->record(uidBan("mallory", 60)));
		CPPUNIT_ASSERT(_pFilter->record(addressBan("10.0.0.0/8", 30)));
		CPPUNIT_ASSERT(_pFilter->record(uidBan("root", 0)));
		auto secondsOf = [this](const std::string& who)
		{
			for (const BanRequest& ban: list())
			{
				if (ban.uid == who || ban.address == who) return static_cast<int>(ban.seconds);
			}
			return -1;
		};
		CPPUNIT_ASSERT_EQUAL(60, secondsOf("mallory"));
		CPPUNIT_ASSERT_EQUAL(30, secondsOf("10.0.0.0/8"));
		CPPUNIT_ASSERT_EQUAL(0, secondsOf("root"));
		_clock.advance(SECOND / 2);
		CPPUNIT_ASSERT_EQUAL(60, secondsOf("mallory"));
		CPPUNIT_ASSERT_EQUAL(30, secondsOf("10.0.0.0/8"));
		_clock.advance(29 * SECOND);
		CPPUNIT_ASSERT_EQUAL(31, secondsOf("mallory"));
		CPPUNIT_ASSERT_EQUAL(1, secondsOf("10.0.0.0/8"));
		_clock.advance(SECOND / 2);
		CPPUNIT_ASSERT_EQUAL(30, secondsOf("mallory"));
		CPPUNIT_ASSERT_EQUAL(-1, secondsOf("10.0.0.0/8"));
		_clock.advance(30 * SECOND - 1);
		CPPUNIT_ASSERT_EQUAL(1, secondsOf("mallory"));
		_clock.advance(1);
		CPPUNIT_ASSERT_EQUAL(-1, secondsOf("mallory"));
		CPPUNIT_ASSERT_EQUAL(0, secondsOf("root"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(1), list().size());
	}

	void testWholeInternetLineIsWarnedWithFileAndLine()
	{
		// Used as written (someone may mean it), but logged as a warning
		// naming the file and the line, at start and on every reload.
		const std::string bans = writeFile("bans.txt", "uid mallory\nip 0.0.0.0/0 # oops\nip ::/0\n");
		const std::string allow = writeFile("allow.txt", "ip ::ffff:0:0/96\n");
		initialize({{"file", bans}, {"allowFile", allow}});
		CPPUNIT_ASSERT(_pLog->has(bans + ":2: 0.0.0.0/0 bans every IPv4 address (in force)"));
		CPPUNIT_ASSERT(_pLog->has(bans + ":3: ::/0 bans every IPv6 address (in force)"));
		CPPUNIT_ASSERT(_pLog->has(allow + ":1: ::ffff:0:0/96 allows every IPv4 address (in force)"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), linesWith("line skipped"));
		CPPUNIT_ASSERT(acceptRefused("203.0.113.9"));
		_pFilter->reload();
		CPPUNIT_ASSERT_EQUAL(std::size_t(2), linesWith(bans + ":2: 0.0.0.0/0 bans every IPv4 address (in force)"));
	}

	void testByteOrderMarkIsSkipped()
	{
		const std::string bans = writeFile("bom.txt", "\xEF\xBB\xBFuid mallory\r\nip 203.0.113.7\r\n");
		initialize({{"file", bans}});
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), linesWith("line skipped"));
		CPPUNIT_ASSERT(_pLog->has(bans + ": 1 addresses/ranges and 1 uids"));
		CPPUNIT_ASSERT(loginRefused("mallory"));
		CPPUNIT_ASSERT(acceptRefused("203.0.113.7"));
	}

	void testBanTextCannotForgeLogFields()
	{
		// A reason (the admin API's, a plugin's verdict message) is one
		// quoted field: it can neither end the line nor add fields to it.
		initialize();
		BanRequest ban = addressBan("203.0.113.7", 60);
		ban.reason = "spam\" address=10.0.0.1 uid=root\nforged line \xE2\x80\xAE";
		ban.origin = "admin";
		CPPUNIT_ASSERT(_pFilter->record(ban));
		CPPUNIT_ASSERT_MESSAGE(_pLog->lines.back(), _pLog->has(
			"temporary ban address=203.0.113.7 uid= for 60 s (admin: \"spam\\\" address=10.0.0.1 uid=root\\x0Aforged line \\xE2\\x80\\xAE\")"));
		// A refused address is quoted too: it is not an address.
		ban.address = "1.2.3.4 uid=root\n";
		CPPUNIT_ASSERT(!_pFilter->record(ban));
		CPPUNIT_ASSERT_MESSAGE(_pLog->lines.back(), _pLog->has(
			"ban of address=\"1.2.3.4 uid=root\\x0A\" from admin not recorded: not an IPv4 or IPv6 address"));
		for (const std::string& line: _pLog->lines) CPPUNIT_ASSERT_MESSAGE(line, line.find('\n') == std::string::npos);
	}

private:
	std::vector<std::string> _files;
	ManualClock _clock;
	Poco::AutoPtr<LogLines> _pLog;
	std::unique_ptr<BlacklistFilter> _pFilter;
};

CPPUNIT_TEST_SUITE_REGISTRATION(BlacklistFilterTest);
