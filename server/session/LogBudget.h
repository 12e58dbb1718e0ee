//
// LogBudget.h
//
// Layer: session
// How many lines a client may make the server log: a flood of bad
// requests or of connections must not fill the disk.
//

#ifndef imgate_session_LogBudget_INCLUDED
#define imgate_session_LogBudget_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace session {

class LogBudget
	/// At most maxLines lines (MAX_LINES unless told) per window of
	/// WINDOW_TICKS loop ticks; the first line of the next window may say
	/// how many were left out. Six bytes (eight with padding): a session
	/// keeps one inline for its own errors, the session manager one per
	/// loop for all connections not logged in. Not thread-safe (one loop
	/// only).
{
public:
	enum
	{
		MAX_LINES = 5, /// A session's own budget.
		WINDOW_TICKS = 600 /// 60 s of 100 ms ticks
	};

	struct Decision
	{
		bool log = false;          /// Write this line.
		bool last = false;         /// It is the last one this window: say so.
		Poco::UInt16 omitted = 0;  /// Lines the previous window left out: say so first.
	};

	Decision admit(Poco::UInt32 now, Poco::UInt16 maxLines = MAX_LINES);
		/// Counts one line at tick now and says what to write.

private:
	Poco::UInt32 _windowAt = 0; /// Tick the current window began.
	Poco::UInt16 _count = 0;    /// Lines asked for in it (logged or not).
};

} } // namespace imgate::session

#endif // imgate_session_LogBudget_INCLUDED
