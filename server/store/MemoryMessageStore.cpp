//
// MemoryMessageStore.cpp
//
// Layer: store
//

#include "server/store/MemoryMessageStore.h"
#include "Poco/Bugcheck.h"
#include "Poco/Logger.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <mutex>

namespace imgate {
namespace store {

namespace {

// Bookkeeping costs (bytes) beside the strings: a node's header and
// allocation overhead.
const std::size_t NODE_OVERHEAD = 48;
const std::size_t ABOVE_COST = sizeof(Poco::UInt64) + NODE_OVERHEAD;
const std::size_t INITIAL_ROWS = 4; // an inbox's first allocation: most hold a few rows

} // namespace


class MemoryMessageStore::ShardLocks
	/// Locks a set of shards in increasing index order (the class's lock
	/// order) and unlocks them when it goes.
{
public:
	ShardLocks(const MemoryMessageStore& store, std::vector<std::size_t>& indices)
	{
		std::sort(indices.begin(), indices.end());
		indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
		_locked.reserve(indices.size());
		for (std::size_t i: indices)
		{
			Poco::FastMutex& mutex = store._shards[i]->mutex;
			mutex.lock();
			_locked.push_back(&mutex);
		}
	}

	~ShardLocks()
	{
		for (auto it = _locked.rbegin(); it != _locked.rend(); ++it) (*it)->unlock();
	}

	ShardLocks(const ShardLocks&) = delete;
	ShardLocks& operator=(const ShardLocks&) = delete;

private:
	std::vector<Poco::FastMutex*> _locked;
};


MemoryMessageStore::Inbox::~Inbox()
{
	for (std::size_t i = head; i < rows.size(); ++i)
	{
		if (rows[i].pMessage) unref(rows[i].pMessage);
	}
}


MemoryMessageStore::MemoryMessageStore(const Limits& limits):
	MemoryMessageStore(limits, initialMsgId())
{
}


MemoryMessageStore::MemoryMessageStore(const Limits& limits, Poco::UInt64 firstMsgId):
	_limits(limits),
	_logger(Poco::Logger::get("imgate.store")),
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


std::size_t MemoryMessageStore::messageCost(const NewMessage& message)
{
	return message.payload.size() + message.fromUid.size() + message.fromDevice.size() + message.toUid.size()
		+ message.toGroup.size() + sizeof(Message) + NODE_OVERHEAD;
}


std::size_t MemoryMessageStore::rowCost()
{
	// A slot, and as much again for the vector's room to grow.
	return 2 * sizeof(Row);
}


std::size_t MemoryMessageStore::inboxCost(const std::string& uid)
{
	// The uid as key, the hash node, an empty inbox and the room its
	// first rows take.
	return uid.size() + sizeof(std::string) + sizeof(Inbox) + NODE_OVERHEAD + INITIAL_ROWS * sizeof(Row);
}


std::size_t MemoryMessageStore::deviceCost(const std::string& device)
{
	return device.size() + sizeof(Device);
}


std::size_t MemoryMessageStore::groupCost(const std::string& gid, const std::vector<std::string>& members)
{
	std::size_t cost = 2 * gid.size() + sizeof(std::string) + sizeof(GroupEntry) + 2 * NODE_OVERHEAD;
	for (const std::string& m: members) cost += m.size() + sizeof(std::string);
	return cost;
}


std::size_t MemoryMessageStore::historyBytes(const Message& message)
{
	return message.payload.size() + message.fromUid.size() + message.toUid.size() + message.groupId.size() + HISTORY_ENTRY_OVERHEAD;
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
	route(message, result);
	// Full: what has expired may make room (message is intact unless stored).
	if (result.outcome == AppendResult::STORE_FULL && reclaim(message.timestampMs))
	{
		result = AppendResult();
		route(message, result);
	}
	done(result);
}


void MemoryMessageStore::route(NewMessage& message, AppendResult& result)
{
	if (message.toGroup.empty()) appendToUid(message, result);
	else appendToGroup(message, result);
}


bool MemoryMessageStore::reclaim(Poco::Int64 nowMs)
{
	if (_limits.historyRetention == 0 && _limits.retention == 0) return false;
	// At most once a second (on the senders' clock): a store full of
	// what has not expired must not scan every inbox for every send.
	Poco::Int64 last = _lastReclaimMs.load(std::memory_order_relaxed);
	if (nowMs - last < RECLAIM_INTERVAL_MS || !_lastReclaimMs.compare_exchange_strong(last, nowMs)) return false;
	std::size_t removed = cleanup(nowMs);
	// Pending messages come first: history (rows every device of their
	// uid has acknowledged) gives way, oldest first, until the store is
	// back under RECLAIM_TARGET_PERCENT of its bytes.
	const std::size_t target = _limits.maxBytes / 100 * RECLAIM_TARGET_PERCENT;
	Poco::Int64 keptMs = static_cast<Poco::Int64>(_limits.historyRetention) * 1000;
	const std::size_t before = _bytes.load(std::memory_order_relaxed);
	while (_limits.historyRetention > 0 && keptMs > 0 && _bytes.load(std::memory_order_relaxed) > target)
	{
		keptMs = keptMs > 4000 ? keptMs / 4 : 0;
		removed += cleanup(nowMs, keptMs);
	}
	// One warning a minute at most while the store stays full.
	if (keptMs < static_cast<Poco::Int64>(_limits.historyRetention) * 1000 && nowMs - _lastHistoryWarningMs.load(std::memory_order_relaxed) >= 60000)
	{
		_lastHistoryWarningMs.store(nowMs, std::memory_order_relaxed);
		_logger.warning("memory store full (store.memoryMaxBytes = %z): history dropped to the last %Ld s to make room (%z bytes freed)",
			_limits.maxBytes, keptMs / 1000, before - std::min(before, _bytes.load(std::memory_order_relaxed)));
	}
	return removed > 0;
}


void MemoryMessageStore::appendToUid(NewMessage& message, AppendResult& result)
{
	const std::size_t from = shardIndex(message.fromUid);
	const std::size_t to = shardIndex(message.toUid);
	Shard& senderShard = *_shards[from];
	Shard& recipientShard = *_shards[to];
	// Both locks, always the lower shard first (the class's lock order).
	Poco::FastMutex::ScopedLock first(_shards[std::min(from, to)]->mutex);
	std::unique_lock<Poco::FastMutex> second(_shards[std::max(from, to)]->mutex, std::defer_lock);
	if (from != to) second.lock();
	std::string sender = positionKey(message.fromUid, message.fromDevice);
	if (findSent(senderShard, sender, message.clientMsgId, result)) return;
	Target targets[2];
	std::size_t n = 0;
	auto inbox = recipientShard.inboxes.find(message.toUid);
	targets[n++] = Target{&message.toUid, false, &recipientShard, inbox == recipientShard.inboxes.end() ? nullptr : &inbox->second};
	if (_limits.recordSent && message.fromUid != message.toUid)
	{
		auto own = senderShard.inboxes.find(message.fromUid);
		targets[n++] = Target{&message.fromUid, true, &senderShard, own == senderShard.inboxes.end() ? nullptr : &own->second};
	}
	store(senderShard, std::move(sender), message, targets, n, true, result);
}


void MemoryMessageStore::appendToGroup(NewMessage& message, AppendResult& result)
{
	// The group's lock first, for the whole append: membership cannot
	// change between reading the members and writing their rows.
	std::shared_ptr<GroupEntry> pGroup = group(message.toGroup);
	std::unique_lock<Poco::FastMutex> groupLock;
	if (pGroup) groupLock = std::unique_lock<Poco::FastMutex>(pGroup->mutex);
	const bool member = pGroup && !pGroup->removed
		&& std::binary_search(pGroup->members.begin(), pGroup->members.end(), message.fromUid);
	std::vector<std::size_t> indices;
	std::vector<Target> targets;
	indices.push_back(shardIndex(message.fromUid));
	if (member)
	{
		indices.reserve(pGroup->members.size() + 1);
		targets.reserve(pGroup->members.size());
		for (const std::string& uid: pGroup->members)
		{
			const bool sender = uid == message.fromUid;
			if (sender && !_limits.recordSent) continue;
			const std::size_t index = shardIndex(uid);
			indices.push_back(index);
			targets.push_back(Target{&uid, sender, _shards[index].get(), nullptr});
		}
	}
	ShardLocks locks(*this, indices);
	Shard& senderShard = shardOf(message.fromUid);
	// A resend is recognised even if the sender has left the group since.
	std::string sender = positionKey(message.fromUid, message.fromDevice);
	if (findSent(senderShard, sender, message.clientMsgId, result)) return;
	if (!member)
	{
		result.outcome = AppendResult::NOT_MEMBER;
		return;
	}
	for (Target& t: targets)
	{
		auto inbox = t.pShard->inboxes.find(*t.pUid);
		if (inbox != t.pShard->inboxes.end()) t.pInbox = &inbox->second;
	}
	store(senderShard, std::move(sender), message, targets.data(), targets.size(), false, result);
	if (result.outcome == AppendResult::STORED) result.members = pGroup->members;
}


bool MemoryMessageStore::findSent(const Shard& senderShard, const std::string& sender, Poco::UInt64 clientMsgId, AppendResult& result)
{
	auto known = senderShard.senders.find(sender);
	if (known == senderShard.senders.end()) return false;
	auto it = known->second.find(clientMsgId);
	if (it == known->second.end()) return false;
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


void MemoryMessageStore::store(Shard& senderShard, std::string&& sender, NewMessage& message, Target* targets, std::size_t n, bool checkPending, AppendResult& result)
{
	// A 1:1 message's first target is its recipient; group messages are
	// never refused for a full member (the class comment).
	if (checkPending && targets[0].pInbox && targets[0].pInbox->pending >= _limits.maxPendingPerRecipient)
	{
		result.outcome = AppendResult::RECIPIENT_FULL;
		return;
	}
	const std::size_t ownCost = n > 0 ? messageCost(message) : 0; // kept only while a row refers to it
	std::size_t cost = ownCost + n * rowCost();
	for (std::size_t i = 0; i < n; ++i)
	{
		if (!targets[i].pInbox) cost += inboxCost(*targets[i].pUid);
	}
	if (!reserve(cost))
	{
		result.outcome = AppendResult::STORE_FULL;
		return;
	}
	// The inboxes first: the targets may name them by the message's own
	// uids, which then move into the stored copy.
	for (std::size_t i = 0; i < n; ++i)
	{
		if (!targets[i].pInbox) targets[i].pInbox = &targets[i].pShard->inboxes[*targets[i].pUid];
	}
	const Poco::UInt64 msgId = _lastMsgId.fetch_add(1, std::memory_order_relaxed) + 1;
	const Poco::Int64 timestampMs = message.timestampMs;
	const Poco::UInt64 clientMsgId = message.clientMsgId;
	if (n > 0)
	{
		Message* pMessage = new Message;
		pMessage->msgId = msgId;
		pMessage->fromUid = std::move(message.fromUid);
		pMessage->fromDevice = std::move(message.fromDevice);
		pMessage->toUid = std::move(message.toUid);
		pMessage->groupId = std::move(message.toGroup);
		pMessage->payload = std::move(message.payload);
		pMessage->timestampMs = timestampMs;
		pMessage->cost = ownCost;
		// Published by the shard locks the caller holds.
		pMessage->rows.store(n, std::memory_order_relaxed);
		const bool pruning = _limits.historyRetention > 0 || _limits.retention > 0;
		std::size_t freed = 0;
		for (std::size_t i = 0; i < n; ++i)
		{
			Inbox& inbox = *targets[i].pInbox;
			// Pending unless a device acknowledged it already (a position
			// above every id the inbox has seen).
			const bool counted = !targets[i].sent && !acknowledgedByAny(inbox, msgId);
			if (counted) ++inbox.pending;
			// Every inbox the message goes to is locked: its id is the highest of each.
			poco_assert_dbg(inbox.rows.empty() || inbox.rows.back().msgId < msgId);
			if (inbox.rows.capacity() == 0) inbox.rows.reserve(INITIAL_ROWS);
			inbox.rows.push_back(Row{msgId, pMessage, targets[i].sent, counted});
			++inbox.live;
			if (pruning) prune(inbox, timestampMs, freed);
		}
		if (freed > 0) _bytes.fetch_sub(freed, std::memory_order_relaxed);
	}
	result.outcome = AppendResult::STORED;
	result.msgId = msgId;
	result.timestampMs = timestampMs;
	remember(senderShard, std::move(sender), clientMsgId, result);
}


void MemoryMessageStore::remember(Shard& senderShard, std::string&& sender, Poco::UInt64 clientMsgId, const AppendResult& result)
{
	senderShard.senders[sender].emplace(clientMsgId, Sent{result.msgId, result.timestampMs});
	senderShard.acceptedOrder.push_back(Accepted{std::move(sender), clientMsgId});
	if (senderShard.acceptedOrder.size() > _entriesPerShard) forgetOldest(senderShard);
}


void MemoryMessageStore::forgetOldest(Shard& senderShard)
{
	const Accepted& oldest = senderShard.acceptedOrder.front();
	auto sender = senderShard.senders.find(oldest.sender);
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


bool MemoryMessageStore::acknowledgedByAll(const Inbox& inbox, Poco::UInt64 msgId)
{
	if (inbox.devices.empty()) return false;
	for (const Device& d: inbox.devices)
	{
		if (msgId > d.position && d.above.count(msgId) == 0) return false;
	}
	return true;
}


bool MemoryMessageStore::acknowledgedByAny(const Inbox& inbox, Poco::UInt64 msgId)
{
	for (const Device& d: inbox.devices)
	{
		if (msgId <= d.position || d.above.count(msgId) > 0) return true;
	}
	return false;
}


Poco::UInt64 MemoryMessageStore::lowestPosition(const Inbox& inbox)
{
	if (inbox.devices.empty()) return 0;
	Poco::UInt64 lowest = inbox.devices.front().position;
	for (const Device& d: inbox.devices) lowest = std::min(lowest, d.position);
	return lowest;
}


std::size_t MemoryMessageStore::lowerBound(const Inbox& inbox, Poco::UInt64 msgId)
{
	auto it = std::lower_bound(inbox.rows.begin() + static_cast<std::ptrdiff_t>(inbox.head), inbox.rows.end(), msgId,
		[](const Row& row, Poco::UInt64 id) { return row.msgId < id; });
	return static_cast<std::size_t>(it - inbox.rows.begin());
}


std::size_t MemoryMessageStore::upperBound(const Inbox& inbox, Poco::UInt64 msgId)
{
	auto it = std::upper_bound(inbox.rows.begin() + static_cast<std::ptrdiff_t>(inbox.head), inbox.rows.end(), msgId,
		[](Poco::UInt64 id, const Row& row) { return id < row.msgId; });
	return static_cast<std::size_t>(it - inbox.rows.begin());
}


std::size_t MemoryMessageStore::unref(const Message* pMessage)
{
	// A count of 1 is this row's own: no other row can still be there
	// (counts only fall), so the common single-row message needs no
	// atomic write.
	if (pMessage->rows.load(std::memory_order_acquire) != 1 && pMessage->rows.fetch_sub(1, std::memory_order_acq_rel) != 1) return 0;
	const std::size_t cost = pMessage->cost;
	delete pMessage;
	return cost;
}


void MemoryMessageStore::settle(Inbox& inbox, std::size_t first, std::size_t last, std::size_t& freed)
{
	const bool history = _limits.historyRetention > 0;
	for (std::size_t i = first; i < last; ++i)
	{
		Row& row = inbox.rows[i];
		if (!row.pMessage) continue;
		// Pending: received, and acknowledged by no device (a device that
		// never comes back does not make its uid full).
		const bool counted = !row.sent && !acknowledgedByAny(inbox, row.msgId);
		if (counted != row.counted)
		{
			if (counted) ++inbox.pending;
			else --inbox.pending;
			row.counted = counted;
		}
		// Without history a row no device waits for is of no further use.
		if (!history && !counted && acknowledgedByAll(inbox, row.msgId)) removeRow(inbox, i, freed);
	}
}


void MemoryMessageStore::removeRow(Inbox& inbox, std::size_t index, std::size_t& freed)
{
	Row& row = inbox.rows[index];
	if (row.counted) --inbox.pending;
	for (Device& d: inbox.devices)
	{
		if (row.msgId > d.position && d.above.erase(row.msgId) > 0) freed += ABOVE_COST;
	}
	freed += unref(row.pMessage);
	row.pMessage = nullptr;
	row.counted = false;
	--inbox.live;
}


void MemoryMessageStore::compact(Inbox& inbox, std::size_t& freed)
{
	std::vector<Row>& rows = inbox.rows;
	const std::size_t before = rows.size() - inbox.head;
	while (inbox.head < rows.size() && !rows[inbox.head].pMessage) ++inbox.head;
	while (rows.size() > inbox.head && !rows.back().pMessage) rows.pop_back();
	const std::size_t after = rows.size() - inbox.head;
	if (after == 0)
	{
		rows.clear();
		inbox.head = 0;
		if (rows.capacity() > INITIAL_ROWS) std::vector<Row>().swap(rows);
	}
	else if (inbox.head >= after)
	{
		// Half the vector lies before head: move the rest down (each row
		// moves at most once for every row trimmed before it).
		rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(inbox.head));
		inbox.head = 0;
		if (rows.capacity() > 4 * rows.size() && rows.capacity() > INITIAL_ROWS) rows.shrink_to_fit();
	}
	freed += (before - after) * rowCost();
}


std::size_t MemoryMessageStore::prune(Inbox& inbox, Poco::Int64 nowMs, std::size_t& freed)
{
	return prune(inbox, nowMs, static_cast<Poco::Int64>(_limits.historyRetention) * 1000, freed);
}


std::size_t MemoryMessageStore::prune(Inbox& inbox, Poco::Int64 nowMs, Poco::Int64 historyKeptMs, std::size_t& freed)
{
	const Poco::Int64 never = std::numeric_limits<Poco::Int64>::min();
	const Poco::Int64 expiredBefore = _limits.retention > 0 ? nowMs - static_cast<Poco::Int64>(_limits.retention) * 1000 : never;
	const bool history = _limits.historyRetention > 0 && !inbox.devices.empty();
	const Poco::Int64 historyBefore = history ? nowMs - historyKeptMs : never;
	const Poco::UInt64 lowest = lowestPosition(inbox);
	std::size_t removed = 0;
	for (std::size_t i = inbox.head; i < inbox.rows.size(); ++i)
	{
		const Row& row = inbox.rows[i];
		if (!row.pMessage) continue;
		const Poco::Int64 sentMs = row.pMessage->timestampMs;
		if (sentMs >= expiredBefore && (row.msgId > lowest || sentMs >= historyBefore)) break;
		removeRow(inbox, i, freed);
		++removed;
	}
	if (removed > 0) compact(inbox, freed);
	return removed;
}


bool MemoryMessageStore::forgettable(const Inbox& inbox) const
{
	// Device "" is the only one under devicePolicy = single: with no row
	// left its position tells nothing (every later message lies above it).
	// Another device's must stay, or it would start as a new one.
	return inbox.live == 0 && (inbox.devices.empty() || (inbox.devices.size() == 1 && inbox.devices.front().name.empty()));
}


void MemoryMessageStore::forget(Shard& shard, InboxMap::iterator it, std::size_t& freed)
{
	freed += inboxCost(it->first) + (it->second.rows.size() - it->second.head) * rowCost();
	for (const Device& d: it->second.devices) freed += deviceCost(d.name) + d.above.size() * ABOVE_COST;
	shard.inboxes.erase(it);
}


void MemoryMessageStore::copy(const Message& message, bool sent, std::vector<StoredMessage>& messages)
{
	messages.push_back(message);
	messages.back().sent = sent;
}


void MemoryMessageStore::readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done)
{
	PendingPage page;
	{
		Shard& shard = shardOf(reader.uid);
		Poco::FastMutex::ScopedLock lock(shard.mutex);
		auto in = shard.inboxes.find(reader.uid);
		if (in != shard.inboxes.end() && limit > 0)
		{
			const Inbox& inbox = in->second;
			const Device* pDevice = nullptr;
			Poco::UInt64 highest = 0;
			for (const Device& d: inbox.devices)
			{
				if (d.name == reader.device) pDevice = &d;
				highest = std::max(highest, d.position);
			}
			// A device without a position starts at the highest of its uid's.
			const Poco::UInt64 start = std::max(afterMsgId, pDevice ? pDevice->position : highest);
			page.messages.reserve(std::min(limit, inbox.live));
			for (std::size_t i = upperBound(inbox, start); i < inbox.rows.size() && page.messages.size() < limit; ++i)
			{
				const Row& row = inbox.rows[i];
				if (!row.pMessage) continue;
				if (row.sent && (!reader.carbons || row.pMessage->fromDevice == reader.device)) continue;
				if (pDevice && pDevice->above.count(row.msgId)) continue;
				copy(*row.pMessage, row.sent, page.messages);
			}
		}
	}
	done(std::move(page));
}


std::vector<StoredMessage> MemoryMessageStore::pending(const std::string& uid, Poco::UInt64 afterMsgId, std::size_t limit)
{
	InboxReader reader;
	reader.uid = uid;
	std::vector<StoredMessage> result;
	readPending(reader, afterMsgId, limit, [&result](PendingPage&& page) { result = std::move(page.messages); });
	return result;
}


MemoryMessageStore::InboxMap::iterator MemoryMessageStore::inboxOf(Shard& shard, const std::string& uid)
{
	auto it = shard.inboxes.find(uid);
	if (it != shard.inboxes.end()) return it;
	// Holds a device's position until forgettable() says it tells nothing.
	_bytes.fetch_add(inboxCost(uid), std::memory_order_relaxed);
	return shard.inboxes.emplace(uid, Inbox()).first;
}


std::size_t MemoryMessageStore::findDevice(Inbox& inbox, const std::string& device, Poco::UInt64 position, std::size_t& freed)
{
	std::size_t index = 0;
	while (index < inbox.devices.size() && inbox.devices[index].name != device) ++index;
	if (index < inbox.devices.size()) return index;
	// A new device may lower the lowest position, and it has not
	// acknowledged what lies above its own: settle from the lower one.
	const Poco::UInt64 lowest = inbox.devices.empty() ? 0 : lowestPosition(inbox);
	inbox.devices.push_back(Device{device, position, std::set<Poco::UInt64>()});
	_bytes.fetch_add(deviceCost(device), std::memory_order_relaxed);
	settle(inbox, upperBound(inbox, std::min(lowest, position)), inbox.rows.size(), freed);
	return index;
}


void MemoryMessageStore::openDevice(const std::string& uid, const std::string& device)
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto in = shard.inboxes.find(uid);
	// Protocol 1.0's path (acknowledge()): nothing to record.
	if (device.empty() && _limits.historyRetention == 0 && (in == shard.inboxes.end() || in->second.devices.empty())) return;
	if (in == shard.inboxes.end()) in = inboxOf(shard, uid);
	Inbox& inbox = in->second;
	Poco::UInt64 highest = 0;
	for (const Device& d: inbox.devices) highest = std::max(highest, d.position);
	std::size_t freed = 0;
	findDevice(inbox, device, highest, freed);
	compact(inbox, freed);
	if (forgettable(inbox)) forget(shard, in, freed);
	_bytes.fetch_sub(freed, std::memory_order_relaxed);
}


void MemoryMessageStore::acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds)
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto in = inboxOf(shard, uid);
	Inbox& inbox = in->second;
	std::size_t freed = 0;
	if (device.empty() && _limits.historyRetention == 0 && inbox.devices.empty())
	{
		// Protocol 1.0's path: device "" alone (devicePolicy single), no
		// history. What it acknowledged goes at once, so the rows left
		// are exactly those above its position it has not acknowledged:
		// it needs no record (a device without one starts at 0).
		const std::size_t end = upperBound(inbox, position);
		for (std::size_t i = inbox.head; i < end; ++i)
		{
			if (inbox.rows[i].pMessage) removeRow(inbox, i, freed);
		}
		for (Poco::UInt64 id: msgIds)
		{
			const std::size_t row = lowerBound(inbox, id);
			if (row < inbox.rows.size() && inbox.rows[row].msgId == id && inbox.rows[row].pMessage) removeRow(inbox, row, freed);
		}
		compact(inbox, freed);
		if (forgettable(inbox)) forget(shard, in, freed);
		_bytes.fetch_sub(freed, std::memory_order_relaxed);
		return;
	}
	const std::size_t known = inbox.devices.size();
	const std::size_t index = findDevice(inbox, device, position, freed);
	Device& d = inbox.devices[index];
	if (index < known && position > d.position)
	{
		// Only the rows it passes change: the lowest position, if it
		// moves, moves within them too.
		const Poco::UInt64 before = d.position;
		d.position = position;
		auto end = d.above.upper_bound(position);
		freed += static_cast<std::size_t>(std::distance(d.above.begin(), end)) * ABOVE_COST;
		d.above.erase(d.above.begin(), end);
		settle(inbox, upperBound(inbox, before), upperBound(inbox, position), freed);
	}
	for (Poco::UInt64 id: msgIds)
	{
		if (id <= d.position || d.above.size() >= MAX_ACKED_ABOVE) continue;
		const std::size_t row = lowerBound(inbox, id);
		if (row == inbox.rows.size() || inbox.rows[row].msgId != id || !inbox.rows[row].pMessage) continue;
		if (!d.above.insert(id).second) continue;
		_bytes.fetch_add(ABOVE_COST, std::memory_order_relaxed);
		settle(inbox, row, row + 1, freed);
	}
	compact(inbox, freed);
	if (forgettable(inbox)) forget(shard, in, freed);
	_bytes.fetch_sub(freed, std::memory_order_relaxed);
}


