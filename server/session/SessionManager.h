//
// SessionManager.h
//
// Layer: session
// The centre: creates sessions for adopted sockets, keeps one session per
// uid, routes messages between loops, and drains at shutdown.
//

#ifndef imgate_session_SessionManager_INCLUDED
#define imgate_session_SessionManager_INCLUDED

#include "server/net/Acceptor.h"
#include "server/net/LoopPool.h"
#include "server/plugin/FilterChain.h"
#include "server/protocol/Command.h"
#include "server/session/ClusterLink.h"
#include "server/session/LogBudget.h"
#include "server/session/SessionConfig.h"
#include "server/session/SessionMetrics.h"
#include "server/session/UidDirectory.h"
#include "server/store/MessageStore.h"
#include "Poco/Clock.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include <atomic>
#include <deque>
#include <memory>

namespace imgate {
namespace session {

class Session;


class SessionManager: public net::ConnectionFactory, public imgate::Host, public store::StoreListener
	/// Shared by all loops; holds no per-session state of its own (each
	/// session lives in its loop; the UidDirectory maps uids to them).
	/// Work for a session on another loop is posted to that loop by
	/// SessionRef; nothing is done under a shared lock but the directory's.
{
public:
	SessionManager(const SessionConfig& config, net::LoopPool& loops, store::MessageStore& store, const plugin::FilterChain& filters,
		ClusterLink* pCluster = nullptr);
		/// filters must outlive the sessions. Becomes the store's listener
		/// (MessageStore::setListener()), but in a cluster (pCluster set,
		/// outliving the sessions): there another node may commit a message
		/// for a session here between two this node announces, so every
		/// message is read from the store, in msgId order (Delivery).

	~SessionManager() override;
		/// Stops listening to the store (which must be closed by then, or
		/// not started).

	Poco::UInt64 admissionTicket() override;
		/// The number of kickAddresses() calls so far. Any thread (the
		/// accept thread); also drops the kicks kept past their time.

	std::unique_ptr<net::Connection> createConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, Poco::UInt64 ticket) override;
		/// A Session. A kickAddresses() that came after ticket was taken
		/// (after the connection's accept checks ran, so they may have let
		/// a banned address through) and matches peer kicks it once the
		/// loop has adopted it.

	std::unique_ptr<net::Connection> admit(std::unique_ptr<Session> pSession, Poco::UInt64 ticket);
		/// What createConnection() does with the session it made, for
		/// another factory's session (TransportFactory): the drain and the
		/// ban that came after ticket apply to it too.

	const SessionConfig& config() const;
		/// The settings in force. A reference stays valid for the server's
		/// life (replaced settings are kept), so a loop may hold it for a call.

	void reconfigure(const SessionConfig& config);
		/// SIGHUP: sessions use config from their next decision on (timers
		/// re-arm with it, the next LOGIN_RESP tells the new heartbeat
		/// interval). takeoverGuard and maxBodySize need a restart. Main thread.
	const plugin::FilterChain& filters() const;
	store::MessageStore& store();
	bool handsOverStored() const;
		/// The store announces what it stores (announcesStored()), so the
		/// sessions online get it by value (stored()) and a session may be
		/// in step with its inbox (Delivery); else every message is read.
	UidDirectory& directory();

	SessionMetrics& metrics();
		/// Group fan-out sizes and HISTORY latency (GET /metrics).
	Poco::Logger& logger();

	enum LoginOutcome
	{
		LOGIN_OK,
		LOGIN_REFUSED_TAKEOVER, /// the takeover guard refused it (retryInMs)
		LOGIN_DRAINING,
		LOGIN_DEVICE_LIMIT      /// perDevice: session.maxDevices other devices are online
	};

	LoginOutcome login(Session& session, const std::string& uid, const std::string& device, bool carbons, Poco::Int64& retryInMs);
		/// Session's loop. Claims uid (under perDevice: uid and device) for
		/// session and kicks the session it displaces (DUPLICATE_LOGIN),
		/// wherever it runs.

	void closed(Session& session);
		/// Session's loop, from Session::onClose().

	void submit(Session& sender, Poco::UInt32 seq, store::NewMessage message);
		/// Session's loop. Hands message to the store; when the store has
		/// decided, the sender gets MSG_SEND_ACK on its loop. The sessions
		/// online whose inbox the message is in get it from stored() (before
		/// the answer), or, from a store that does not announce, are woken
		/// after it to read (handsOverStored()).

	void fetchPending(Session& session, Poco::UInt64 afterMsgId, std::size_t limit, bool retransmission);
		/// Session's loop. Reads the session's pending messages from the
		/// store; the page comes back to Session::onPending() on its loop
		/// (dropped if the session is gone by then).

	void sendTransient(Session& sender, Poco::UInt32 seq, Poco::UInt64 clientMsgId, const std::string& toUid, const std::string& toGroup,
		std::shared_ptr<const std::string> pFrame);
		/// Session's loop: hands the encoded transient MSG_DELIVER to the
		/// sessions online now (the recipient's, or each member's of
		/// toGroup, and the sender's other sessions with carbons), then
		/// answers the sender (NOT_MEMBER unless it is in toGroup).

	void readHistory(Session& session, Poco::UInt32 seq, const store::HistoryQuery& query);
		/// Session's loop: reads a HISTORY page from the store; it comes
		/// back to Session::sendHistory() on the session's loop.

