//
// Session.h
//
// Layer: session
// One client connection speaking protocol v1: its login state, its
// heartbeat and login timeouts, and its delivery window.
//

#ifndef imgate_session_Session_INCLUDED
#define imgate_session_Session_INCLUDED

#include "server/net/Connection.h"
#include "server/net/EventLoop.h"
#include "server/net/PeerAddress.h"
#include "server/protocol/Command.h"
#include "server/plugin/FilterChain.h"
#include "server/protocol/FrameDecoder.h"
#include "server/session/DeliveryWindow.h"
#include "server/session/SessionRef.h"
#include "server/store/MessageStore.h"
#include <memory>
#include <string>

namespace imgate {
namespace session {

class SessionManager;


class Session: public net::Connection
	/// Loop thread only (the loop that adopted the socket), for every member.
	///
	/// Kept small on purpose (an idle session is a few hundred bytes): no
	/// std::function members, no buffers while idle; it keeps only a
	/// partial frame (the decoder lives on the stack for each read) and the
	/// window exists only while deliveries are in flight. A single timer entry serves the login timeout, the heartbeat
	/// timeout, retransmission and the drain kick: it fires at the earliest
	/// of them and is re-armed lazily, so frames never touch the wheel.
{
public:
	Session(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, SessionManager& manager);
	~Session() override;

	SessionRef ref() const;
	const std::string& uid() const;
	bool loggedIn() const;

	void deliverPending();
		/// Fills the delivery window from the store: asks the store for the
		/// next page; onPending() delivers it. At most one read is out per
		/// session; a call while one is out asks for another read after it.

	void onPending(store::PendingPage& page, bool retransmission);
		/// The store's answer to a read this session issued (deliverPending()
		/// or retransmit()).

	void sendAck(Poco::UInt32 seq, Poco::UInt64 clientMsgId, const store::AppendResult& result);
		/// Answers a MSG_SEND once the store has decided.

	void kick(protocol::KickReason reason, const std::string& message);
		/// Sends KICK, then closes after flushing.

	void scheduleDrainKick(Poco::UInt32 atTick);
		/// Kicks with reason SHUTDOWN at atTick.

	imgate::PeerInfo peerInfo() const;
		/// The peer's address and port, as taken at accept.

	const net::PeerAddress& peer() const;

	const std::string& device() const;
		/// LoginRequest.device of the login ("" before it).

	Poco::UInt32 loginTime() const;
		/// Unix seconds of the login (0 before it).

	std::size_t inFlight() const;
		/// Deliveries sent and not yet acknowledged.

protected:
	void onData(const char* data, std::size_t length) override;
	void onTimer() override;
	void onClose() override;
	void onWriteProgress() override;

private:
	enum State: Poco::UInt8
	{
		CONNECTED,
		LOGGED_IN
	};

	enum
	{
		MAX_RESERVED_WINDOW = 64, /// In-flight entries a new delivery window has room for (16 bytes each).
		MAX_ERROR_LOGS = 5,
		MAX_HEARTBEAT_TIMEOUT = 86400, /// s, as session.heartbeatTimeout allows
		ERROR_LOG_WINDOW_TICKS = 600 /// 60 s
	};

	void handleFrame(const protocol::Frame& frame);
	bool filterFrame(const protocol::Frame& frame);
	void refuse(const protocol::Frame& frame, const imgate::Verdict& verdict);
		/// Answers a request a filter stopped; closes for BAN, BANNED and a
		/// refused login (AUTH_FAILED).
	void handleLogin(const protocol::Frame& frame);
	void handleSend(const protocol::Frame& frame);
	void handleDeliverAck(const protocol::Frame& frame);
	void failRequest(const protocol::Frame& frame, protocol::Status status, const std::string& message);
	void sendError(protocol::Status status, Poco::UInt32 seq, const std::string& message);
	void failAndClose(protocol::Status status, Poco::UInt32 seq, const std::string& message);
	void countError(protocol::Status status);
		/// An error response goes out (metrics).
	void countFrame(protocol::Command cmd);
		/// A frame came in (metrics).
	unsigned heartbeatTimeout() const;
		/// Seconds of silence before a logged-in session is closed: the
		/// configured timeout, scaled up if the session was told a longer
		/// heartbeat interval than the one configured now (SIGHUP).
	void logError(protocol::Status status, const std::string& message);
		/// A warning naming the session, at most MAX_ERROR_LOGS per
		/// ERROR_LOG_WINDOW_TICKS per session; the next window's first line
		/// says how many were left out, so a flood cannot fill the disk.
	void retransmit(Poco::UInt32 now);
	void fetch(Poco::UInt64 afterMsgId, std::size_t limit, bool retransmission);
	void deliver(std::vector<store::StoredMessage>& messages);
	void resend(const std::vector<store::StoredMessage>& messages, Poco::UInt32 now);
	void rearm();
	Poco::UInt32 nextDeadline() const;

	SessionManager& _manager;
	std::unique_ptr<std::vector<char>> _pPartialFrame; /// The only input state kept between reads; null when none.
	plugin::SessionSlots _slots;       /// Plugins' per-session state, allocated on first use.
	std::string _uid;
	std::unique_ptr<DeliveryWindow> _pWindow;
	Poco::UInt32 _since;    /// Tick of accept (before login) or of the last frame (after).
	Poco::UInt32 _drainAt = 0;
	net::PeerAddress _peer; /// Taken at accept: still known after a reset.
	std::string _device;    /// For the admin API (at most 128 bytes; 15 or fewer need no heap).
	Poco::UInt32 _loginAt = 0;
	Poco::UInt32 _errorWindowAt = 0; /// Tick the current error-log window began.
	Poco::UInt16 _errorLogs = 0;     /// Error lines asked for in it (logged or not).
	Poco::UInt16 _toldInterval = 0;  /// The heartbeat interval LOGIN_RESP gave the client, seconds.
	State _state = CONNECTED;
	bool _fetching = false; /// A store read for this session is out.
	bool _refetch = false;  /// deliverPending() was called while it was out.
};


inline SessionRef Session::ref() const
{
	return SessionRef{loop().index(), id()};
}


inline const std::string& Session::uid() const
{
	return _uid;
}


inline const net::PeerAddress& Session::peer() const
{
	return _peer;
}


inline const std::string& Session::device() const
{
	return _device;
}


inline Poco::UInt32 Session::loginTime() const
{
	return _loginAt;
}


inline bool Session::loggedIn() const
{
	return _state == LOGGED_IN;
}

} } // namespace imgate::session

#endif // imgate_session_Session_INCLUDED
