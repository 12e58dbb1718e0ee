//
// NodeInbox.h
//
// Layer: cluster
// The thread that reads this node's Redis channel (imgate:to:ID).
//

#ifndef imgate_cluster_NodeInbox_INCLUDED
#define imgate_cluster_NodeInbox_INCLUDED

#include "server/cluster/RedisLink.h"
#include "Poco/Logger.h"
#include "Poco/Runnable.h"
#include "Poco/Thread.h"
#include <atomic>
#include <string>

namespace imgate {
namespace cluster {

class ClusterNode;


class NodeInbox: private Poco::Runnable
	/// Subscribes on a connection of its own and hands each line of each
	/// message to ClusterNode::noticeReceived(). The node publishes a
	/// heartbeat to its own channel every presenceTtl / 3, so a channel
	/// silent for presenceTtl is a lost one: the inbox subscribes again,
	/// and tells the node (inboxReconnected()) whenever it had lost the
	/// channel. stop() publishes nothing: it sets a flag the thread sees
	/// within the read timeout (or at once, when ClusterNode publishes
	/// the stop line to the channel).
{
public:
	NodeInbox(ClusterNode& node, const std::string& redis, const std::string& password, unsigned silenceSeconds, const std::string& stopLine);
		/// stopLine ("stop TOKEN", the node's own token) ends the thread:
		/// another process that claims the same id cannot stop it.

	~NodeInbox();

	void start();
	void stop();
		/// Waits for the thread.

private:
	void run() override;
	bool listen(bool& lost);
		/// Subscribes and reads until the channel is lost (throws) or
		/// stop() (true); clears lost once subscribed.

	ClusterNode& _node;
	const std::string _stopLine;
	RedisLink _link;
	Poco::Logger& _logger;
	std::atomic<bool> _stopping{false};
	Poco::Thread _thread;
};

} } // namespace imgate::cluster

#endif // imgate_cluster_NodeInbox_INCLUDED
