//
// Clock.h
//
// Plugin: blacklist
// The time bans expire by: the monotonic clock in the plugin, a clock the
// test moves in unit tests.
//

#ifndef imgate_blacklist_Clock_INCLUDED
#define imgate_blacklist_Clock_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace blacklist {

class Clock
	/// Monotonic microseconds since an arbitrary start. Read from any
	/// thread, concurrently. Only ban expiry follows it; the watcher's
	/// pace (reloadInterval) is real time.
{
public:
	virtual ~Clock();

	virtual Poco::Int64 microseconds() const = 0;
		/// Never decreases.

	static const Clock& monotonic();
		/// The process's monotonic clock (Poco::Clock): setting the system
		/// clock neither lifts nor extends a ban.
};

} } // namespace imgate::blacklist

#endif // imgate_blacklist_Clock_INCLUDED
