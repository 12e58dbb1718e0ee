//
// ErrorLogBudget.h
//
// Layer: session
// How many error lines one session may write to the log: a flood of bad
// requests must not fill the disk.
//

#ifndef imgate_session_ErrorLogBudget_INCLUDED
#define imgate_session_ErrorLogBudget_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace session {

class ErrorLogBudget
	/// At most MAX_LINES lines per window of WINDOW_TICKS loop ticks; the
	/// first line of the next window may say how many were left out. Six
	/// bytes, kept inline in every session. Not thread-safe (the session's
	/// loop only).
{
public:
	enum
	{
		MAX_LINES = 5,
		WINDOW_TICKS = 600 /// 60 s of 100 ms ticks
	};

	struct Decision
	{
		bool log = false;          /// Write this line.
		bool last = false;         /// It is the last one this window: say so.
		Poco::UInt16 omitted = 0;  /// Lines the previous window left out: say so first.
	};

	Decision admit(Poco::UInt32 now);
		/// Counts one error line at tick now and says what to write.

private:
	Poco::UInt32 _windowAt = 0; /// Tick the current window began.
	Poco::UInt16 _count = 0;    /// Lines asked for in it (logged or not).
};

} } // namespace imgate::session

#endif // imgate_session_ErrorLogBudget_INCLUDED
