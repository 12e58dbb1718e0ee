//
// Session.h
//
// Layer: session
// One client connection speaking protocol v1: its login state, its
// heartbeat and login timeouts, its requests and how it closes.
//

#ifndef imgate_session_Session_INCLUDED
#define imgate_session_Session_INCLUDED

#include "server/net/Connection.h"
#include "server/net/EventLoop.h"
#include "server/net/PeerAddress.h"
#include "server/protocol/Command.h"
#include "server/plugin/FilterChain.h"
#include "server/protocol/FrameDecoder.h"
#include "server/session/Delivery.h"
#include "server/session/LogBudget.h"
#include "server/session/SessionRef.h"
#include "server/session/Transport.h"
#include "server/store/MessageStore.h"
#include <memory>
#include <string>

namespace imgate {
namespace v1 {
class LoginRequest;
class MessageSend;
}
namespace session {

class SessionManager;


class Session: public net::Connection
	/// One client connection: the protocol handler and login policy of
	/// protocol v1. Delivery (the window, store reads, retransmission)
	/// lives in a Delivery made only while needed.
	///
	/// Loop thread only (the loop that adopted the socket), for every
	/// member; the public entry points assert it in debug builds. Other
	/// threads name a session by ref() and post work to its loop.
	///
	/// Kept small on purpose (an idle session is a few hundred bytes): no
	/// std::function members, no buffers while idle; it keeps only a
	/// partial frame (the decoder lives on the stack for each read). A
	/// single timer entry serves the login timeout, the heartbeat timeout,
	/// retransmission and the drain kick: it fires at the earliest of them
	/// and is re-armed lazily, so frames never touch the wheel.
	///
	/// Closing: LOGOUT, a KICK and an ERROR that closes stop reading at
	/// once, but the connection stays open (at most session.closeLinger)
	/// until every MSG_SEND read before has been answered: a KICK decided
	/// meanwhile goes out after those answers, as the last frame.
{
public:
	Session(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, SessionManager& manager);
	~Session() override;

	SessionRef ref() const;
	const std::string& uid() const;
	bool loggedIn() const;

	const std::string& positionDevice() const;
		/// The device whose position in the uid's inbox this session reads
		/// and moves: "" under session.devicePolicy = single (one position
		/// per uid), deviceKey(device()) under perDevice.

	static std::string deviceKey(const std::string& device);
		/// The name a device is known by: device, or "default" if empty.

	store::InboxReader inboxReader() const;
		/// Whose inbox, which position, whether with carbons.

	void deliverPending();
		/// Fills the delivery window from the store (Delivery::fill()).

	void deliverStored(const store::StoredMessage& message);
		/// A message just stored (SessionManager::stored()): delivered at
		/// once if it belongs to this session's stream and the session is in
		/// step with its inbox, else read from the store (Delivery::take()).

	void onPending(store::PendingPage& page, bool retransmission);
		/// The store's answer to a read this session issued (deliverPending()
		/// or a retransmission).

	void sendAck(Poco::UInt32 seq, Poco::UInt64 clientMsgId, const store::AppendResult& result);

	void deliverTransient(const std::string& frame);
		/// A transient MSG_DELIVER (already encoded) for this session, if
		/// it is logged in and reading.

	void answerTransient(Poco::UInt32 seq, Poco::UInt64 clientMsgId, protocol::Status status);
		/// MSG_SEND_ACK of a transient MSG_SEND seq (msg_id 0).

	void sendHistory(Poco::UInt32 seq, store::HistoryPage& page);
		/// The store's answer to this session's HISTORY seq: HISTORY_RESP.
		/// Answers a MSG_SEND once the store has decided; also while the
		/// session is closing after LOGOUT or a KICK.

	void kick(protocol::KickReason reason, const std::string& message);
		/// Sends KICK, then closes after flushing; if MSG_SENDs are still
		/// waiting for the store, their answers go first (within the
		/// linger). Ignored once the session is closing.

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

	virtual Transport transport() const;
		/// How the client is connected: TCP here; TransportSession says
		/// which other.

protected:
	void onData(const char* data, std::size_t length) override;
	void onTimer() override;
	void onClose() override;
	void onWriteProgress() override;
	bool expectsOutput() const override;
		/// True while MSG_SENDs wait for the store's answer.

	void closeAfterLinger();
		/// closeAfterFlush() bounded by the configured close linger.
	void logWarning(const std::string& text);
		/// A warning naming the session, within its LogBudget (and, before
		/// login, admitUnauthenticatedLine()).

private:
	enum State: Poco::UInt8
	{
		CONNECTED,
		LOGGED_IN
	};

	enum
	{
		MAX_HEARTBEAT_TIMEOUT = 86400, /// s, as session.heartbeatTimeout allows
		UNAUTHENTICATED_LOG_LINES = 60, /// a minute, per loop
		DEFAULT_HISTORY_LIMIT = 50,     /// HistoryRequest.limit 0
		MAX_HISTORY_LIMIT = 200,        /// a larger limit means this
		HISTORY_RESPONSE_OVERHEAD = 16, /// HistoryResponse bytes besides its entries (more), at most
		MAX_HISTORY_READS = 2           /// HISTORY requests a session may have waiting for the store; more get RATE_LIMITED
	};

	static constexpr const char* PROTOCOL_VERSION = "1.1"; /// LoginResponse.protocol

	struct Farewell
		/// The last frame, decided while MSG_SENDs still wait for their
		/// answers: a KICK, or the ERROR of a stream that cannot go on.
	{
		protocol::Command command; /// KICK or ERROR.
		protocol::KickReason reason; /// KICK.
		protocol::Status status;   /// ERROR.
		Poco::UInt32 seq;          /// ERROR.
		std::string message;
	};

	void handleFrame(const protocol::Frame& frame);
	bool filterFrame(const protocol::Frame& frame, const imgate::v1::MessageSend* pSend);
		/// The plugins' verdict on a frame (pSend: a MSG_SEND's parsed
		/// body, for FrameInfo's 1.3 fields); answers and returns false if
		/// a filter stops it.
	void refuse(const protocol::Frame& frame, const imgate::Verdict& verdict, const imgate::v1::MessageSend* pSend = nullptr);
		/// Answers a request a filter stopped; closes for BAN, BANNED and a
		/// refused login (AUTH_FAILED).

	void handleLogin(const protocol::Frame& frame);
		/// parseLogin(), authorizeLogin(), completeLogin().
	bool parseLogin(const protocol::Frame& frame, imgate::v1::LoginRequest& request);
		/// Checks the body and its fields; answers and returns false if bad.
	bool authorizeLogin(const protocol::Frame& frame, const imgate::v1::LoginRequest& request);
		/// Draining, the plugins' verdicts, anonymous access, the uid's
		/// claim; answers and returns false if refused.
	void completeLogin(const protocol::Frame& frame, const imgate::v1::LoginRequest& request);
		/// The session is logged in: LOGIN_RESP, then the pending messages.

	void handleSend(const protocol::Frame& frame);
		/// Parses once, then the filters, the login check and the body's
		/// checks; stores, or delivers a transient message.
	void refuseSend(Poco::UInt32 seq, Poco::UInt64 clientMsgId, protocol::Status status);
		/// MSG_SEND_ACK with an error status (counted).
	void handleDeliverAck(const protocol::Frame& frame);
	void handleHistory(const protocol::Frame& frame);
	void sendTransient(Poco::UInt32 seq, imgate::v1::MessageSend& request);
	void farewellIfAnswered();
		/// Sends the KICK or ERROR held back once every request is answered.
	void failRequest(const protocol::Frame& frame, protocol::Status status, const std::string& message, const imgate::v1::MessageSend* pSend = nullptr);
	void sendError(protocol::Status status, Poco::UInt32 seq, const std::string& message, bool log = true);
		/// ERROR (counted; logged within the budgets if log).
	void appendError(protocol::Status status, Poco::UInt32 seq, const std::string& message);
		/// The ERROR frame only.
	void failAndClose(protocol::Status status, Poco::UInt32 seq, const std::string& message);
		/// ERROR (after the answers to earlier MSG_SENDs), then the linger close.
	void appendKick(protocol::KickReason reason, const std::string& message);
	void countError(protocol::Status status);
		/// An error response goes out (metrics).
	void countFrame(protocol::Command cmd);
		/// A frame came in (metrics).
	unsigned heartbeatTimeout() const;
		/// Seconds of silence before a logged-in session is closed: the
		/// configured timeout, scaled up if the session was told a longer
		/// heartbeat interval than the one configured now (SIGHUP).
	void logError(protocol::Status status, const std::string& message);
		/// A warning naming the session, within its LogBudget (and, before
		/// login, admitUnauthenticatedLine()).
	bool admitUnauthenticatedLine();
		/// Before login, whether a line about this connection may be
		/// logged: all connections of the loop that have not logged in
		/// share UNAUTHENTICATED_LOG_LINES a minute, so a flood of them
		/// (each timing out, or refused) cannot flood the log. Always true
		/// after login.
	void afterDelivery();
		/// Drops an idle Delivery (keeping its cursor) and re-arms the timer.
	Delivery& delivery();
		/// The Delivery, made if there is none.
	bool receives(const store::StoredMessage& message) const;
		/// Whether message is in this session's stream: received, or with
		/// carbons sent by another device of its uid.
	void rearm();
	Poco::UInt32 nextDeadline() const;

	// Ordered to leave no padding: an idle session must stay within its
	// malloc chunk (docs/architecture.md, "Memory per idle session"). The
	// first three bytes (the flags, then _toldInterval) fill the tail padding of net::Connection.
	State _state: 1;       /// CONNECTED until LOGIN succeeds.
	bool _perDevice: 1;    /// Logged in under session.devicePolicy = perDevice.
	bool _carbons: 1;      /// Logged in with carbons (perDevice only).
	Poco::UInt8 _historyReads: 2; /// HISTORY requests waiting for the store (at most MAX_HISTORY_READS).
	bool _inStep: 1;       /// Kept while no Delivery is (Delivery::inStep()).
	bool _draining: 1;     /// A drain kick is due at _since (scheduleDrainKick()).
	Poco::UInt16 _toldInterval = 0;  /// The heartbeat interval LOGIN_RESP gave the client, seconds.
	SessionManager& _manager;
	std::unique_ptr<std::vector<char>> _pPartialFrame; /// The only input state kept between reads; null when none.
	plugin::SessionSlots _slots;       /// Plugins' per-session state, allocated on first use.
	std::string _uid;
	std::unique_ptr<Delivery> _pDelivery; /// Null while nothing is in flight and no read is out.
	std::unique_ptr<Farewell> _pFarewell; /// Null but while a KICK or ERROR waits for answers.
	Poco::UInt64 _cursor = 0; /// The highest msgId delivered here, kept while no Delivery is (Delivery::cursor()).
	Poco::UInt32 _since;    /// Tick of accept (before login), of the last frame (after), or of the drain kick (_draining).
	Poco::UInt32 _loginAt = 0;
	std::string _device;    /// For the admin API (at most 128 bytes; 15 or fewer need no heap).
	net::PeerAddress _peer; /// Taken at accept: still known after a reset.
	Poco::UInt32 _unanswered = 0;    /// MSG_SENDs handed to the store and not yet answered.
	LogBudget _errorLog;
};


inline SessionRef Session::ref() const
{
	return SessionRef{loop().index(), id()};
}


inline const std::string& Session::uid() const
{
	return _uid;
}


inline const std::string& Session::positionDevice() const
{
	static const std::string SINGLE;
	static const std::string DEFAULT("default");
	return !_perDevice ? SINGLE : _device.empty() ? DEFAULT : _device;
}


inline store::InboxReader Session::inboxReader() const
{
	store::InboxReader reader;
	reader.uid = _uid;
	reader.device = positionDevice();
	reader.carbons = _carbons;
	return reader;
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
