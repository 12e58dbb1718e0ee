//
// MemoryMessageStore.cpp
//
// Layer: store
//

#include "server/store/MemoryMessageStore.h"
#include "Poco/Timestamp.h"

namespace imgate {
namespace store {

MemoryMessageStore::MemoryMessageStore(const Limits& limits):
	MemoryMessageStore(limits, initialMsgId())
{
}


MemoryMessageStore::MemoryMessageStore(const Limits& limits, Poco::UInt64 firstMsgId):
	_limits(limits),
	_lastMsgId(firstMsgId - 1)
{
}


Poco::UInt64 MemoryMessageStore::initialMsgId(const Poco::Timestamp& now)
{
	return static_cast<Poco::UInt64>(now.epochMicroseconds() / 1000) << 10;
}


MemoryMessageStore::~MemoryMessageStore()
{
}


std::size_t MemoryMessageStore::cost(const StoredMessage& m)
{
	// Payload and sender plus the message's map node (about 64 bytes).
	return m.payload.size() + m.fromUid.size() + sizeof(StoredMessage) + 64;
}


std::size_t MemoryMessageStore::queueCost(const std::string& recipient)
{
	// A recipient's queue: its key, the hash node and an empty std::map.
	return recipient.size() + sizeof(std::string) + sizeof(std::map<Poco::UInt64, StoredMessage>) + 32;
}


void MemoryMessageStore::append(NewMessage message, AppendCallback done)
{
	AppendResult result;
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		auto sender = _senders.find(message.fromUid);
		if (sender != _senders.end())
		{
			auto it = sender->second.find(message.clientMsgId);
			if (it != sender->second.end())
			{
				result.outcome = AppendResult::DUPLICATE;
				result.msgId = it->second.msgId;
				result.timestampMs = it->second.timestampMs;
			}
		}
		if (result.outcome != AppendResult::DUPLICATE) store(std::move(message), result);
	}
	done(result);
}


void MemoryMessageStore::store(NewMessage&& message, AppendResult& result)
{
	auto q = _queues.find(message.toUid);
	const std::size_t newQueueCost = q == _queues.end() ? queueCost(message.toUid) : 0;
	StoredMessage stored;
	stored.fromUid = message.fromUid;
	stored.payload = std::move(message.payload);
	stored.timestampMs = message.timestampMs;
	if (q != _queues.end() && q->second.size() >= _limits.maxPendingPerRecipient)
	{
		result.outcome = AppendResult::RECIPIENT_FULL;
	}
	else if (_bytes + cost(stored) + newQueueCost > _limits.maxBytes)
	{
		result.outcome = AppendResult::STORE_FULL;
	}
	else
	{
		if (q == _queues.end()) q = _queues.emplace(message.toUid, std::map<Poco::UInt64, StoredMessage>()).first;
		stored.msgId = ++_lastMsgId;
		_bytes += cost(stored) + newQueueCost;
		result.outcome = AppendResult::STORED;
		result.msgId = stored.msgId;
		result.timestampMs = stored.timestampMs;
		_senders[message.fromUid].emplace(message.clientMsgId, Sent{stored.msgId, stored.timestampMs});
		_acceptedOrder.push_back(Accepted{message.fromUid, message.clientMsgId});
		if (_acceptedOrder.size() > _limits.idempotencyEntries) forgetOldest();
		q->second.emplace(stored.msgId, std::move(stored));
	}
}


void MemoryMessageStore::forgetOldest()
{
	const Accepted& oldest = _acceptedOrder.front();
	auto sender = _senders.find(oldest.fromUid);
	if (sender != _senders.end())
	{
		sender->second.erase(oldest.clientMsgId);
		if (sender->second.empty()) _senders.erase(sender);
	}
	_acceptedOrder.pop_front();
}


std::size_t MemoryMessageStore::idempotencyEntries() const
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	return _acceptedOrder.size();
}


void MemoryMessageStore::readPending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done)
{
	PendingPage page;
	page.messages = pending(uid, afterMsgId, limit);
	done(std::move(page));
}


std::vector<StoredMessage> MemoryMessageStore::pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit)
{
	std::vector<StoredMessage> result;
	Poco::FastMutex::ScopedLock lock(_mutex);
	auto q = _queues.find(uid);
	if (q == _queues.end()) return result;
	for (auto it = q->second.upper_bound(afterMsgId); it != q->second.end() && result.size() < limit; ++it)
	{
		result.push_back(it->second);
	}
	return result;
}


void MemoryMessageStore::acknowledge(const std::string& uid, const std::vector<Poco::UInt64>& msgIds)
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	auto q = _queues.find(uid);
	if (q == _queues.end()) return;
	for (Poco::UInt64 id: msgIds)
	{
		auto it = q->second.find(id);
		if (it == q->second.end()) continue;
		_bytes -= cost(it->second);
		q->second.erase(it);
	}
	if (q->second.empty())
	{
		_bytes -= queueCost(q->first);
		_queues.erase(q);
	}
}


std::size_t MemoryMessageStore::pendingCount(const std::string& uid)
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	auto q = _queues.find(uid);
	return q == _queues.end() ? 0 : q->second.size();
}


std::string MemoryMessageStore::describe() const
{
	return "memory (not durable: pending messages are lost when the server stops)";
}


std::size_t MemoryMessageStore::bytes() const
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	return _bytes;
}

} } // namespace imgate::store
