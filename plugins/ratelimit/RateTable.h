//
// RateTable.h
//
// Plugin: ratelimit
// Token buckets per key (an IP address), shared by threads, with bounded
// memory under a flood from many addresses.
//

#ifndef imgate_ratelimit_RateTable_INCLUDED
#define imgate_ratelimit_RateTable_INCLUDED

#include "plugins/ratelimit/TokenBucket.h"
#include "Poco/Mutex.h"
#include <array>
#include <string>
#include <unordered_map>

namespace imgate {
namespace ratelimit {

class RateTable
	/// Thread-safe: 16 shards, each locked only for one lookup. A bucket
	/// idle long enough to have refilled is dropped (it would behave like
	/// a new one). When a shard is full of active buckets, the least
	/// recently used one is evicted, so memory stays bounded by
	/// maxKeys whatever the number of addresses.
{
public:
	struct Result
	{
		bool allowed;
		unsigned refusals; /// Refusals of this key in a row (0 when allowed).
	};

	RateTable(const Rate& rate, std::size_t maxKeys);

	Result take(const std::string& key, std::int64_t nowMicros);

	std::size_t size() const;

private:
	struct Entry
	{
		TokenBucket bucket;
		unsigned refusals = 0;
	};
	struct Shard
	{
		mutable Poco::FastMutex mutex;
		std::unordered_map<std::string, Entry> entries;
	};
	static constexpr std::size_t SHARDS = 16;

	void makeRoom(Shard& shard, std::int64_t nowMicros);

	const Rate _rate;
	const std::size_t _maxPerShard;
	std::array<Shard, SHARDS> _shards;
};

} } // namespace imgate::ratelimit

#endif // imgate_ratelimit_RateTable_INCLUDED
