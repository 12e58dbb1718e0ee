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

namespace imgate {
namespace app {

class FilterAcceptCheck: public net::AcceptCheck
	/// A connection a filter stops is answered ERROR with the verdict's
	/// status and message (one non-blocking write, best effort) and closed
	/// before any byte is read from it. A BAN verdict is also handed to
	/// host.ban() (the blacklist plugin records it), for the address only.
{
public:
	FilterAcceptCheck(const plugin::FilterChain& filters, imgate::Host& host);

	bool accept(const Poco::Net::StreamSocket& socket) override;

private:
	const plugin::FilterChain& _filters;
	imgate::Host& _host;
	Poco::Logger& _logger;
};

} } // namespace imgate::app

#endif // imgate_app_FilterAcceptCheck_INCLUDED
