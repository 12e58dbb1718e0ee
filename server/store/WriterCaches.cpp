//
// WriterCaches.cpp
//
// Layer: store
//

#include "server/store/WriterCaches.h"

namespace imgate {
namespace store {

void WriterCaches::forgetGroup(const std::string& gid)
{
	_members.erase(gid);
}


void WriterCaches::forgetGroups()
{
	_members.clear();
}


const WriterCaches::PendingCount* WriterCaches::pending(const std::string& uid) const
{
	auto it = _counts.find(uid);
	return it == _counts.end() ? nullptr : &it->second;
}


void WriterCaches::remember(const std::string& uid, const PendingCount& count)
{
	if (_counts.size() >= MAX_COUNTS && !_counts.count(uid)) _counts.clear();
	_counts[uid] = count;
}


void WriterCaches::makeRoom(std::size_t counts)
{
	if (_counts.size() + counts > MAX_COUNTS) _counts.clear();
}


void WriterCaches::setCount(const std::string& uid, std::size_t count)
{
	_counts[uid].count = count;
}


void WriterCaches::addOne(const std::string& uid)
{
	auto it = _counts.find(uid);
	if (it != _counts.end()) ++it->second.count;
}


void WriterCaches::acknowledged(const std::string& uid)
{
	auto it = _counts.find(uid);
	if (it != _counts.end()) it->second.exact = false;
}


void WriterCaches::forgetCount(const std::string& uid)
{
	_counts.erase(uid);
}


void WriterCaches::forgetCounts()
{
	_counts.clear();
}


void WriterCaches::clear()
{
	_counts.clear();
	_members.clear();
}

} } // namespace imgate::store
