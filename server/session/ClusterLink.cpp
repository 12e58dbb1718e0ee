//
// ClusterLink.cpp
//
// Layer: session
//

#include "server/session/ClusterLink.h"

namespace imgate {
namespace session {

ClusterLink::~ClusterLink()
{
}

} } // namespace imgate::session
