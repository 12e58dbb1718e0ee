//
// NodeInbox.cpp
//
// Layer: cluster
//

#include "server/cluster/NodeInbox.h"
#include "server/cluster/ClusterNode.h"

namespace imgate {
namespace cluster {

NodeInbox::NodeInbox(ClusterNode& node, const std::string& redis, const std::string& password, unsigned silenceSeconds, const std::string& stopLine):
	_node(node),
	_stopLine(stopLine),
	_link(redis, password, Poco::Timespan(0, ClusterNode::REDIS_TIMEOUT_MS * 1000)),
	_logger(Poco::Logger::get("imgate.cluster")),
	_thread("imgate-cluster-in")
{
	_link.setReadTimeout(Poco::Timespan(static_cast<long>(silenceSeconds), 0));
}


NodeInbox::~NodeInbox()
{
	stop();
}


void NodeInbox::start()
{
	_thread.start(*this);
}


void NodeInbox::stop()
{
	_stopping = true;
	if (_thread.isRunning()) _thread.join();
}


void NodeInbox::run()
{
	bool lost = false;
	while (!_stopping)
	{
		try
		{
			if (listen(lost)) return;
		}
		catch (ClusterException& exc)
		{
			if (!lost) _logger.warning("cluster: lost this node's channel: %s; subscribing again", exc.message());
		}
		lost = true;
		_link.disconnect();
		for (int i = 0; i < ClusterNode::RETRY_MS / 100 && !_stopping; ++i) Poco::Thread::sleep(100);
	}
}


bool NodeInbox::listen(bool& lost)
{
	Poco::Redis::Array subscribe;
	subscribe << "SUBSCRIBE" << ClusterNode::channel(_node.nodeId());
	_link.send(subscribe);
	bool confirmed = false;
	while (!_stopping)
	{
		Poco::Redis::RedisType::Ptr reply;
		try
		{
			reply = _link.read();
		}
		catch (Poco::TimeoutException&)
		{
			// Not even the node's own heartbeat: the channel is dead.
			throw ClusterException("Redis at " + _link.address() + ": this node's channel was silent past cluster.presenceTtl");
		}
		const std::vector<std::string> parts = RedisLink::strings(reply);
		if (parts.size() == 3 && parts[0] == "subscribe")
		{
			if (!confirmed)
			{
				confirmed = true;
				if (lost) _logger.notice("cluster: subscribed to this node's channel again");
				lost = false;
				_node.inboxReconnected();
			}
			continue;
		}
		if (parts.size() != 3 || parts[0] != "message") continue;
		const std::string& payload = parts[2];
		std::size_t start = 0;
		while (start < payload.size())
		{
			std::size_t end = payload.find('\n', start);
			if (end == std::string::npos) end = payload.size();
			const std::string line = payload.substr(start, end - start);
			if (line == _stopLine) return true;
			if (!line.empty()) _node.noticeReceived(line);
			start = end + 1;
		}
	}
	return true;
}

} } // namespace imgate::cluster
