//
// SessionRef.h
//
// Layer: session
// How one thread names a session owned by another: its loop and its id.
//

#ifndef imgate_session_SessionRef_INCLUDED
#define imgate_session_SessionRef_INCLUDED

#include "Poco/Types.h"
#include <cstddef>

namespace imgate {
namespace session {

struct SessionRef
	/// Never a pointer: the session may be gone by the time a task runs;
	/// the owning loop looks the id up and finds nothing.
{
	std::size_t loop = 0;
	Poco::UInt64 id = 0; /// 0: no session.

	bool valid() const { return id != 0; }
	bool operator == (const SessionRef& other) const { return loop == other.loop && id == other.id; }
};

} } // namespace imgate::session

#endif // imgate_session_SessionRef_INCLUDED
