//
// LogBudget.cpp
//
// Layer: session
//

#include "server/session/LogBudget.h"

namespace imgate {
namespace session {

LogBudget::Decision LogBudget::admit(Poco::UInt32 now, Poco::UInt16 maxLines)
{
	Decision decision;
	if (static_cast<Poco::Int32>(now - _windowAt) >= WINDOW_TICKS || _count == 0)
	{
		if (_count > maxLines) decision.omitted = static_cast<Poco::UInt16>(_count - maxLines);
		_windowAt = now;
		_count = 0;
	}
	if (_count < 0xFFFF) ++_count;
	decision.log = _count <= maxLines;
	decision.last = _count == maxLines;
	return decision;
}

} } // namespace imgate::session
