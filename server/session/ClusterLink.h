//
// ClusterLink.h
//
// Layer: session
// What the sessions tell the other nodes of a cluster (cluster.enabled):
// who is online here, and which inboxes got a message.
//

#ifndef imgate_session_ClusterLink_INCLUDED
#define imgate_session_ClusterLink_INCLUDED

#include <string>
#include <vector>

namespace imgate {
namespace session {

class ClusterLink
	/// Implemented by the cluster layer (cluster::ClusterNode). Called on
	/// loop threads and the store's threads: every call only queues, never
	/// waits for the network.
{
public:
	virtual ~ClusterLink();

	virtual void online(const std::string& uid, bool exclusive) = 0;
		/// A session of uid logged in on this node. exclusive (under
		/// session.devicePolicy = single): the uid's sessions on the other
		/// nodes are kicked (DUPLICATE_LOGIN).

	virtual void offline(const std::string& uid) = 0;
		/// The last session of uid on this node closed.

	virtual void stored(const std::vector<std::string>& uids) = 0;
		/// A message was committed to the shared store with a row in the
		/// inbox of each of uids: the other nodes where one of them is
		/// online are told to read it.
};

} } // namespace imgate::session

#endif // imgate_session_ClusterLink_INCLUDED
