//
// ErrorLogBudget.cpp
//
// Layer: session
//

#include "server/session/ErrorLogBudget.h"

namespace imgate {
namespace session {

ErrorLogBudget::Decision ErrorLogBudget::admit(Poco::UInt32 now)
{
	Decision decision;
	if (static_cast<Poco::Int32>(now - _windowAt) >= WINDOW_TICKS || _count == 0)
	{
		if (_count > MAX_LINES) decision.omitted = static_cast<Poco::UInt16>(_count - MAX_LINES);
		_windowAt = now;
		_count = 0;
	}
	if (_count < 0xFFFF) ++_count;
	decision.log = _count <= MAX_LINES;
	decision.last = _count == MAX_LINES;
	return decision;
}

} } // namespace imgate::session
