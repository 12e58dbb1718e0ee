//
// RateTable.cpp
//
// Plugin: ratelimit
//

#include "plugins/ratelimit/RateTable.h"
#include <functional>

namespace imgate {
namespace ratelimit {

RateTable::RateTable(const Rate& rate, std::size_t maxKeys):
	_rate(rate),
	_maxPerShard(maxKeys / SHARDS > 0 ? maxKeys / SHARDS : 1)
{
}


RateTable::Result RateTable::take(const std::string& key, std::int64_t nowMicros)
{
	Shard& shard = _shards[std::hash<std::string>()(key) % SHARDS];
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(key);
	if (it == shard.entries.end())
	{
		if (shard.entries.size() >= _maxPerShard) makeRoom(shard, nowMicros);
		it = shard.entries.emplace(key, Entry()).first;
	}
	Entry& e = it->second;
	if (e.bucket.take(_rate, nowMicros))
	{
		e.refusals = 0;
		return Result{true, 0};
	}
	return Result{false, ++e.refusals};
}


void RateTable::makeRoom(Shard& shard, std::int64_t nowMicros)
{
	// Drop every bucket that has refilled; if none has, the least recently used.
	const std::int64_t refill = _rate.refillMicros();
	auto oldest = shard.entries.end();
	for (auto it = shard.entries.begin(); it != shard.entries.end();)
	{
		if (nowMicros - it->second.bucket.lastMicros() >= refill)
		{
			it = shard.entries.erase(it);
			continue;
		}
		if (oldest == shard.entries.end() || it->second.bucket.lastMicros() < oldest->second.bucket.lastMicros()) oldest = it;
		++it;
	}
	if (shard.entries.size() >= _maxPerShard && oldest != shard.entries.end()) shard.entries.erase(oldest);
}


std::size_t RateTable::size() const
{
	std::size_t n = 0;
	for (const Shard& s: _shards)
	{
		Poco::FastMutex::ScopedLock lock(s.mutex);
		n += s.entries.size();
	}
	return n;
}

} } // namespace imgate::ratelimit
