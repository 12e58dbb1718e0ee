//
// Delivery.h
//
// Layer: session
// The delivery engine of one logged-in session: the window of deliveries
// in flight, the store reads that fill it, retransmission.
//

#ifndef imgate_session_Delivery_INCLUDED
#define imgate_session_Delivery_INCLUDED

#include "server/session/DeliveryWindow.h"
#include "server/store/MessageStore.h"
#include "Poco/Types.h"
#include <vector>

namespace imgate {
namespace session {

class Session;
class SessionManager;


class Delivery
	/// Sends a session its pending messages as MSG_DELIVER, at most
	/// session.window at a time, in msg_id order, and sends again what is
	/// not acknowledged within delivery.retransmitTimeout.
	///
	/// The session makes one only while it is needed and drops it when
	/// idle() (nothing in flight, no store read out): an idle session
	/// holds a null pointer. Reads from the store are asynchronous and at
	/// most one is out at a time; a fill() while one is out asks for
	/// another read when its page has come back.
	///
	/// Loop thread only (the session's). Borrows the session and the
	/// manager, which outlive it.
{
public:
	Delivery(Session& session, SessionManager& manager);
	~Delivery();

	Delivery(const Delivery&) = delete;
	Delivery& operator = (const Delivery&) = delete;

	void fill();
		/// Asks the store for the next page if the window has room.

	void onPage(store::PendingPage& page, bool retransmission);
		/// The store's answer to a read this object issued: delivers or
		/// resends it, and reads again if fill() was called meanwhile.

	bool acknowledge(const Poco::UInt64* msgIds, std::size_t count, std::vector<Poco::UInt64>& acked);
		/// Takes the ids among msgIds[0, count) that are in flight here out of the window and
		/// adds them to acked; a client can never clear a message it was
		/// not sent. Returns whether any was.

	void retransmit(Poco::UInt32 now);
		/// Reads the window again from the store if its oldest delivery is
		/// due (the page comes back to onPage()).

	bool retransmitAt(Poco::UInt32& tick) const;
		/// The tick the oldest delivery in flight becomes due; false if
		/// nothing is in flight.

	std::size_t inFlight() const;
		/// Deliveries sent and not yet acknowledged.

	Poco::UInt64 position() const;
		/// Every message delivered here up to this msgId is acknowledged:
		/// below the oldest in flight, or the newest sent if none is. The
		/// store reads in msgId order, so nothing in between was skipped.

	bool idle() const;
		/// Nothing in flight and no read out or wanted: the session may
		/// drop this object.

private:
	void fetch(Poco::UInt64 afterMsgId, std::size_t limit, bool retransmission);
	void deliver(std::vector<store::StoredMessage>& messages);
	void resend(const std::vector<store::StoredMessage>& messages, Poco::UInt32 now);
	Poco::UInt32 retransmitTicks() const;

	Session& _session;
	SessionManager& _manager;
	DeliveryWindow _window;
	bool _fetching = false; /// A store read is out.
	bool _refetch = false;  /// fill() was called while it was out.
};


inline std::size_t Delivery::inFlight() const
{
	return _window.size();
}


inline Poco::UInt64 Delivery::position() const
{
	return _window.empty() ? _window.cursor() : _window.entries().front().msgId - 1;
}


inline bool Delivery::idle() const
{
	return _window.empty() && !_fetching && !_refetch;
}

} } // namespace imgate::session

#endif // imgate_session_Delivery_INCLUDED
