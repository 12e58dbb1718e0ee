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
namespace v1 {
class MessageDeliver;
}
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
	/// holds a null pointer, and keeps cursor() and inStep() for the next
	/// one. Reads from the store are asynchronous and at most one is out
	/// at a time; a fill() while one is out asks for another read when its
	/// page has come back.
	///
	/// In step: most messages never need a read. The store announces each
	/// message it stores to the sessions online (take()), in msgId order
	/// per inbox. Once a read has come back with less than it asked for
	/// (the inbox was exhausted) and no announcement arrived while it was
	/// out, every message of the session's stream up to the newest
	/// announcement is in the window or acknowledged: the session is in
	/// step, and an announced message goes out at once. An announcement it
	/// cannot send at once (the window is full, a read is out) puts it out
	/// of step: the next fill() reads from the store, as without
	/// announcements. In step, fill() has nothing to read. A store that
	/// does not announce (SessionManager::handsOverStored(): the memory
	/// store) never puts a session in step: every message is read.
	///
	/// Loop thread only (the session's). Borrows the session and the
	/// manager, which outlive it.
{
public:
	Delivery(Session& session, SessionManager& manager, Poco::UInt64 cursor, bool inStep);
		/// cursor and inStep: those of the session's previous Delivery (0
		/// and false for its first).
	~Delivery();

	Delivery(const Delivery&) = delete;
	Delivery& operator = (const Delivery&) = delete;

	void fill();
		/// Asks the store for the next page if the window has room and the
		/// session is not in step.

	void take(const store::StoredMessage& message);
		/// A message the store announced for this session's stream: sent
		/// at once if in step with room in the window and no read out;
		/// ignored if delivered already (at or below cursor(), a read got
		/// it first); else the session falls out of step and fill() reads.

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

	void retryRead(Poco::UInt32 now);
		/// Reads again if the last read failed and its retry is due.

	bool retryReadAt(Poco::UInt32& tick) const;
		/// The tick a failed read is tried again; false if none failed.

	enum
	{
		READ_RETRY_SECONDS = 1 /// Pause before a failed read is tried again.
	};

	std::size_t inFlight() const;
		/// Deliveries sent and not yet acknowledged.

	Poco::UInt64 position() const;
		/// Every message delivered here up to this msgId is acknowledged:
		/// below the oldest in flight, or the newest sent if none is. The
		/// store reads in msgId order, so nothing in between was skipped.

	bool idle() const;
		/// Nothing in flight and no read out or wanted: the session may
		/// drop this object.

	Poco::UInt64 cursor() const;
		/// The highest msgId delivered in the session.

	bool inStep() const;
		/// The session's deliveries are in step with its inbox (the class
		/// comment).

private:
	void fetch(Poco::UInt64 afterMsgId, std::size_t limit, bool retransmission);
	void deliver(std::vector<store::StoredMessage>& messages);
	void send(imgate::v1::MessageDeliver& deliver, const store::StoredMessage& message, std::string payload);
		/// A first delivery of message with payload (moved in where the
		/// message is not needed again); deliver is a body reused for each.
	void resend(const std::vector<store::StoredMessage>& messages, Poco::UInt32 now);
	Poco::UInt32 retransmitTicks() const;

	Session& _session;
	SessionManager& _manager;
	DeliveryWindow _window;
	std::size_t _asked = 0; /// The limit of the read out.
	bool _fetching = false; /// A store read is out.
	bool _refetch = false;  /// fill() was called while it was out.
	bool _retry = false;    /// The last read failed: fill() again at _retryAt.
	Poco::UInt32 _retryAt = 0;
	bool _inStep;
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
	return _window.empty() && !_fetching && !_refetch && !_retry;
}


inline Poco::UInt64 Delivery::cursor() const
{
	return _window.cursor();
}


inline bool Delivery::inStep() const
{
	return _inStep;
}

} } // namespace imgate::session

#endif // imgate_session_Delivery_INCLUDED
