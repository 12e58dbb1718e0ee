//
// ClusterNode.h
//
// Layer: cluster
// This imgated as one node of a cluster (cluster.enabled): its id in
// Redis, the presence of its uids, and the notices that carry messages and
// kicks between nodes.
//

#ifndef imgate_cluster_ClusterNode_INCLUDED
#define imgate_cluster_ClusterNode_INCLUDED

#include "server/cluster/RedisLink.h"
#include "server/metrics/Counter.h"
#include "server/session/ClusterLink.h"
#include "Poco/Condition.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include "Poco/Runnable.h"
#include "Poco/Thread.h"
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace session {
class SessionManager;
}
namespace cluster {

class NodeInbox;


class ClusterNode: public session::ClusterLink, private Poco::Runnable
	/// The design (docs/cluster.md, after Centrifugo's Redis engine and
	/// goim's comet/logic split): messages live in the shared PostgreSQL
	/// store; Redis only says where uids are and carries notices.
	///
	///     imgate:node:ID        a random token, EX presenceTtl: node ID is alive
	///     imgate:presence:UID   hash NODE -> 1: the nodes UID is online on,
	///                           EXPIRE presenceTtl, refreshed by each of them
	///     imgate:to:ID          the pub/sub channel of node ID
	///
	/// A message committed here for uids online elsewhere becomes a notice
	/// "d UID" on those nodes' channels; they wake the uid's sessions, which
	/// read it from the store in msgId order. A notice carries no payload:
	/// only a read keeps a session's order when two nodes store for one
	/// inbox at once (docs/cluster.md measures what it costs). A LOGIN
	/// under session.devicePolicy = single sends "k ..." to the other
	/// nodes of the uid, which kick it there.
	///
	/// One thread (run()) owns a RedisLink for every command: it takes what
	/// the loops queued (online(), offline(), stored(), kick()), pipelines
	/// it, and every presenceTtl / 3 refreshes the node's key and the
	/// presence of every uid online here. NodeInbox reads the channel.
	///
	/// Redis unreachable: the loops go on serving their sessions, notices
	/// are dropped (the messages wait in the store), healthy() says so;
	/// every second the thread tries again, and once back it registers
	/// again, writes the presence of every local uid, and wakes every
	/// local session to read what it missed.
{
public:
	struct Options
	{
		std::string nodeId;          /// cluster.nodeId
		std::string redis;           /// cluster.redis: host:port
		std::string password;        /// From cluster.redisPasswordFile ("": none).
		unsigned presenceTtl = 30;   /// cluster.presenceTtl, seconds
	};

	struct Metrics
	{
		metrics::Counter noticesSent;      /// Delivery notices published to other nodes (one per uid and node).
		metrics::Counter noticesReceived;  /// Delivery notices this node received.
		metrics::Counter kicksSent;
		metrics::Counter kicksReceived;
		metrics::Counter redisFailures;    /// Batches or refreshes that failed because of Redis.
	};

	explicit ClusterNode(const Options& options);
	~ClusterNode() override;

	void join();
		/// Registers cluster.nodeId: SET imgate:node:ID NX. A key held by
		/// a node that crashed expires within presenceTtl, so join() waits
		/// up to presenceTtl + 1 s for it; a key kept alive that long
		/// belongs to a running node. Throws ClusterException: Redis
		/// unreachable or refusing, or the id in use.

	void start(session::SessionManager& manager);
		/// Starts the threads. manager must outlive stop().

	void stop();
		/// Removes this node's presence and key (its clients log in
		/// elsewhere at once, without waiting for the TTL), stops the
		/// threads. Idempotent; bounded by the Redis timeout.

	void online(const std::string& uid, bool exclusive) override;
	void offline(const std::string& uid) override;
	void stored(const std::vector<std::string>& uids) override;

	void kick(const std::string& uid, const std::string& message);
		/// Any thread (the admin API): the uid's sessions on the other
		/// nodes are kicked (ADMIN).

	std::vector<std::string> locate(const std::string& uid);
		/// The other live nodes where uid is online, asked of Redis on the
		/// caller's thread (the admin API's; not a loop). Throws
		/// ClusterException.

	bool healthy(std::string& why) const;
		/// False while Redis is unreachable (why: since when, the cause).

	const std::string& nodeId() const;
	Metrics& metrics();

	// Called by NodeInbox.
	void noticeReceived(const std::string& line);
		/// One line of a notice on this node's channel.
	void inboxReconnected();
		/// The channel was lost and is subscribed again: notices may have
		/// been missed.

	static std::string nodeKey(const std::string& nodeId);
	static std::string presenceKey(const std::string& uid);
	static std::string channel(const std::string& nodeId);

	enum
	{
		REDIS_TIMEOUT_MS = 2000,    /// Connect and reply timeout of every Redis command.
		RETRY_MS = 1000,            /// Pause between attempts while Redis is unreachable.
		LIVENESS_CACHE_MS = 2000,   /// How long a node found alive or dead is believed.
		REFRESH_CHUNK = 1000,       /// Uids refreshed per pipeline.
		MAX_QUEUED = 1000000        /// Queued operations beyond this are dropped (Redis far behind).
	};

private:
	struct Operation
	{
		enum Kind { ONLINE, OFFLINE, STORED, KICK };
		Kind kind;
		std::string uid;
		bool exclusive = false;
		std::string message; /// KICK
	};

	void run() override;
	void process(std::vector<Operation>& operations);
		/// One batch: presence writes, lookups, then the notices.
	void refresh();
		/// The node's key and the presence of every local uid.
	void rejoin();
		/// After Redis came back: refresh() and wake every local session.
	bool refreshKey();
		/// Extends the node's key, or takes it again if it expired; false
		/// if another node holds it now.
	std::map<std::string, bool> liveness(const std::vector<std::string>& nodes);
		/// Whether each node's key exists (cached LIVENESS_CACHE_MS).
	void enqueue(Operation&& operation);
	void failed(const ClusterException& exc);
		/// Marks Redis down (logged once per episode).

	const Options _options;
	Poco::Logger& _logger;
	std::string _token;                   /// The value of our node key.
	bool _joined = false;
	RedisLink _link;                      /// The worker's (and join()/stop()'s).
	RedisLink _lookupLink;                /// locate()'s, under _lookupMutex.
	Poco::FastMutex _lookupMutex;
	std::unique_ptr<NodeInbox> _pInbox;
	session::SessionManager* _pManager = nullptr;
	Metrics _metrics;

	mutable Poco::FastMutex _mutex;       /// Guards what follows.
	Poco::Condition _wake;
	std::vector<Operation> _queue;
	bool _stopping = false;
	bool _up = true;
	bool _rejoinWanted = false;           /// The inbox reconnected: wake everyone.
	std::string _downCause;               /// While !_up.
	Poco::Thread _thread;

	// Worker thread only.
	struct Alive
	{
		bool alive = false;
		Poco::Int64 checkedMs = 0;
	};
	std::map<std::string, Alive> _liveness;
};


inline const std::string& ClusterNode::nodeId() const
{
	return _options.nodeId;
}


inline ClusterNode::Metrics& ClusterNode::metrics()
{
	return _metrics;
}

} } // namespace imgate::cluster

#endif // imgate_cluster_ClusterNode_INCLUDED
