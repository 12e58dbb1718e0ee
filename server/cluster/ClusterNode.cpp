//
// ClusterNode.cpp
//
// Layer: cluster
//

#include "server/cluster/ClusterNode.h"
#include "server/cluster/NodeInbox.h"
#include "server/cluster/Notice.h"
#include "server/session/SessionManager.h"
#include "Poco/DateTimeFormatter.h"
#include "Poco/RandomStream.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <set>

namespace imgate {
namespace cluster {

namespace {

Poco::Int64 nowMs()
{
	return Poco::Timestamp().epochMicroseconds() / 1000;
}


std::string randomToken()
{
	Poco::RandomInputStream random;
	static const char hex[] = "0123456789abcdef";
	std::string token;
	for (int i = 0; i < 16; ++i)
	{
		const unsigned char c = static_cast<unsigned char>(random.get());
		token += hex[c >> 4];
		token += hex[c & 15];
	}
	return token;
}


// Extends our key if it holds our token; takes it again if it expired
// (Redis lost it, or we were away past the TTL); 0 if another node holds it.
const char* const REFRESH_SCRIPT =
	"local v = redis.call('GET', KEYS[1]) "
	"if v == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end "
	"if not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 2 end "
	"return 0";

// Deletes our key only if it is still ours.
const char* const LEAVE_SCRIPT =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

} // namespace


ClusterNode::ClusterNode(const Options& options):
	_options(options),
	_logger(Poco::Logger::get("imgate.cluster")),
	_token(randomToken()),
	_link(options.redis, options.password, Poco::Timespan(0, REDIS_TIMEOUT_MS * 1000)),
	_lookupLink(options.redis, options.password, Poco::Timespan(0, REDIS_TIMEOUT_MS * 1000)),
	_thread("imgate-cluster")
{
}


ClusterNode::~ClusterNode()
{
	try
	{
		stop();
	}
	catch (...)
	{
		// Destructors never throw; stop() logs.
	}
}


std::string ClusterNode::nodeKey(const std::string& nodeId)
{
	return "imgate:node:" + nodeId;
}


std::string ClusterNode::presenceKey(const std::string& uid)
{
	return "imgate:presence:" + uid;
}


std::string ClusterNode::channel(const std::string& nodeId)
{
	return "imgate:to:" + nodeId;
}


void ClusterNode::join()
{
	const Poco::Int64 deadline = nowMs() + static_cast<Poco::Int64>(_options.presenceTtl) * 1000 + 1000;
	bool waited = false;
	for (;;)
	{
		Poco::Redis::Array set;
		set << "SET" << nodeKey(_options.nodeId) << _token << "NX" << "EX" << std::to_string(_options.presenceTtl);
		if (!RedisLink::isNil(_link.execute(set))) break;
		if (nowMs() >= deadline)
		{
			throw ClusterException("cluster.nodeId " + _options.nodeId + " is in use by a running node (Redis at " + _options.redis
				+ " keeps its key " + nodeKey(_options.nodeId) + " alive): give every node an id of its own");
		}
		if (!waited)
		{
			_logger.warning("cluster.nodeId %s is held in Redis (a node that stopped without leaving, or one that runs): "
				"waiting up to %u s for it to expire", _options.nodeId, _options.presenceTtl + 1);
			waited = true;
		}
		Poco::Thread::sleep(250);
	}
	_joined = true;
	_logger.information("cluster: joined as node %s (Redis at %s, presence TTL %u s)", _options.nodeId, _options.redis, _options.presenceTtl);
}


void ClusterNode::start(session::SessionManager& manager)
{
	_pManager = &manager;
	_pInbox.reset(new NodeInbox(*this, _options.redis, _options.password, _options.presenceTtl, "stop " + _token));
	_thread.start(*this);
	_pInbox->start();
}


void ClusterNode::stop()
{
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		if (_stopping) return;
		_stopping = true;
		_wake.signal();
	}
	if (_thread.isRunning()) _thread.join();
	// A node join() refused has nothing to leave (the key is another's).
	if (!_joined) return;
	// Leave: other nodes stop routing here at once, and the id is free.
	try
	{
		std::vector<Poco::Redis::Array> commands;
		if (_pManager)
		{
			std::vector<std::string> uids;
			_pManager->directory().uids(uids);
			for (const std::string& uid: uids)
			{
				Poco::Redis::Array hdel;
				hdel << "HDEL" << presenceKey(uid) << _options.nodeId;
				commands.push_back(hdel);
			}
		}
		Poco::Redis::Array leave;
		leave << "EVAL" << LEAVE_SCRIPT << "1" << nodeKey(_options.nodeId) << _token;
		commands.push_back(leave);
		if (_pInbox)
		{
			Poco::Redis::Array stopInbox;
			stopInbox << "PUBLISH" << channel(_options.nodeId) << "stop " + _token;
			commands.push_back(stopInbox);
		}
		_link.pipeline(commands);
	}
	catch (ClusterException& exc)
	{
		_logger.warning("cluster: could not leave cleanly (%s); the node's key and presence expire within %u s", exc.message(), _options.presenceTtl);
	}
	if (_pInbox) _pInbox->stop();
	_link.disconnect();
}


void ClusterNode::enqueue(Operation&& operation)
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	if (_stopping || _queue.size() >= MAX_QUEUED) return; // the store has the messages; presence is rewritten each refresh
	_queue.push_back(std::move(operation));
	if (_queue.size() == 1) _wake.signal();
}


