//
// TimerWheel.cpp
//
// Layer: net
//

#include "server/net/TimerWheel.h"

namespace imgate {
namespace net {

TimerWheel::Entry::~Entry()
{
	if (scheduled()) TimerWheel::unlink(*this);
}


TimerWheel::TimerWheel(std::size_t slots):
	_slots(slots)
{
	for (auto& slot: _slots)
	{
		slot.head._pNext = slot.head._pPrev = &slot.head;
	}
}


TimerWheel::~TimerWheel()
{
	for (auto& slot: _slots)
	{
		while (slot.head._pNext != &slot.head) unlink(*slot.head._pNext);
		slot.head._pNext = slot.head._pPrev = nullptr;
	}
}


void TimerWheel::schedule(Entry& entry, Poco::UInt32 dueTick)
{
	if (entry.scheduled()) unlink(entry);
	if (static_cast<Poco::Int32>(dueTick - _now) <= 0) dueTick = _now + 1;
	entry._due = dueTick;
	link(_slots[dueTick % _slots.size()], entry);
}


void TimerWheel::cancel(Entry& entry)
{
	if (entry.scheduled()) unlink(entry);
}


void TimerWheel::link(Slot& slot, Entry& entry)
{
	entry._pPrev = slot.head._pPrev;
	entry._pNext = &slot.head;
	slot.head._pPrev->_pNext = &entry;
	slot.head._pPrev = &entry;
}


void TimerWheel::unlink(Entry& entry)
{
	entry._pPrev->_pNext = entry._pNext;
	entry._pNext->_pPrev = entry._pPrev;
	entry._pPrev = entry._pNext = nullptr;
}

} } // namespace imgate::net
