//
// HelloFilter.cpp
//
// The smallest useful imgate filter: greets every login in the log and
// refuses the uids listed in plugins.hello-filter.deny.
//
//   plugins.load = hello-filter
//   plugins.hello-filter.greeting = Welcome
//   plugins.hello-filter.deny = mallory, eve
//

#include "imgate/Plugin.h"
#include "Poco/Logger.h"
#include "Poco/StringTokenizer.h"
#include <set>

namespace {

class HelloFilter: public imgate::Filter
{
public:
	HelloFilter():
		_logger(Poco::Logger::get("imgate.plugin.hello-filter"))
	{
	}

	void initialize(const Poco::Util::AbstractConfiguration& config) override
	{
		// Runs once at start-up: the place to read and check settings. A bad
		// value should throw Poco::InvalidArgumentException naming the key.
		_greeting = config.getString("greeting", "Hello");
		if (_greeting.empty()) throw Poco::InvalidArgumentException("greeting: must not be empty");
		Poco::StringTokenizer deny(config.getString("deny", ""), ",",
			Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
		_deny.insert(deny.begin(), deny.end());
	}

	imgate::Verdict onLogin(const imgate::LoginInfo& login, imgate::SessionSlot&) override
	{
		// Runs on an event loop: fast, no blocking. _deny is only read after
		// initialize(), so concurrent calls need no lock.
		if (_deny.count(login.uid))
			return imgate::Verdict::reject(imgate::Status::RATE_LIMITED, "hello-filter: not today, " + login.uid);
		_logger.information("%s, %s", _greeting, login.uid);
		return imgate::Verdict::proceed();
	}

private:
	Poco::Logger& _logger;
	std::string _greeting;
	std::set<std::string> _deny;
};

} // namespace

IMGATE_PLUGIN(HelloFilter)