std::size_t MemoryMessageStore::pendingCount(const std::string& uid)
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto in = shard.inboxes.find(uid);
	return in == shard.inboxes.end() ? 0 : in->second.pending;
}


std::size_t MemoryMessageStore::cleanup(Poco::Int64 nowMs)
{
	return cleanup(nowMs, static_cast<Poco::Int64>(_limits.historyRetention) * 1000);
}


std::size_t MemoryMessageStore::cleanup(Poco::Int64 nowMs, Poco::Int64 historyKeptMs)
{
	if (_limits.historyRetention == 0 && _limits.retention == 0) return 0;
	std::size_t removed = 0;
	for (const auto& pShard: _shards)
	{
		std::size_t freed = 0;
		{
			Poco::FastMutex::ScopedLock lock(pShard->mutex);
			for (auto it = pShard->inboxes.begin(); it != pShard->inboxes.end();)
			{
				removed += prune(it->second, nowMs, historyKeptMs, freed);
				if (forgettable(it->second))
				{
					auto gone = it++;
					forget(*pShard, gone, freed);
				}
				else
				{
					++it;
				}
			}
		}
		_bytes.fetch_sub(freed, std::memory_order_relaxed);
	}
	return removed;
}


void MemoryMessageStore::readHistory(const HistoryQuery& query, HistoryCallback done)
{
	HistoryPage page;
	if (!query.groupId.empty())
	{
		bool member = false;
		{
			Poco::FastMutex::ScopedLock lock(_groupsMutex);
			auto it = _groups.find(query.groupId);
			member = it != _groups.end()
				&& std::binary_search(it->second->members.begin(), it->second->members.end(), query.uid);
		}
		if (!member)
		{
			page.notMember = true;
			done(std::move(page));
			return;
		}
	}
	{
		Shard& shard = shardOf(query.uid);
		Poco::FastMutex::ScopedLock lock(shard.mutex);
		auto in = shard.inboxes.find(query.uid);
		if (in != shard.inboxes.end())
		{
			const Inbox& inbox = in->second;
			std::size_t i = query.beforeMsgId ? lowerBound(inbox, query.beforeMsgId) : inbox.rows.size();
			std::size_t bytes = 0;
			while (i > inbox.head)
			{
				const Row& row = inbox.rows[--i];
				if (!row.pMessage) continue;
				const Message& m = *row.pMessage;
				if (m.timestampMs < query.sinceMs) continue;
				if (!query.groupId.empty() && m.groupId != query.groupId) continue;
				// The conversation with withUid: what it sent uid, and what uid sent it.
				if (!query.withUid.empty() && (!m.groupId.empty() || (row.sent ? m.toUid : m.fromUid) != query.withUid)) continue;
				const std::size_t size = historyBytes(m);
				if (page.messages.size() >= query.limit || (query.maxBytes > 0 && !page.messages.empty() && bytes + size > query.maxBytes))
				{
					page.more = true;
					break;
				}
				copy(m, row.sent, page.messages);
				bytes += size;
			}
		}
	}
	done(std::move(page));
}


