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
	_maxPerShard(maxKeys / SHARDS > 0 ? maxKeys / SHARDS : 1)
{
	for (Shard& shard: _shards) shard.rate = rate;
}


void RateTable::setRate(const Rate& rate)
{
	for (Shard& shard: _shards)
	{
		Poco::FastMutex::ScopedLock lock(shard.mutex);
		shard.rate = rate;
	}
}


Rate RateTable::rate() const
{
	Poco::FastMutex::ScopedLock lock(_shards[0].mutex);
	return _shards[0].rate;
}


RateTable::Result RateTable::take(const std::string& key, std::int64_t nowMicros)
{
	Shard& shard = _shards[std::hash<std::string>()(key) % SHARDS];
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto found = shard.index.find(std::string_view(key));
	Lru::iterator it;
	if (found == shard.index.end())
	{
		makeRoom(shard, nowMicros);
		shard.lru.push_front(Entry());
		it = shard.lru.begin();
		it->key = key;
		shard.index.emplace(std::string_view(it->key), it);
	}
	else
	{
		it = found->second;
		shard.lru.splice(shard.lru.begin(), shard.lru, it); // iterators stay valid
	}
	Entry& e = *it;
	if (e.bucket.take(shard.rate, nowMicros))
	{
		e.refusals = 0;
		return Result{true, 0};
	}
	return Result{false, ++e.refusals};
}


void RateTable::makeRoom(Shard& shard, std::int64_t nowMicros)
{
	// At most two refilled buckets per new key: each key is added once, so
	// this drops every idle one in time without an unbounded pass.
	const std::int64_t refill = shard.rate.refillMicros();
	for (int i = 0; i < 2 && !shard.lru.empty() && nowMicros - shard.lru.back().bucket.lastMicros() >= refill; ++i)
	{
		shard.index.erase(std::string_view(shard.lru.back().key));
		shard.lru.pop_back();
	}
	if (shard.lru.size() >= _maxPerShard)
	{
		shard.index.erase(std::string_view(shard.lru.back().key));
		shard.lru.pop_back();
	}
}


std::size_t RateTable::size() const
{
	std::size_t n = 0;
	for (const Shard& s: _shards)
	{
		Poco::FastMutex::ScopedLock lock(s.mutex);
		n += s.lru.size();
	}
	return n;
}

} } // namespace imgate::ratelimit
