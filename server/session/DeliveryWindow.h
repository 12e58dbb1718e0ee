//
// DeliveryWindow.h
//
// Layer: session
// The deliveries of one session that are sent but not yet acknowledged.
//

#ifndef imgate_session_DeliveryWindow_INCLUDED
#define imgate_session_DeliveryWindow_INCLUDED

#include "server/metrics/Counter.h"
#include "Poco/Types.h"
#include <vector>

namespace imgate {
namespace session {

class DeliveryWindow
	/// In-flight msg ids in send order (= msgId order) with the tick each
	/// was last sent at, and the cursor: the highest msgId ever sent in this
	/// session. Because the store returns a recipient's messages in msgId
	/// order and acknowledged ones disappear from it, every unacknowledged
	/// message with msgId <= cursor is in flight here.
	///
	/// A session holds a window only while something is in flight.
{
public:
	struct InFlight
	{
		Poco::UInt64 msgId;
		Poco::UInt32 sentAt;
	};

	explicit DeliveryWindow(metrics::Gauge& inFlight, Poco::UInt64 cursor = 0);
		/// Empty, starting at cursor (where the session's previous window
		/// left it). inFlight (the loop's gauge, which must outlive the
		/// window) follows the number of entries.

	~DeliveryWindow();
		/// Takes its entries off the gauge.

	std::size_t size() const;
	bool empty() const;
	Poco::UInt64 cursor() const;

	void sent(Poco::UInt64 msgId, Poco::UInt32 tick);
		/// Records a first delivery; msgId must be above cursor().

	bool acknowledge(Poco::UInt64 msgId);
		/// Removes msgId if in flight; returns whether it was.

	std::vector<InFlight>::iterator forget(std::vector<InFlight>::iterator it);
		/// Removes an entry (no longer pending in the store); returns the next.

	Poco::UInt32 oldestSentAt() const;
		/// Tick of the least recently sent entry. Not empty.

	std::vector<InFlight>& entries();
		/// Change sentAt through it; remove entries only with forget().
	const std::vector<InFlight>& entries() const;

private:
	metrics::Gauge& _inFlight;
	std::vector<InFlight> _entries;
	Poco::UInt64 _cursor = 0;
};


inline std::size_t DeliveryWindow::size() const
{
	return _entries.size();
}


inline bool DeliveryWindow::empty() const
{
	return _entries.empty();
}


inline Poco::UInt64 DeliveryWindow::cursor() const
{
	return _cursor;
}


inline std::vector<DeliveryWindow::InFlight>& DeliveryWindow::entries()
{
	return _entries;
}


inline const std::vector<DeliveryWindow::InFlight>& DeliveryWindow::entries() const
{
	return _entries;
}

} } // namespace imgate::session

#endif // imgate_session_DeliveryWindow_INCLUDED
