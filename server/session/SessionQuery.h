//
// SessionQuery.h
//
// Layer: session
// Answers questions about live sessions (the admin API's list and find)
// by asking each loop with a posted task; the asking thread waits, the
// loops never do.
//

#ifndef imgate_session_SessionQuery_INCLUDED
#define imgate_session_SessionQuery_INCLUDED

#include "server/net/LoopPool.h"
#include "server/session/UidDirectory.h"
#include "Poco/Types.h"
#include <string>
#include <vector>

namespace imgate {
namespace session {

struct SessionSummary
{
	std::string uid;
	std::string peer;         /// "address:port" as taken at accept.
	std::string device;
	std::string transport;    /// "tcp", "tls", "ws" or "wss".
	Poco::UInt32 loginTime = 0; /// Unix seconds.
	std::size_t inFlight = 0; /// Deliveries sent, not yet acknowledged.
	std::size_t loop = 0;     /// The event loop that runs it.
};


class SessionQuery
	/// Any thread but an event loop's (it waits for the loops). Each call
	/// waits at most timeoutMs; a loop that has not answered by then is
	/// left out and the answer says it is incomplete.
{
public:
	struct Page
	{
		std::vector<SessionSummary> sessions; /// Ordered by uid.
		bool truncated = false;  /// More sessions matched than the limit.
		bool complete = true;    /// Every loop answered in time.
	};

	SessionQuery(net::LoopPool& loops, const UidDirectory& directory);

	Page list(const std::string& uidPrefix, std::size_t limit, long timeoutMs) const;
		/// Logged-in sessions whose uid starts with uidPrefix, at most limit.

	bool find(const std::string& uid, SessionSummary& summary, long timeoutMs) const;
		/// The uid's session, if it is online (and its loop answers in time).

private:
	net::LoopPool& _loops;
	const UidDirectory& _directory;
};

} } // namespace imgate::session

#endif // imgate_session_SessionQuery_INCLUDED
