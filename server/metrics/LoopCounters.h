//
// LoopCounters.h
//
// Layer: metrics
// The counters of one event loop and of the sessions it runs. Each loop
// owns one block and is its only writer; a scrape sums the blocks.
//

#ifndef imgate_metrics_LoopCounters_INCLUDED
#define imgate_metrics_LoopCounters_INCLUDED

#include "server/metrics/Counter.h"
#include <cstddef>

namespace imgate {
namespace metrics {

struct alignas(64) LoopCounters
	/// Aligned so that two loops' blocks never share a cache line.
{
	enum FrameKind
	{
		FRAME_LOGIN,
		FRAME_HEARTBEAT,
		FRAME_MSG_SEND,
		FRAME_MSG_DELIVER_ACK,
		FRAME_LOGOUT,
		FRAME_OTHER,
		FRAME_KINDS
	};

	enum
	{
		STATUS_SLOTS = 64, /// Status codes 0..63 (protocol v1 uses 0..50); higher ones count in the last.
		KICK_SLOTS = 5,    /// Kick reasons 1..4; 0 for any other.
		TRANSPORT_SLOTS = 4 /// session::Transport: tcp, tls, ws, wss.
	};

	static std::size_t statusSlot(unsigned status)
	{
		return status < STATUS_SLOTS ? status : STATUS_SLOTS - 1;
	}

	static std::size_t kickSlot(unsigned reason)
	{
		return reason < KICK_SLOTS ? reason : 0;
	}

	// net
	Counter bytesIn;                  /// Read from client sockets.
	Counter bytesOut;                 /// Handed to the kernel for client sockets.
	Counter busyMicros;               /// Time spent handling events, tasks and timers.
	Gauge longestTurnMicros;          /// The longest loop turn since the last scrape (taken by it).

	// session
	Counter framesIn[FRAME_KINDS];    /// Frames received, by command.
	Counter errors[STATUS_SLOTS];     /// Error responses sent (LOGIN_RESP, MSG_SEND_ACK, ERROR...), by status.
	Counter logins[STATUS_SLOTS];     /// LOGIN answers, by status (0: OK).
	Counter messagesAccepted;         /// MSG_SEND stored (MSG_SEND_ACK OK, new message).
	Counter messagesDuplicate;        /// MSG_SEND answered OK as a resend of a stored message.
	Counter messagesDelivered;        /// First MSG_DELIVER of a message in a session.
	Counter messagesRetransmitted;    /// MSG_DELIVER sent again after the retransmit timeout.
	Counter messagesAcknowledged;     /// MSG_DELIVER_ACKs that cleared an in-flight delivery.
	Counter inboxReads;               /// Reads of pending messages from the store (at login, on falling out of step, for retransmissions).
	Counter historyRequests;          /// HISTORY answered with a page.
	Counter transientMessages;        /// Transient MSG_DELIVERs handed to sessions.
	Counter kicks[KICK_SLOTS];        /// KICKs sent, by reason.
	Gauge deliveriesInFlight;         /// Sent, not yet acknowledged, in open sessions.
	Gauge connections[TRANSPORT_SLOTS]; /// Open connections by transport (tcp: not kept; the loop's count less the others).
	Gauge loggedIn[TRANSPORT_SLOTS];  /// Logged-in sessions by transport.
	Counter transportErrors[TRANSPORT_SLOTS]; /// TLS handshakes or records that failed, WebSocket handshakes refused and WebSocket protocol errors, by transport.
};

} } // namespace imgate::metrics

#endif // imgate_metrics_LoopCounters_INCLUDED