void ClusterNode::online(const std::string& uid, bool exclusive)
{
	Operation operation{Operation::ONLINE, uid, exclusive, std::string()};
	enqueue(std::move(operation));
}


void ClusterNode::offline(const std::string& uid)
{
	enqueue(Operation{Operation::OFFLINE, uid, false, std::string()});
}


void ClusterNode::stored(const std::vector<std::string>& uids)
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	if (_stopping || _queue.size() + uids.size() > MAX_QUEUED) return;
	const bool wasEmpty = _queue.empty();
	for (const std::string& uid: uids) _queue.push_back(Operation{Operation::STORED, uid, false, std::string()});
	if (wasEmpty && !uids.empty()) _wake.signal();
}


void ClusterNode::kick(const std::string& uid, const std::string& message)
{
	std::string oneLine = message;
	std::replace(oneLine.begin(), oneLine.end(), '\n', ' ');
	enqueue(Operation{Operation::KICK, uid, false, oneLine});
}


std::vector<std::string> ClusterNode::locate(const std::string& uid)
{
	Poco::FastMutex::ScopedLock lock(_lookupMutex);
	Poco::Redis::Array hkeys;
	hkeys << "HKEYS" << presenceKey(uid);
	std::vector<std::string> nodes;
	for (const std::string& node: RedisLink::strings(_lookupLink.execute(hkeys)))
	{
		if (node == _options.nodeId) continue;
		Poco::Redis::Array exists;
		exists << "EXISTS" << nodeKey(node);
		if (RedisLink::integer(_lookupLink.execute(exists)) > 0) nodes.push_back(node);
	}
	return nodes;
}


bool ClusterNode::healthy(std::string& why) const
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	why = _downCause;
	return _up;
}


void ClusterNode::noticeReceived(const std::string& line)
{
	if (!_pManager) return;
	const Notice notice = Notice::parse(line);
	if (notice.kind == Notice::DELIVER)
	{
		_metrics.noticesReceived.add();
		_pManager->wake(notice.uid);
	}
	else if (notice.kind == Notice::KICK)
	{
		_metrics.kicksReceived.add();
		_pManager->kickUid(notice.uid, static_cast<imgate::KickReason>(notice.reason), notice.message);
	}
}


void ClusterNode::inboxReconnected()
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	_rejoinWanted = true;
	_wake.signal();
}


void ClusterNode::failed(const ClusterException& exc)
{
	_metrics.redisFailures.add();
	Poco::FastMutex::ScopedLock lock(_mutex);
	if (_up)
	{
		_logger.error("cluster: %s; serving local sessions, cross-node delivery waits for Redis (or the recipient's next login)", exc.message());
		_downCause = "Redis unreachable since " + Poco::DateTimeFormatter::format(Poco::Timestamp(), "%H:%M:%S") + ": " + exc.message();
	}
	_up = false;
}


