//
// MemoryMessageStore.cpp
//
// Layer: store
//

#include "server/store/MemoryMessageStore.h"
#include "Poco/Bugcheck.h"
#include "Poco/Exception.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <functional>
#include <mutex>

namespace imgate {
namespace store {

MemoryMessageStore::MemoryMessageStore(const Limits& limits):
	MemoryMessageStore(limits, initialMsgId())
{
}


MemoryMessageStore::MemoryMessageStore(const Limits& limits, Poco::UInt64 firstMsgId):
	_limits(limits),
	_entriesPerShard(std::max<std::size_t>(1, limits.idempotencyEntries / shardCount(limits))),
	_lastMsgId(firstMsgId - 1)
{
	for (std::size_t i = 0; i < shardCount(limits); ++i) _shards.emplace_back(new Shard);
}


std::size_t MemoryMessageStore::shardCount(const Limits& limits)
{
	return std::min<std::size_t>(std::max<std::size_t>(1, limits.shards), MAX_SHARDS);
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


std::size_t MemoryMessageStore::shardIndex(const std::string& uid) const
{
	return std::hash<std::string>()(uid) % _shards.size();
}


MemoryMessageStore::Shard& MemoryMessageStore::shardOf(const std::string& uid) const
{
	return *_shards[shardIndex(uid)];
}


void MemoryMessageStore::append(NewMessage message, AppendCallback done)
{
	AppendResult result;
	{
		const std::size_t from = shardIndex(message.fromUid);
		const std::size_t to = shardIndex(message.toUid);
		Shard& senderShard = *_shards[from];
		Shard& recipientShard = *_shards[to];
		// Both locks, always the lower shard first: no two appends can
		// wait for each other in a cycle.
		Poco::FastMutex::ScopedLock first(_shards[std::min(from, to)]->mutex);
		std::unique_lock<Poco::FastMutex> second(_shards[std::max(from, to)]->mutex, std::defer_lock);
		if (from != to) second.lock();
		if (!findSent(senderShard, message, result)) store(senderShard, recipientShard, std::move(message), result);
	}
	done(result);
}


bool MemoryMessageStore::findSent(const Shard& senderShard, const NewMessage& message, AppendResult& result)
{
	auto sender = senderShard.senders.find(message.fromUid);
	if (sender == senderShard.senders.end()) return false;
	auto it = sender->second.find(message.clientMsgId);
	if (it == sender->second.end()) return false;
	result.outcome = AppendResult::DUPLICATE;
	result.msgId = it->second.msgId;
	result.timestampMs = it->second.timestampMs;
	return true;
}


bool MemoryMessageStore::reserve(std::size_t bytes)
{
	std::size_t current = _bytes.load(std::memory_order_relaxed);
	do
	{
		if (current + bytes > _limits.maxBytes) return false;
	}
	while (!_bytes.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
	return true;
}


void MemoryMessageStore::store(Shard& senderShard, Shard& recipientShard, NewMessage&& message, AppendResult& result)
{
	auto q = recipientShard.queues.find(message.toUid);
	const std::size_t newQueueCost = q == recipientShard.queues.end() ? queueCost(message.toUid) : 0;
	StoredMessage stored;
	stored.fromUid = message.fromUid;
	stored.payload = std::move(message.payload);
	stored.timestampMs = message.timestampMs;
	if (q != recipientShard.queues.end() && q->second.size() >= _limits.maxPendingPerRecipient)
	{
		result.outcome = AppendResult::RECIPIENT_FULL;
		return;
	}
	if (!reserve(cost(stored) + newQueueCost))
	{
		result.outcome = AppendResult::STORE_FULL;
		return;
	}
	if (q == recipientShard.queues.end()) q = recipientShard.queues.emplace(message.toUid, std::map<Poco::UInt64, StoredMessage>()).first;
	stored.msgId = _lastMsgId.fetch_add(1, std::memory_order_relaxed) + 1;
	result.outcome = AppendResult::STORED;
	result.msgId = stored.msgId;
	result.timestampMs = stored.timestampMs;
	senderShard.senders[message.fromUid].emplace(message.clientMsgId, Sent{stored.msgId, stored.timestampMs});
	senderShard.acceptedOrder.push_back(Accepted{std::move(message.fromUid), message.clientMsgId});
	if (senderShard.acceptedOrder.size() > _entriesPerShard) forgetOldest(senderShard);
	q->second.emplace_hint(q->second.end(), stored.msgId, std::move(stored));
}


void MemoryMessageStore::forgetOldest(Shard& senderShard)
{
	const Accepted& oldest = senderShard.acceptedOrder.front();
	auto sender = senderShard.senders.find(oldest.fromUid);
	if (sender != senderShard.senders.end())
	{
		sender->second.erase(oldest.clientMsgId);
		if (sender->second.empty()) senderShard.senders.erase(sender);
	}
	senderShard.acceptedOrder.pop_front();
}


std::size_t MemoryMessageStore::idempotencyEntries() const
{
	std::size_t n = 0;
	for (const auto& pShard: _shards)
	{
		Poco::FastMutex::ScopedLock lock(pShard->mutex);
		n += pShard->acceptedOrder.size();
	}
	return n;
}


void MemoryMessageStore::readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done)
{
	poco_assert_dbg(reader.device.empty()); // one device per uid so far (class comment)
	const std::string& uid = reader.uid;
	PendingPage page;
	page.messages = pending(uid, afterMsgId, limit);
	done(std::move(page));
}


std::vector<StoredMessage> MemoryMessageStore::pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit)
{
	std::vector<StoredMessage> result;
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto q = shard.queues.find(uid);
	if (q == shard.queues.end()) return result;
	result.reserve(std::min(limit, q->second.size()));
	for (auto it = q->second.upper_bound(afterMsgId); it != q->second.end() && result.size() < limit; ++it)
	{
		result.push_back(it->second);
	}
	return result;
}


void MemoryMessageStore::acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds)
{
	poco_assert_dbg(device.empty());
	(void) device;
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto q = shard.queues.find(uid);
	if (q == shard.queues.end()) return;
	std::size_t freed = 0;
	// With one device, acknowledged messages are of no further use.
	for (auto it = q->second.begin(); it != q->second.end() && it->first <= position;)
	{
		freed += cost(it->second);
		it = q->second.erase(it);
	}
	for (Poco::UInt64 id: msgIds)
	{
		auto it = q->second.find(id);
		if (it == q->second.end()) continue;
		freed += cost(it->second);
		q->second.erase(it);
	}
	if (q->second.empty())
	{
		freed += queueCost(q->first);
		shard.queues.erase(q);
	}
	_bytes.fetch_sub(freed, std::memory_order_relaxed);
}


std::size_t MemoryMessageStore::pendingCount(const std::string& uid)
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto q = shard.queues.find(uid);
	return q == shard.queues.end() ? 0 : q->second.size();
}


void MemoryMessageStore::readHistory(const HistoryQuery&, HistoryCallback)
{
	throw Poco::NotImplementedException("MemoryMessageStore::readHistory (issue 16, in progress)");
}


void MemoryMessageStore::changeGroup(const GroupChange&, GroupCallback)
{
	throw Poco::NotImplementedException("MemoryMessageStore::changeGroup (issue 16, in progress)");
}


bool MemoryMessageStore::findGroup(const std::string&, Group&)
{
	throw Poco::NotImplementedException("MemoryMessageStore::findGroup (issue 16, in progress)");
}


std::vector<std::string> MemoryMessageStore::listGroups(const std::string&, std::size_t, bool&)
{
	throw Poco::NotImplementedException("MemoryMessageStore::listGroups (issue 16, in progress)");
}


std::string MemoryMessageStore::describe() const
{
	return "memory (not durable: pending messages are lost when the server stops)";
}


std::size_t MemoryMessageStore::bytes() const
{
	return _bytes.load(std::memory_order_relaxed);
}

} } // namespace imgate::store
