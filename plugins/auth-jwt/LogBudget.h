//
// LogBudget.h
//
// Plugin: auth-jwt
// How many refused logins the plugin logs: a flood of bad tokens must not
// fill the disk. (The server's own budget, server/session/LogBudget, is
// out of a plugin's reach, and counts per loop, not across loops.)
//

#ifndef imgate_authjwt_LogBudget_INCLUDED
#define imgate_authjwt_LogBudget_INCLUDED

#include "Poco/Mutex.h"
#include "Poco/Types.h"

namespace imgate {
namespace authjwt {

class LogBudget
	/// At most maxLines lines per window of WINDOW_MICROSECONDS (a minute),
	/// counted across all threads; the first line of a later window may
	/// say how many the previous one left out. Thread-safe: onLogin runs
	/// on every event loop at once (one short lock per line asked for).
{
public:
	static const Poco::Int64 WINDOW_MICROSECONDS = 60 * Poco::Int64(1000000);

	struct Decision
	{
		bool log = false;        /// Write this line.
		bool last = false;       /// It is the last one this window: say so.
		Poco::UInt32 omitted = 0; /// Lines the previous window left out: say so first.
	};

	explicit LogBudget(Poco::UInt32 maxLines);

	Decision admit(Poco::Int64 now);
		/// Counts one line at now (monotonic microseconds, never
		/// decreasing) and says what to write.

private:
	Poco::FastMutex _mutex;
	const Poco::UInt32 _maxLines;
	Poco::Int64 _windowAt = 0; /// When the current window began.
	Poco::UInt32 _count = 0;   /// Lines asked for in it (logged or not).
};

} } // namespace imgate::authjwt

#endif // imgate_authjwt_LogBudget_INCLUDED
