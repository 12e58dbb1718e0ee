//
// TimerWheel.h
//
// Layer: net
// A hashed timing wheel with intrusive entries: O(1) schedule and cancel,
// and per tick only the entries of one slot are looked at.
//

#ifndef imgate_net_TimerWheel_INCLUDED
#define imgate_net_TimerWheel_INCLUDED

#include "Poco/Types.h"
#include <vector>

namespace imgate {
namespace net {

class TimerWheel
	/// Ticks are abstract (the EventLoop advances one per 100 ms). An entry
	/// due beyond one revolution simply waits in its slot for later rounds.
	/// Not thread-safe: owned and used by one loop.
	///
	/// Callers keep timers cheap by scheduling lazily: a session refreshes a
	/// "last seen" tick on every frame and only reschedules when its timer
	/// fires, so a busy session costs O(1) per timeout, not per frame.
{
public:
	class Entry
		/// Base of anything that can be scheduled. An entry is in at most one
		/// wheel at a time; destroying a scheduled entry unlinks it.
	{
	public:
		Entry() = default;
		Entry(const Entry&) = delete;
		Entry& operator = (const Entry&) = delete;
		~Entry();

		bool scheduled() const;
		Poco::UInt32 due() const;

	private:
		friend class TimerWheel;
		Entry* _pPrev = nullptr;
		Entry* _pNext = nullptr;
		Poco::UInt32 _due = 0;
	};

	explicit TimerWheel(std::size_t slots = 1024);
	~TimerWheel();

	Poco::UInt32 now() const;
		/// The last tick advanced to.

	void schedule(Entry& entry, Poco::UInt32 dueTick);
		/// (Re)schedules entry to fire at dueTick; a tick not after now()
		/// fires on the next advance.

	static void cancel(Entry& entry);
		/// Unlinks entry if scheduled.

	template <class Fire>
	void advance(Poco::UInt32 toTick, Fire&& fire);
		/// Advances to toTick and calls fire(Entry&) for every entry that has
		/// become due, unscheduled before the call, so fire may reschedule it.

private:
	struct Slot
	{
		Entry head;
	};
	void link(Slot& slot, Entry& entry);
	static void unlink(Entry& entry);

	std::vector<Slot> _slots;
	Poco::UInt32 _now = 0;
};


inline bool TimerWheel::Entry::scheduled() const
{
	return _pNext != nullptr;
}


inline Poco::UInt32 TimerWheel::Entry::due() const
{
	return _due;
}


inline Poco::UInt32 TimerWheel::now() const
{
	return _now;
}


template <class Fire>
void TimerWheel::advance(Poco::UInt32 toTick, Fire&& fire)
{
	while (static_cast<Poco::Int32>(toTick - _now) > 0)
	{
		++_now;
		Slot& slot = _slots[_now % _slots.size()];
		// Detach the slot's list first: entries rescheduled by fire() into
		// this same slot wait for the next round instead of looping here.
		Entry pending;
		if (slot.head._pNext != &slot.head)
		{
			pending._pNext = slot.head._pNext;
			pending._pPrev = slot.head._pPrev;
			pending._pNext->_pPrev = &pending;
			pending._pPrev->_pNext = &pending;
			slot.head._pNext = slot.head._pPrev = &slot.head;
		}
		else continue;
		while (pending._pNext != &pending)
		{
			Entry* pEntry = pending._pNext;
			unlink(*pEntry);
			if (static_cast<Poco::Int32>(pEntry->_due - _now) > 0)
			{
				link(slot, *pEntry);
			}
			else
			{
				fire(*pEntry);
			}
		}
		pending._pNext = pending._pPrev = nullptr;
	}
}

} } // namespace imgate::net

#endif // imgate_net_TimerWheel_INCLUDED
