//
// Client.h
//
// imgate C++ client: one logged-in connection to imgated that keeps itself
// logged in (heartbeats, reconnects with backoff), sends through an outbox
// that survives reconnects, and hands each delivery to the application
// exactly once. docs/clients-cpp.md is the guide; docs/protocol.md the wire.
//

#ifndef imgate_client_Client_INCLUDED
#define imgate_client_Client_INCLUDED

#include "imgate/client/Types.h"
#include "Poco/Timespan.h"
#include <functional>
#include <future>
#include <memory>
#include <string>

namespace imgate {
namespace client {

struct ClientOptions
	/// How a Client connects and behaves. Only uid is required.
{
	std::string host = "127.0.0.1";
	Poco::UInt16 port = 7700;

	bool tls = false;            /// TLS to host:port.
	std::string caFile;          /// TLS: PEM file of the CAs to trust; empty: the system's (/etc/ssl/certs).
	std::string serverName;      /// TLS: the name the certificate must carry; empty: host.

	std::string webSocketPath;
		/// Empty: imgate frames straight on TCP (or TLS). A path ("/imgate"):
		/// WebSocket to host:port (the server's websocket.port; wss with
		/// tls), subprotocol imgate.v1, one frame per binary message.
	std::string origin;          /// WebSocket: the Origin header; empty: none sent.

	std::string uid;
	std::string token;           /// Sent in LOGIN unless tokenProvider is set.
	std::function<std::string(bool refresh)> tokenProvider;
		/// Called (on the client's thread) before every LOGIN; refresh is
		/// true after the server refused the last token with AUTH_FAILED,
		/// when the client logs in again at once with the new token. A
		/// second AUTH_FAILED in a row ends the client.
	std::string device;          /// Protocol 1.1 device name; empty: the server's default.
	bool carbons = false;        /// Protocol 1.1: copies of what this uid sends from its other sessions.
	std::string clientVersion = "imgate-cpp/0.1";

	Poco::Timespan connectTimeout = Poco::Timespan(10, 0);
		/// Bound on connecting, the TLS handshake and LOGIN_RESP; also on a
		/// write that the server does not take (then the connection is dropped).
	Poco::Timespan reconnectDelay = Poco::Timespan(0, 500000);
	Poco::Timespan maxReconnectDelay = Poco::Timespan(30, 0);
		/// The n-th attempt in a row waits min(maxReconnectDelay,
		/// reconnectDelay * 2^n) * (1 - 0.5 * random): 0.25-0.5 s, 0.5-1 s,
		/// ..., at most 30 s. A login resets n.
	bool acknowledgeAfterHandler = true;
		/// false: a delivery is acknowledged when the application calls
		/// Client::acknowledge(msgId), not when the handler returns (for
		/// applications that queue messages and finish them later; the
		/// BlockingClient does this). Until then its repeats are not handed
		/// over again.
	bool reconnect = true;
		/// false: a lost or failed connection ends the client (status
		/// DISCONNECTED) instead of a new attempt; for one-shot tools.
		/// A LOGIN refused with AUTH_FAILED is still tried once more with a
		/// refreshed token.
	std::size_t maxInFlight = 1024;
		/// Sends written and not yet answered, at most; the rest wait in the outbox.
	std::size_t maxSendBody = 65536;
		/// A send whose MSG_SEND body would be larger is refused at once
		/// with FRAME_TOO_LARGE (the server's protocol.maxBodySize, whose
		/// default this is, would close the connection on it).
	std::size_t maxFrameBody = 1 << 20;
		/// A frame from the server with a larger body drops the connection.

	std::string outboxFile;
		/// Empty: the outbox lives in memory (it survives reconnects and
		/// server restarts, not the application's restart). A path: the
		/// unanswered sends and the ids of the last 4,096 deliveries handed
		/// over are kept in that file (mode 0600, locked while the client
		/// lives), written by the client's thread before it writes the
		/// sends to the server, and flushed to the disk once per turn. The
		/// next Client on the file sends them again with their
		/// client_msg_id (their results go to onRestoredResult()) and
		/// acknowledges repeats of those deliveries without handing them over.
};


class Client
	/// Threads: the client's work (socket, protocol, callbacks) runs on one
	/// thread: its own after start(), or the caller of runOnce(). send(),
	/// close(), state() and outboxSize() may be called from any thread.
	/// Callbacks run on the client's thread and must not block for long
	/// (heartbeats wait for them); they may call send().
	///
	/// Sending: send() puts the message in the outbox, which is written in
	/// order whenever the client is online. A send in flight when the
	/// connection drops is written again after the next login with the
	/// same client_msg_id; the server answers a repeat with the original
	/// msg_id and does not deliver it twice. The result is final: OK, a
	/// refusal of the server (nothing was stored; send again with the same
	/// clientMsgId to retry), or CLOSED/KICKED when the client ended first.
	///
	/// Receiving: onMessage's handler gets each delivery once; the client
	/// acknowledges it when the handler returns. A handler that throws
	/// leaves it unacknowledged (onError), so the server delivers it again
	/// after its retransmit timeout. Repeats (retransmissions, redeliveries
	/// after a reconnect or a server restart) are acknowledged again
	/// without calling the handler: the client remembers the last 4,096
	/// ids it acknowledged.
{
public:
	using MessageHandler = std::function<void(const Message&)>;
	using StateHandler = std::function<void(State state, const std::string& why)>;
	using KickHandler = std::function<void(const Kick&)>;
	using ErrorHandler = std::function<void(const std::string& what)>;
	using SendCallback = std::function<void(const SendResult&)>;

	struct Outgoing
		/// One message to send: to a uid or to a group.
	{
		std::string toUid;
		std::string toGroup;
		std::string payload;
		Poco::UInt64 clientMsgId = 0; /// 0: newClientMsgId().
		bool transient = false;
			/// Never queued nor repeated: OFFLINE when the client is not
			/// online, DISCONNECTED when the connection drops before the ack.
	};

	explicit Client(const ClientOptions& options);
		/// No connection is opened before start() or runOnce(); the outbox
		/// file, if any, is read now. Throws Poco::InvalidArgumentException
		/// for an empty uid, Poco::FileException naming the outbox file when
		/// it cannot be opened, is locked by another client, or is not an
		/// outbox.

	~Client();
		/// close() with a short wait, if still running; what is still
		/// queued resolves with CLOSED. Never destroy a Client from one of
		/// its own callbacks (its thread cannot join itself).

	Client(const Client&) = delete;
	Client& operator = (const Client&) = delete;

	void onMessage(MessageHandler handler);
	void onState(StateHandler handler);
	void onKick(KickHandler handler);
	void onError(ErrorHandler handler);
	void onRestoredResult(SendCallback handler);
		/// Set before start(). onError reports what the application may
		/// want to log: a handler that threw, an ERROR frame, a connection
		/// that failed and why, an outbox file that cannot be written.
		/// onRestoredResult gets the results of the sends restored from
		/// ClientOptions::outboxFile (made by an earlier run).

	void start();
		/// Runs the client on a thread of its own until close().

	bool runOnce(Poco::Timespan maxWait);
		/// Your own loop instead of start(): does what is due (connect,
		/// read, dispatch, write, heartbeat), waiting at most maxWait for
		/// something to happen. False once the client has ended.

	std::future<SendResult> send(const Outgoing& message);
	void send(const Outgoing& message, SendCallback callback);
		/// Queues the message; the callback runs on the client's thread.

	std::future<SendResult> send(const std::string& toUid, const std::string& payload);
	std::future<SendResult> sendToGroup(const std::string& groupId, const std::string& payload);

	std::future<HistoryPage> history(const HistoryQuery& query);
	void history(const HistoryQuery& query, std::function<void(const HistoryPage&)> callback);
		/// One HISTORY page. Waits for the login when offline; asked again
		/// after a reconnect; CLOSED (or KICKED) when the client ends first.

	void acknowledge(Poco::UInt64 msgId);
		/// With acknowledgeAfterHandler = false: the application is done
		/// with the delivery msgId; the client acknowledges it (and, with an
		/// outbox file, remembers it). Any thread. Ids not handed over, or
		/// already acknowledged, are ignored.

	Poco::UInt64 newClientMsgId();
		/// Unix ms * 1024 plus a random part, increasing in the client and
		/// below 2^53: unique for the sender across restarts, as the
		/// server's idempotency needs (unless the clock goes back).

	void close(Poco::Timespan wait = Poco::Timespan(5, 0));
		/// Ends the client for good: sends LOGOUT if online, waits (at most
		/// wait) for the answers to the sends already written, closes, and
		/// resolves the rest with CLOSED. With start(): joins the thread.
		/// With runOnce(): the next calls finish the work and return false.

	State state() const;

	std::size_t outboxSize() const;
		/// Sends not yet answered.

	bool flush(Poco::Timespan timeout) const;
		/// Waits until every send made so far has its result (the outbox is
		/// empty); false on timeout. Before close(), so that what was sent
		/// while the client was still connecting goes out.

	bool waitState(State state, Poco::Timespan timeout) const;
		/// Waits until the client is in state; false on timeout, and at
		/// once once the client has ended (CLOSED) unless state is CLOSED.

	int endStatus(std::string& why) const;
		/// Once CLOSED: why the client ended: CLOSED (close()), KICKED, the
		/// status of a LOGIN refusal that cannot pass (AUTH_FAILED,
		/// BANNED, ...), or DISCONNECTED (reconnect = false); why has the
		/// text. OK while the client has not ended.

private:
	class Core;
	std::unique_ptr<Core> _pCore;
};

} } // namespace imgate::client

#endif // imgate_client_Client_INCLUDED
