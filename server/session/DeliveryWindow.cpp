//
// DeliveryWindow.cpp
//
// Layer: session
//

#include "server/session/DeliveryWindow.h"
#include "Poco/Bugcheck.h"
#include <algorithm>

namespace imgate {
namespace session {

DeliveryWindow::DeliveryWindow(metrics::Gauge& inFlight, Poco::UInt64 cursor):
	_inFlight(inFlight),
	_cursor(cursor)
{
}


DeliveryWindow::~DeliveryWindow()
{
	_inFlight.add(-static_cast<Poco::Int64>(_entries.size()));
}


std::vector<DeliveryWindow::InFlight>::iterator DeliveryWindow::forget(std::vector<InFlight>::iterator it)
{
	_inFlight.add(-1);
	return _entries.erase(it);
}


void DeliveryWindow::sent(Poco::UInt64 msgId, Poco::UInt32 tick)
{
	poco_assert (msgId > _cursor);
	_entries.push_back(InFlight{msgId, tick});
	_inFlight.add(1);
	_cursor = msgId;
}


bool DeliveryWindow::acknowledge(Poco::UInt64 msgId)
{
	// Entries are sorted by msgId (sent in increasing order).
	auto it = std::lower_bound(_entries.begin(), _entries.end(), msgId,
		[](const InFlight& e, Poco::UInt64 id) { return e.msgId < id; });
	if (it == _entries.end() || it->msgId != msgId) return false;
	_entries.erase(it);
	_inFlight.add(-1);
	return true;
}


Poco::UInt32 DeliveryWindow::oldestSentAt() const
{
	poco_assert (!_entries.empty());
	Poco::UInt32 oldest = _entries.front().sentAt;
	for (const auto& e: _entries)
	{
		if (static_cast<Poco::Int32>(e.sentAt - oldest) < 0) oldest = e.sentAt;
	}
	return oldest;
}

} } // namespace imgate::session
