//
// RateTable.h
//
// Plugin: ratelimit
// Token buckets per key (an address block, imgate/Address.h), shared by threads,
// with bounded memory under a flood from many addresses.
//

#ifndef imgate_ratelimit_RateTable_INCLUDED
#define imgate_ratelimit_RateTable_INCLUDED

#include "plugins/ratelimit/TokenBucket.h"
#include "Poco/Mutex.h"
#include <array>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace imgate {
namespace ratelimit {

class RateTable
	/// Thread-safe: 16 shards, each locked only for one lookup, which costs
	/// O(1) whatever the number of keys. Each shard keeps its keys in
	/// least-recently-used order: a new key first drops up to two idle
	/// buckets that have refilled (they would behave like new ones), and
	/// when the shard is still full, the least recently used one. Memory
	/// stays bounded by maxKeys whatever the number of addresses.
	///
	/// The price of the bound: under a flood of more distinct addresses
	/// than maxKeys, a key idle for longer than it takes the flood to cycle
	/// through the table is forgotten and starts with a full bucket again.
	/// An address that keeps hammering is the most recently used, so it is
	/// the last to be forgotten.
{
public:
	struct Result
	{
		bool allowed;
		unsigned refusals; /// Refusals of this key in a row (0 when allowed).
	};

	RateTable(const Rate& rate, std::size_t maxKeys);

	Result take(const std::string& key, std::int64_t nowMicros);
		/// nowMicros must come from a monotonic clock.

	std::size_t size() const;

	void setRate(const Rate& rate);
		/// From now on every key's bucket refills at rate (SIGHUP); the
		/// tokens a bucket holds stay, capped at the new burst on its next take.

	Rate rate() const;


private:
	struct Entry
	{
		std::string key;
		TokenBucket bucket;
		unsigned refusals = 0;
	};
	using Lru = std::list<Entry>; /// Most recently used first.
	struct Shard
	{
		mutable Poco::FastMutex mutex;
		Lru lru;
		std::unordered_map<std::string_view, Lru::iterator> index; /// Views into lru's keys.
		Rate rate; /// A copy per shard, read and changed under its mutex.
	};
	static constexpr std::size_t SHARDS = 16;

	void makeRoom(Shard& shard, std::int64_t nowMicros);

	const std::size_t _maxPerShard;
	std::array<Shard, SHARDS> _shards;
};

} } // namespace imgate::ratelimit

#endif // imgate_ratelimit_RateTable_INCLUDED
