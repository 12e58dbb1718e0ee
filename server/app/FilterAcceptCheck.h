//
// FilterAcceptCheck.h
//
// Layer: app
// Runs the filters' onAccept() on TCPServer's accept thread.
//

#ifndef imgate_app_FilterAcceptCheck_INCLUDED
#define imgate_app_FilterAcceptCheck_INCLUDED

#include "server/net/Acceptor.h"
#include "server/plugin/FilterChain.h"
#include "server/session/LogBudget.h"

namespace imgate {
namespace app {

class FilterAcceptCheck: public net::AcceptCheck
	/// A connection a filter stops is answered ERROR with the verdict's
	/// status and message (one non-blocking write, best effort) and closed
	/// before any byte is read from it. A BAN verdict is also handed to
	/// host.ban() (the blacklist plugin records it), for the address only.
	///
	/// Each refusal is logged with the verdict's message quoted (a
	/// plugin's text), at most REFUSAL_LOG_LINES a minute: a flood of
	/// banned connections cannot fill the disk (the plugin verdict
	/// counters count them all). TCPServer's accept thread only.
{
public:
	enum
	{
		REFUSAL_LOG_LINES = 60 /// Refused connections logged per minute.
	};

	FilterAcceptCheck(const plugin::FilterChain& filters, imgate::Host& host);

	bool accept(const Poco::Net::StreamSocket& socket) override;

private:
	void logRefusal(const PeerInfo& peer, const Verdict& verdict);

	const plugin::FilterChain& _filters;
	imgate::Host& _host;
	Poco::Logger& _logger;
	session::LogBudget _refusalLog; /// Accept thread only.
};

} } // namespace imgate::app

#endif // imgate_app_FilterAcceptCheck_INCLUDED