void ClusterNode::run()
{
	const Poco::Int64 refreshMs = std::max<Poco::Int64>(static_cast<Poco::Int64>(_options.presenceTtl) * 1000 / 3, 500);
	Poco::Int64 nextRefresh = nowMs() + refreshMs;
	for (;;)
	{
		std::vector<Operation> operations;
		bool up = false;
		bool rejoinWanted = false;
		{
			Poco::FastMutex::ScopedLock lock(_mutex);
			while (_queue.empty() && !_stopping && !_rejoinWanted)
			{
				const Poco::Int64 wait = nextRefresh - nowMs();
				if (wait <= 0) break;
				_wake.tryWait(_mutex, static_cast<long>(wait));
			}
			if (_stopping) return;
			operations.swap(_queue);
			up = _up;
			rejoinWanted = _rejoinWanted;
			_rejoinWanted = false;
		}
		try
		{
			if (!up || rejoinWanted)
			{
				// Redis came back (or the channel did): what it lost is
				// written again, and every session here reads what its
				// notices would have said.
				rejoin();
				nextRefresh = nowMs() + refreshMs;
			}
			if (!operations.empty()) process(operations);
			if (nowMs() >= nextRefresh)
			{
				refresh();
				nextRefresh = nowMs() + refreshMs;
			}
		}
		catch (ClusterException& exc)
		{
			failed(exc);
			Poco::FastMutex::ScopedLock lock(_mutex);
			if (!_stopping) _wake.tryWait(_mutex, RETRY_MS);
		}
	}
}


void ClusterNode::rejoin()
{
	bool wasDown = false;
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		wasDown = !_up;
	}
	refresh();
	if (wasDown) _logger.notice("cluster: Redis at %s reachable again; presence written again, local sessions reading what they missed", _options.redis);
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		_up = true;
		_downCause.clear();
	}
	if (_pManager) _pManager->wakeAll();
}


bool ClusterNode::refreshKey()
{
	Poco::Redis::Array refresh;
	refresh << "EVAL" << REFRESH_SCRIPT << "1" << nodeKey(_options.nodeId) << _token << std::to_string(_options.presenceTtl);
	const Poco::Int64 outcome = RedisLink::integer(_link.execute(refresh));
	if (outcome == 2) _logger.warning("cluster: node %s's key had expired in Redis (away longer than cluster.presenceTtl); registered again", _options.nodeId);
	return outcome != 0;
}


void ClusterNode::refresh()
{
	if (!refreshKey())
	{
		// Another node took the id while this one was away: two nodes
		// answer for one id. Said loudly; the presence this node writes
		// still routes its uids here.
		_logger.error("cluster: another node holds cluster.nodeId %s in Redis: two nodes run with one id; give each node its own", _options.nodeId);
	}
	std::vector<std::string> uids;
	if (_pManager) _pManager->directory().uids(uids);
	const std::string ttl = std::to_string(_options.presenceTtl);
	std::vector<Poco::Redis::Array> commands;
	for (std::size_t i = 0; i < uids.size(); ++i)
	{
		Poco::Redis::Array hset;
		hset << "HSET" << presenceKey(uids[i]) << _options.nodeId << "1";
		commands.push_back(hset);
		Poco::Redis::Array expire;
		expire << "EXPIRE" << presenceKey(uids[i]) << ttl;
		commands.push_back(expire);
		if (commands.size() >= 2 * REFRESH_CHUNK || i + 1 == uids.size())
		{
			_link.pipeline(commands);
			commands.clear();
		}
	}
	// The heartbeat that keeps this node's inbox sure of its channel.
	Poco::Redis::Array heartbeat;
	heartbeat << "PUBLISH" << channel(_options.nodeId) << "h";
	_link.execute(heartbeat);
}


std::map<std::string, bool> ClusterNode::liveness(const std::vector<std::string>& nodes)
{
	const Poco::Int64 now = nowMs();
	std::map<std::string, bool> result;
	std::vector<std::string> unknown;
	for (const std::string& node: nodes)
	{
		auto it = _liveness.find(node);
		if (it != _liveness.end() && now - it->second.checkedMs < LIVENESS_CACHE_MS) result[node] = it->second.alive;
		else unknown.push_back(node);
	}
	if (!unknown.empty())
	{
		std::vector<Poco::Redis::Array> commands;
		for (const std::string& node: unknown)
		{
			Poco::Redis::Array exists;
			exists << "EXISTS" << nodeKey(node);
			commands.push_back(exists);
		}
		const Poco::Redis::Array replies = _link.pipeline(commands);
		std::size_t i = 0;
		for (auto it = replies.begin(); it != replies.end() && i < unknown.size(); ++it, ++i)
		{
			const bool alive = RedisLink::integer(*it) > 0;
			_liveness[unknown[i]] = Alive{alive, now};
			result[unknown[i]] = alive;
		}
		if (_liveness.size() > 4096) _liveness.clear();
	}
	return result;
}


