//
// RateLimitFilterTest.cpp
//
// The ratelimit filter's hooks on a clock the test moves: each bucket
// refills when the clock says so, refusals escalate every banAfter-th time
// in a row, and a reload changes the rates live. No waiting.
//

#include "plugins/ratelimit/RateLimitFilter.h"
#include "imgate/Command.h"
#include "Poco/AutoPtr.h"
#include "Poco/Logger.h"
#include "Poco/Util/MapConfiguration.h"
#include <cppunit/extensions/HelperMacros.h>
#include <map>
#include <memory>

using imgate::Command;
using imgate::FrameInfo;
using imgate::LoginInfo;
using imgate::PeerInfo;
using imgate::SessionSlot;
using imgate::Status;
using imgate::Verdict;
using imgate::ratelimit::RateLimitFilter;

namespace {

const Poco::Int64 SECOND = 1000000;


class ManualClock: public imgate::ratelimit::Clock
	/// Starts at an arbitrary time (> 0, as a monotonic clock is); only
	/// advance() moves it.
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


Poco::AutoPtr<Poco::Util::MapConfiguration> config(const std::map<std::string, std::string>& settings)
{
	Poco::AutoPtr<Poco::Util::MapConfiguration> pConfig(new Poco::Util::MapConfiguration);
	for (const auto& s: settings) pConfig->setString(s.first, s.second);
	return pConfig;
}


FrameInfo frame(Command command)
{
	FrameInfo f;
	f.cmd = static_cast<std::uint16_t>(command);
	return f;
}


FrameInfo groupSend(const std::string& group)
	/// A MSG_SEND to group as the server describes it (API 1.3).
{
	FrameInfo f = frame(Command::MSG_SEND);
	f.pToGroup = &group;
	return f;
}


PeerInfo peer(const std::string& address)
{
	PeerInfo p;
	p.address = address;
	return p;
}


bool limited(const Verdict& v, const std::string& message)
	/// v refuses with RATE_LIMITED and message; false if it proceeds.
{
	if (v.action() == Verdict::PROCEED) return false;
	CPPUNIT_ASSERT(v.action() == Verdict::REJECT);
	CPPUNIT_ASSERT(v.status() == Status::RATE_LIMITED);
	CPPUNIT_ASSERT_EQUAL(message, v.message());
	return true;
}


void expectBan(const Verdict& v, unsigned seconds)
{
	CPPUNIT_ASSERT(v.action() == Verdict::BAN);
	CPPUNIT_ASSERT(v.status() == Status::BANNED);
	CPPUNIT_ASSERT_EQUAL(seconds, v.banSeconds());
	CPPUNIT_ASSERT_EQUAL(std::string("rate limit exceeded repeatedly"), v.message());
}

} // namespace


class RateLimitFilterTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(RateLimitFilterTest);
	CPPUNIT_TEST(testMessagesRefillOnTime);
	CPPUNIT_TEST(testGroupMessagesCountOncePerSend);
	CPPUNIT_TEST(testFramesPerSession);
	CPPUNIT_TEST(testConnectsPerAddressBlock);
	CPPUNIT_TEST(testLoginsPerAddress);
	CPPUNIT_TEST(testEscalationEveryBanAfterRefusals);
	CPPUNIT_TEST(testSessionEscalation);
	CPPUNIT_TEST(testReloadChangesRatesLive);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		Poco::Logger::get("imgate.plugin.ratelimit").setLevel(Poco::Message::PRIO_ERROR); // its warnings are the verdicts checked here
		_pFilter.reset(new RateLimitFilter(_clock));
	}

	void tearDown() override
	{
		_pFilter.reset();
	}

	void testMessagesRefillOnTime()
	{
		_pFilter->initialize(*config({{"messagesPerSecond", "0.5"}, {"burst", "3"}, {"banAfter", "0"}}));
		SessionSlot slot;
		for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "")); // frames have their own bucket
		// 0.5 per second: the next token after 2 s, not before.
		_clock.advance(3 * SECOND / 2);
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		_clock.advance(SECOND / 2);
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		// Idle for long: the burst again, no more.
		_clock.advance(3600 * SECOND);
		for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
	}

	void testGroupMessagesCountOncePerSend()
	{
		// A group send takes one message token (not one per member) and
		// one of the group bucket; 1:1 sends only the message bucket.
		_pFilter->initialize(*config({{"messagesPerSecond", "1"}, {"burst", "4"},
			{"groupMessagesPerSecond", "1"}, {"groupBurst", "2"}, {"banAfter", "0"}}));
		const std::string team = "team";
		SessionSlot slot;
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(groupSend(team), slot), "too many group messages"));
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(groupSend(team), slot), "too many group messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(groupSend(team), slot), "too many group messages"));
		// Two group sends took 2 of the 4 message tokens; the refused third none.
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		_clock.advance(SECOND);
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(groupSend(team), slot), "too many group messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(groupSend(team), slot), "too many messages"));

		// Defaults: 10 group sends per second, a burst of 20, within the
		// 100 messages of the message burst.
		_pFilter.reset(new RateLimitFilter(_clock));
		_pFilter->initialize(*config({{"banAfter", "0"}}));
		SessionSlot fresh;
		for (int i = 0; i < 20; ++i) CPPUNIT_ASSERT(!limited(_pFilter->onFrame(groupSend(team), fresh), "too many group messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(groupSend(team), fresh), "too many group messages"));
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), fresh), "too many messages"));
	}

	void testFramesPerSession()
	{
		_pFilter->initialize(*config({{"framesPerSecond", "1"}, {"frameBurst", "2"}, {"banAfter", "0"}}));
		SessionSlot slot, other;
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many frames"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many frames"));
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::HEARTBEAT), other), "too many frames")); // its own buckets
		_clock.advance(SECOND);
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
	}

	void testConnectsPerAddressBlock()
	{
		// An IPv6 address counts in its /64, an IPv4-mapped one as IPv4.
		_pFilter->initialize(*config({{"connectsPerSecondPerIp", "1"}, {"connectBurst", "2"}, {"banAfter", "0"}}));
		const std::string message = "too many connections from this address";
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("::ffff:203.0.113.7")), message));
		CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("203.0.113.8")), message));
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("2001:db8:1:2::1")), message));
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("2001:db8:1:2::ffff")), message));
		CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("2001:db8:1:2:aaaa::9")), message));
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("2001:db8:1:3::1")), message));
		_clock.advance(SECOND - 1);
		CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		_clock.advance(SECOND);
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("2001:db8:1:2::5")), message));
	}

	void testLoginsPerAddress()
	{
		_pFilter->initialize(*config({{"loginsPerSecondPerIp", "0.5"}, {"loginBurst", "1"}, {"banAfter", "0"}}));
		const std::string message = "too many login attempts from this address";
		LoginInfo login;
		login.uid = "alice";
		login.peer.address = "198.51.100.1";
		SessionSlot slot;
		CPPUNIT_ASSERT(!limited(_pFilter->onLogin(login, slot), message));
		login.uid = "bob"; // per address, whatever the uid
		CPPUNIT_ASSERT(limited(_pFilter->onLogin(login, slot), message));
		_clock.advance(3 * SECOND / 2);
		CPPUNIT_ASSERT(limited(_pFilter->onLogin(login, slot), message));
		_clock.advance(SECOND / 2);
		CPPUNIT_ASSERT(!limited(_pFilter->onLogin(login, slot), message));
	}

	void testEscalationEveryBanAfterRefusals()
	{
		// Every banAfter-th refusal in a row is a ban verdict; one allowed
		// connection starts the count again.
		_pFilter->initialize(*config({{"connectsPerSecondPerIp", "1"}, {"connectBurst", "1"}, {"banAfter", "3"}, {"banSeconds", "7"}}));
		const std::string message = "too many connections from this address";
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		for (int round = 0; round < 2; ++round)
		{
			CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
			CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
			expectBan(_pFilter->onAccept(peer("203.0.113.7")), 7);
		}
		// One refusal, then an allowed connection: three refusals again
		// before the next ban.
		CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		_clock.advance(SECOND);
		CPPUNIT_ASSERT(!limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		CPPUNIT_ASSERT(limited(_pFilter->onAccept(peer("203.0.113.7")), message));
		expectBan(_pFilter->onAccept(peer("203.0.113.7")), 7);
	}

	void testSessionEscalation()
	{
		// As per address, per session: an allowed frame starts the count again.
		_pFilter->initialize(*config({{"framesPerSecond", "1"}, {"frameBurst", "1"}, {"banAfter", "2"}, {"banSeconds", "9"}}));
		SessionSlot slot;
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		expectBan(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), 9);
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		_clock.advance(SECOND);
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), "too many frames"));
		expectBan(_pFilter->onFrame(frame(Command::HEARTBEAT), slot), 9);
	}

	void testReloadChangesRatesLive()
	{
		_pFilter->initialize(*config({{"messagesPerSecond", "1"}, {"burst", "1"}, {"banAfter", "0"}, {"maxTrackedIps", "1000"}}));
		SessionSlot slot;
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		CPPUNIT_ASSERT(_pFilter->reconfigure(*config({{"messagesPerSecond", "4"}, {"burst", "1"}, {"banAfter", "0"}, {"maxTrackedIps", "1000"}})));
		_clock.advance(SECOND / 4); // one token at 4/s, a quarter at 1/s
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		// A changed maxTrackedIps needs a restart: nothing of it applies.
		CPPUNIT_ASSERT(!_pFilter->reconfigure(*config({{"messagesPerSecond", "1000"}, {"burst", "1"}, {"banAfter", "0"}, {"maxTrackedIps", "2000"}})));
		_clock.advance(SECOND / 8);
		CPPUNIT_ASSERT(limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
		_clock.advance(SECOND / 8);
		CPPUNIT_ASSERT(!limited(_pFilter->onFrame(frame(Command::MSG_SEND), slot), "too many messages"));
	}

private:
	ManualClock _clock;
	std::unique_ptr<RateLimitFilter> _pFilter;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RateLimitFilterTest);
