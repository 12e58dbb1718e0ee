//
// UidDirectory.cpp
//
// Layer: session
//

#include "server/session/UidDirectory.h"
#include <algorithm>
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
		countDevices(0, 1);
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


UidDirectory::Claim UidDirectory::claimDevice(const std::string& uid, const SessionRef& session, const std::string& device, bool carbons, std::size_t maxDevices)
{
	Claim result;
	Device d;
	d.session = session;
	d.device = std::hash<std::string>()(device);
	d.carbons = carbons;
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	if (it == shard.entries.end())
	{
		shard.entries[uid].setFirst(d);
		countDevices(0, 1);
		return result;
	}
	Entry& e = it->second;
	if (e.device == d.device)
	{
		result.previous = e.session;
		e.setFirst(d);
		return result;
	}
	const std::size_t others = e.pOthers ? e.pOthers->size() : 0;
	for (std::size_t i = 0; i < others; ++i)
	{
		Device& other = (*e.pOthers)[i];
		if (other.device != d.device) continue;
		result.previous = other.session;
		other = d;
		return result;
	}
	if (1 + others >= maxDevices)
	{
		result.deviceLimit = true;
		return result;
	}
	if (!e.pOthers) e.pOthers.reset(new std::vector<Device>);
	e.pOthers->push_back(d);
	countDevices(1 + others, 2 + others);
	return result;
}


bool UidDirectory::release(const std::string& uid, const SessionRef& session)
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	if (it == shard.entries.end()) return false;
	Entry& e = it->second;
	if (e.session == session)
	{
		if (!e.pOthers || e.pOthers->empty())
		{
			shard.entries.erase(it);
			countDevices(1, 0);
			return true;
		}
		countDevices(1 + e.pOthers->size(), e.pOthers->size());
		e.setFirst(e.pOthers->front());
		e.pOthers->erase(e.pOthers->begin());
	}
	else
	{
		if (!e.pOthers) return false;
		auto other = std::find_if(e.pOthers->begin(), e.pOthers->end(), [&session](const Device& d) { return d.session == session; });
		if (other == e.pOthers->end()) return false;
		countDevices(1 + e.pOthers->size(), e.pOthers->size());
		e.pOthers->erase(other);
	}
	if (e.pOthers && e.pOthers->empty()) e.pOthers.reset();
	return true;
}


SessionRef UidDirectory::find(const std::string& uid) const
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	return it == shard.entries.end() ? SessionRef() : it->second.session;
}


void UidDirectory::sessions(const std::string& uid, std::vector<Member>& out) const
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	if (it == shard.entries.end()) return;
	const Entry& e = it->second;
	out.push_back(Member{e.session, e.carbons});
	if (!e.pOthers) return;
	for (const Device& d: *e.pOthers) out.push_back(Member{d.session, d.carbons});
}


std::size_t UidDirectory::devices(const std::string& uid) const
{
	Shard& shard = shardOf(uid);
	Poco::FastMutex::ScopedLock lock(shard.mutex);
	auto it = shard.entries.find(uid);
	if (it == shard.entries.end()) return 0;
	return 1 + (it->second.pOthers ? it->second.pOthers->size() : 0);
}


Poco::Int64 UidDirectory::uidsWithDevices(std::size_t devices) const
{
	if (devices == 0 || devices > DEVICE_COUNT_SLOTS) return 0;
	return _uidsByDevices[devices].load(std::memory_order_relaxed);
}


void UidDirectory::countDevices(std::size_t before, std::size_t after)
{
	if (before > 0) _uidsByDevices[std::min(before, DEVICE_COUNT_SLOTS)].fetch_sub(1, std::memory_order_relaxed);
	if (after > 0) _uidsByDevices[std::min(after, DEVICE_COUNT_SLOTS)].fetch_add(1, std::memory_order_relaxed);
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

void UidDirectory::uids(std::vector<std::string>& out) const
{
	for (auto& shard: _shards)
	{
		Poco::FastMutex::ScopedLock lock(shard.mutex);
		for (const auto& entry: shard.entries) out.push_back(entry.first);
	}
}

} } // namespace imgate::session