void ClusterNode::process(std::vector<Operation>& operations)
{
	// Phase 1: presence writes, and the lookups of the uids to route.
	const std::string ttl = std::to_string(_options.presenceTtl);
	std::vector<Poco::Redis::Array> commands;
	struct Lookup
	{
		std::size_t reply;
		const Operation* pOperation;
	};
	std::vector<Lookup> lookups;
	std::set<std::string> routed; // a uid stored to twice in a batch is looked up once
	for (const Operation& operation: operations)
	{
		const std::string key = presenceKey(operation.uid);
		switch (operation.kind)
		{
		case Operation::ONLINE:
			{
				Poco::Redis::Array hset;
				hset << "HSET" << key << _options.nodeId << "1";
				commands.push_back(hset);
				Poco::Redis::Array expire;
				expire << "EXPIRE" << key << ttl;
				commands.push_back(expire);
				if (operation.exclusive)
				{
					Poco::Redis::Array hkeys;
					hkeys << "HKEYS" << key;
					lookups.push_back(Lookup{commands.size(), &operation});
					commands.push_back(hkeys);
				}
			}
			break;
		case Operation::OFFLINE:
			// Only if no session of the uid came back meanwhile.
			if (_pManager && !_pManager->directory().find(operation.uid).valid())
			{
				Poco::Redis::Array hdel;
				hdel << "HDEL" << key << _options.nodeId;
				commands.push_back(hdel);
			}
			break;
		case Operation::STORED:
			if (!routed.insert(operation.uid).second) break;
			// fall through
		case Operation::KICK:
			{
				Poco::Redis::Array hkeys;
				hkeys << "HKEYS" << key;
				lookups.push_back(Lookup{commands.size(), &operation});
				commands.push_back(hkeys);
			}
			break;
		}
	}
	if (commands.empty()) return;
	const Poco::Redis::Array replies = _link.pipeline(commands);
	std::vector<Poco::Redis::RedisType::Ptr> reply(replies.begin(), replies.end());
	if (lookups.empty()) return;
	// Phase 2: which of the nodes found are alive.
	std::vector<std::vector<std::string>> found(lookups.size());
	std::set<std::string> candidates;
	for (std::size_t i = 0; i < lookups.size(); ++i)
	{
		if (lookups[i].reply >= reply.size()) continue;
		for (const std::string& node: RedisLink::strings(reply[lookups[i].reply]))
		{
			if (node == _options.nodeId) continue;
			found[i].push_back(node);
			candidates.insert(node);
		}
	}
	if (candidates.empty()) return;
	const std::map<std::string, bool> alive = liveness(std::vector<std::string>(candidates.begin(), candidates.end()));
	// Phase 3: one PUBLISH per node, and the dead nodes' presence removed.
	std::map<std::string, std::string> notices;
	commands.clear();
	for (std::size_t i = 0; i < lookups.size(); ++i)
	{
		const Operation& operation = *lookups[i].pOperation;
		for (const std::string& node: found[i])
		{
			auto it = alive.find(node);
			if (it == alive.end() || !it->second)
			{
				Poco::Redis::Array hdel;
				hdel << "HDEL" << presenceKey(operation.uid) << node;
				commands.push_back(hdel);
				continue;
			}
			std::string& payload = notices[node];
			if (operation.kind == Operation::STORED)
			{
				payload += "d " + operation.uid + "\n";
				_metrics.noticesSent.add();
			}
			else if (operation.kind == Operation::ONLINE)
			{
				payload += "k " + std::to_string(static_cast<unsigned>(imgate::KickReason::DUPLICATE_LOGIN)) + " " + operation.uid + " logged in on another node\n";
				_metrics.kicksSent.add();
			}
			else
			{
				payload += "k " + std::to_string(static_cast<unsigned>(imgate::KickReason::ADMIN)) + " " + operation.uid + " " + operation.message + "\n";
				_metrics.kicksSent.add();
			}
		}
	}
	for (const auto& notice: notices)
	{
		Poco::Redis::Array publish;
		publish << "PUBLISH" << channel(notice.first) << notice.second;
		commands.push_back(publish);
	}
	if (!commands.empty()) _link.pipeline(commands);
}

} } // namespace imgate::cluster