std::shared_ptr<MemoryMessageStore::GroupEntry> MemoryMessageStore::group(const std::string& gid) const
{
	Poco::FastMutex::ScopedLock lock(_groupsMutex);
	auto it = _groups.find(gid);
	return it == _groups.end() ? nullptr : it->second;
}


void MemoryMessageStore::changeGroup(const GroupChange& change, GroupCallback done)
{
	GroupResult result;
	{
		// The map's lock, then the group's: an append to the group that
		// holds it finishes first, and later ones see the change.
		Poco::FastMutex::ScopedLock lock(_groupsMutex);
		auto it = _groups.find(change.gid);
		std::unique_lock<Poco::FastMutex> groupLock;
		if (it != _groups.end()) groupLock = std::unique_lock<Poco::FastMutex>(it->second->mutex);
		if (change.kind != GroupChange::PUT && it == _groups.end())
		{
			result.outcome = GroupResult::NOT_FOUND;
		}
		else if (change.kind == GroupChange::REMOVE)
		{
			_bytes.fetch_sub(groupCost(change.gid, it->second->members), std::memory_order_relaxed);
			it->second->removed = true;
			groupLock.unlock();
			_groups.erase(it);
			result.outcome = GroupResult::OK;
		}
		else
		{
			std::vector<std::string> members = change.membersAfter(it == _groups.end() ? std::vector<std::string>() : it->second->members);
			const std::size_t newCost = groupCost(change.gid, members);
			const std::size_t oldCost = it == _groups.end() ? 0 : groupCost(change.gid, it->second->members);
			if (members.size() > change.maxMembers)
			{
				result.outcome = GroupResult::TOO_MANY_MEMBERS;
				result.error = change.tooManyMembers(members.size());
			}
			else if (newCost > oldCost && !reserve(newCost - oldCost))
			{
				result.outcome = GroupResult::STORE_FULL;
				result.error = "the memory store is full";
			}
			else
			{
				if (newCost < oldCost) _bytes.fetch_sub(oldCost - newCost, std::memory_order_relaxed);
				if (it == _groups.end())
				{
					std::shared_ptr<GroupEntry> pGroup(new GroupEntry);
					pGroup->createdMs = change.nowMs;
					it = _groups.emplace(change.gid, std::move(pGroup)).first;
				}
				it->second->members = std::move(members);
				result.outcome = GroupResult::OK;
				result.group.gid = change.gid;
				result.group.members = it->second->members;
				result.group.createdMs = it->second->createdMs;
			}
		}
	}
	done(result);
}


bool MemoryMessageStore::findGroup(const std::string& gid, Group& group)
{
	Poco::FastMutex::ScopedLock lock(_groupsMutex);
	auto it = _groups.find(gid);
	if (it == _groups.end()) return false;
	group.gid = gid;
	group.members = it->second->members;
	group.createdMs = it->second->createdMs;
	return true;
}


std::vector<std::string> MemoryMessageStore::listGroups(const std::string& prefix, std::size_t limit, bool& truncated)
{
	std::vector<std::string> gids;
	truncated = false;
	Poco::FastMutex::ScopedLock lock(_groupsMutex);
	for (auto it = _groups.lower_bound(prefix); it != _groups.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
	{
		if (gids.size() == limit)
		{
			truncated = true;
			break;
		}
		gids.push_back(it->first);
	}
	return gids;
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