	void stored(const std::shared_ptr<const store::StoredMessage>& pMessage, const std::vector<std::string>& members) override;
		/// The store's thread (store::StoreListener): hands a stored message
		/// to every session online whose inbox it is in: the recipients' (a
		/// 1:1 recipient, or each member of the group) and the sender's
		/// sessions with carbons (Session::deliverStored()). One task per
		/// loop, whatever the number of sessions; always posted, never run
		/// inline (a store lock may be held). Only where handsOverStored();
		/// else submit() wakes the same sessions to read from the store.

	void wake(const std::string& uid);
		/// Any thread: the uid's sessions here read their pending messages
		/// (a message another node of the cluster stored).

	void wakeAll();
		/// Any thread: every session here reads its pending messages (the
		/// cluster's notices may have been lost).

	bool kickUid(const std::string& uid, imgate::KickReason reason, const std::string& message) override;
		/// Any thread (imgate::Host): kicks the uid's sessions, wherever they run.

	void kickAddresses(std::function<bool(const std::string& address)> match, imgate::KickReason reason, const std::string& message) override;
		/// Any thread (imgate::Host): every loop kicks its matching sessions,
		/// and connections still on their way to a loop are checked when it
		/// adopts them (the last ADDRESS_KICKS_KEPT calls are kept for that).

	void ban(const imgate::BanRequest& request) override;
		/// Any thread (imgate::Host): hands the ban to every filter (onBan).

	void beginDrain();
		/// Any thread: new logins are refused with SHUTTING_DOWN, and every
		/// session is kicked (SHUTDOWN) at a random moment within drainTime.

	bool draining() const;

	LogBudget& unauthenticatedLogBudget(const net::EventLoop& loop);
		/// The loop's budget of log lines about connections that have not
		/// logged in (Session::admitUnauthenticatedLine()). Loop thread only.

	std::size_t sessionCount() const;
		/// Open connections (logged in or not).

	enum
	{
		ADDRESS_KICKS_KEPT = 64,       /// At most this many kickAddresses() calls are remembered ...
		ADDRESS_KICK_KEEP_SECONDS = 10 /// ... each for at most this long: far more than a hand-off takes (microseconds).
		/// A matcher may hold a whole ban list (a reloaded ban file), so few
		/// are kept, briefly. A connection whose ticket predates a kick that
		/// is no longer kept cannot be checked against it: it is kicked
		/// (SHUTDOWN) so that it reconnects through the current accept checks.
	};

private:
	struct AddressKick
	{
		Poco::UInt64 number; /// admissionTicket() after it.
		Poco::Clock when;
		std::shared_ptr<const std::function<bool(const std::string&)>> pMatch;
		protocol::KickReason reason;
		std::string message;
	};

	template <class Task>
	void runOn(std::size_t loopIndex, Task&& task);
	template <class Action>
	void post(std::vector<SessionRef>& refs, const Action& action, bool mayRunHere = true);
		/// action(Session&) for each session in refs (those still open) on
		/// its loop: one task per loop; run at once for the caller's own
		/// loop if mayRunHere. A template (defined and used in
		/// SessionManager.cpp only), not a std::function: the task holds
		/// action itself, one allocation per loop, which every stored
		/// message pays on its way to its recipient.
	void addSessions(const std::string& uid, bool carbonsOnly, const SessionRef& except, std::vector<SessionRef>& refs);
	void addRecipients(const std::string& fromUid, const std::string& toUid, const std::string& groupId, const std::vector<std::string>& members, std::vector<SessionRef>& refs);
		/// The sessions online whose inbox a stored message is in (stored()).
	Session* find(const SessionRef& ref);
	void kickIfBannedSince(Session& session, Poco::UInt64 ticket);
		/// Session's loop, right after adoption.
	void forgetOldAddressKicks();
		/// Drops the kicks past ADDRESS_KICKS_KEPT or ADDRESS_KICK_KEEP_SECONDS.
		/// Under _addressKicksMutex.

	std::vector<std::unique_ptr<const SessionConfig>> _configs; /// Every version: loops may still read an old one.
	std::atomic<const SessionConfig*> _pConfig{nullptr};
	net::LoopPool& _loops;
	const plugin::FilterChain& _filters;
	store::MessageStore& _store;
	ClusterLink* const _pCluster;
	const bool _handsOverStored; /// _store.announcesStored(), outside a cluster
	UidDirectory _directory;
	SessionMetrics _metrics;
	Poco::Logger& _logger;
	std::atomic<bool> _draining{false};
	std::vector<LogBudget> _unauthenticatedLogBudgets; /// One per loop, each touched by its loop only.
	Poco::FastMutex _addressKicksMutex;     /// Guards _addressKicks and the writes of _addressKickCount.
	std::deque<AddressKick> _addressKicks;  /// The last ADDRESS_KICKS_KEPT, oldest first.
	Poco::UInt64 _addressKicksForgotten = 0; /// The number of the newest kick dropped from _addressKicks.
	std::atomic<std::size_t> _addressKicksHeld{0}; /// _addressKicks.size(), read without the lock.
	std::atomic<Poco::UInt64> _addressKickCount{0};
};


inline const SessionConfig& SessionManager::config() const
{
	return *_pConfig.load(std::memory_order_acquire);
}


inline const plugin::FilterChain& SessionManager::filters() const
{
	return _filters;
}


inline store::MessageStore& SessionManager::store()
{
	return _store;
}


inline bool SessionManager::handsOverStored() const
{
	return _handsOverStored;
}


inline SessionMetrics& SessionManager::metrics()
{
	return _metrics;
}


inline UidDirectory& SessionManager::directory()
{
	return _directory;
}


inline Poco::Logger& SessionManager::logger()
{
	return _logger;
}


inline bool SessionManager::draining() const
{
	return _draining.load();
}

} } // namespace imgate::session

#endif // imgate_session_SessionManager_INCLUDED
