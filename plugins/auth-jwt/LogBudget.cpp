//
// LogBudget.cpp
//
// Plugin: auth-jwt
//

#include "plugins/auth-jwt/LogBudget.h"

namespace imgate {
namespace authjwt {

LogBudget::LogBudget(Poco::UInt32 maxLines):
	_maxLines(maxLines)
{
}


LogBudget::Decision LogBudget::admit(Poco::Int64 now)
{
	Decision decision;
	Poco::FastMutex::ScopedLock lock(_mutex);
	if (_count == 0 || now - _windowAt >= WINDOW_MICROSECONDS)
	{
		if (_count > _maxLines) decision.omitted = _count - _maxLines;
		_windowAt = now;
		_count = 0;
	}
	if (_count < 0xFFFFFFFFu) ++_count;
	decision.log = _count <= _maxLines;
	decision.last = _count == _maxLines;
	return decision;
}

} } // namespace imgate::authjwt
