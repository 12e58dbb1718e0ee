//
// MessageStore.cpp
//
// Layer: store
//

#include "server/store/MessageStore.h"
#include <algorithm>
#include <iterator>

namespace imgate {
namespace store {

StoreMetrics::StoreMetrics():
	commitSeconds(metrics::Histogram::exponential(0.0001, 2, 16)),  // 0.1 ms .. 3.3 s
	commitSize(metrics::Histogram::exponential(1, 2, 13))           // 1 .. 4096
{
}


std::vector<std::string> GroupChange::membersAfter(const std::vector<std::string>& before) const
{
	std::vector<std::string> members = kind == PUT ? this->members : before;
	if (kind == MODIFY) members.insert(members.end(), add.begin(), add.end());
	std::sort(members.begin(), members.end());
	members.erase(std::unique(members.begin(), members.end()), members.end());
	if (kind != MODIFY || remove.empty()) return members;
	std::vector<std::string> removed = remove;
	std::sort(removed.begin(), removed.end());
	std::vector<std::string> kept;
	std::set_difference(members.begin(), members.end(), removed.begin(), removed.end(), std::back_inserter(kept));
	return kept;
}


std::string GroupChange::tooManyMembers(std::size_t count) const
{
	return "the group would have " + std::to_string(count) + " members; group.maxMembers is " + std::to_string(maxMembers);
}


StoreListener::~StoreListener()
{
}


MessageStore::~MessageStore()
{
}


bool MessageStore::announcesStored() const
{
	return false;
}


void MessageStore::setListener(StoreListener* pListener)
{
	_pListener.store(pListener, std::memory_order_release);
}


void MessageStore::announce(const std::shared_ptr<const StoredMessage>& pMessage, const std::vector<std::string>& members)
{
	if (StoreListener* pListener = _pListener.load(std::memory_order_acquire)) pListener->stored(pMessage, members);
}


const StoreMetrics* MessageStore::metrics() const
{
	return nullptr;
}


std::string positionKey(const std::string& uid, const std::string& device)
{
	std::string key;
	key.reserve(uid.size() + 1 + device.size());
	key += uid;
	key += '\0';
	key += device;
	return key;
}


void MessageStore::openDevice(const std::string&, const std::string&)
{
}


void MessageStore::readGroup(const std::string& gid, FindGroupCallback done)
{
	Group group;
	bool ok = true;
	bool found = false;
	try
	{
		found = findGroup(gid, group);
	}
	catch (Poco::Exception&)
	{
		ok = false;
	}
	done(ok, found, group);
}


bool MessageStore::writable(std::string&) const
{
	return true;
}


void MessageStore::start()
{
}


void MessageStore::close()
{
}


POCO_IMPLEMENT_EXCEPTION(StoreException, Poco::IOException, "Message store error")

} } // namespace imgate::store
