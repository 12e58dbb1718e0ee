//
// UidDirectory.cpp
//
// Layer: session
//

#include "server/session/UidDirectory.h"
#include <functional>

namespace imgate {
namespace session {

UidDirectory::UidDirectory(Poco::Int64 takeoverGuardMs):
	_guardMs(takeoverGuardMs)
{
}


UidDirectory::Shard& UidDirectory::shardOf(const std::string& uid) const
{
	return _shards[std::hash<std::string>()(uid) % SHARDS];
}


UidDirectory::Claim UidDirectory::claim(const std::string& uid, const SessionRef& session, const std::string& device, Poco::Int64 nowMs)
{
	Claim result;
	const std::size_t deviceHash = std::hash<std::string>()(device);
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	if (it == shard.entries.end())
	{
		Entry& e = shard.entries[uid];
		e.session = session;
		e.device = deviceHash;
		return result;
	}
	Entry& e = it->second;
	Poco::Int64 elapsed = nowMs - e.displacedAtMs;
	if (e.displaced && deviceHash == e.displacedDevice && deviceHash != e.device && elapsed < _guardMs)
	{
		result.refused = true;
		result.retryInMs = _guardMs - elapsed;
		return result;
	}
	result.previous = e.session;
	e.displaced = true;
	e.displacedDevice = e.device;
	e.displacedAtMs = nowMs;
	e.session = session;
	e.device = deviceHash;
	return result;
}


bool UidDirectory::release(const std::string& uid, const SessionRef& session)
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	if (it == shard.entries.end() || !(it->second.session == session)) return false;
	shard.entries.erase(it);
	return true;
}


SessionRef UidDirectory::find(const std::string& uid) const
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	return it == shard.entries.end() ? SessionRef() : it->second.session;
}


std::size_t UidDirectory::size() const
{
	std::size_t n = 0;
	for (auto& shard: _shards)
	{
		Poco::FastMutex::ScopedLock lock(shard.mutex);
		n += shard.entries.size();
	}
	return n;
}

} } // namespace imgate::session
