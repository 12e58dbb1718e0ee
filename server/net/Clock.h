//
// Clock.h
//
// Layer: net
// The time an EventLoop's ticks follow: the monotonic clock in the server,
// a clock the test moves in tests.
//

#ifndef imgate_net_Clock_INCLUDED
#define imgate_net_Clock_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace net {

class Clock
	/// Monotonic milliseconds since an arbitrary start. Implementations are
	/// read from any thread. Only the loop's timers (login, heartbeat and
	/// retransmission timeouts, the drain and close lingers) follow it;
	/// wall-clock timestamps and the busy-time metrics do not.
{
public:
	virtual ~Clock();

	virtual Poco::Int64 milliseconds() const = 0;
		/// Never decreases.

	static const Clock& monotonic();
		/// The process's monotonic clock (Poco::Clock).
};

} } // namespace imgate::net

#endif // imgate_net_Clock_INCLUDED
