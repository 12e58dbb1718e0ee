//
// Run.h
//
// imgate-bench: what the threads of one run share. The main thread moves
// the phase on; each worker owns the sessions whose index % threads is its
// own, and touches no other. Counters the progress line reads are atomic;
// the rest is read only after the workers have been joined.
//

#ifndef imgate_bench_Run_INCLUDED
#define imgate_bench_Run_INCLUDED

#include "tools/bench/Options.h"
#include "server/protocol/FrameDecoder.h"
#include "tools/imgate-cli/ClientTlsContext.h"
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace bench {

inline std::int64_t nowNs()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}


enum class Phase
{
	CONNECT,  /// Open and log in every session.
	HOLD,     /// conn: keep them, with heartbeats.
	WARMUP,   /// msg, group, mix: send, do not count yet.
	MEASURE,  /// msg, group, mix: send and count; history: fill the inbox.
	DRAIN,    /// msg, group, mix, history: no new sends; take the last deliveries.
	STOP      /// Close everything and return.
};


struct SslFree
{
	void operator () (ssl_st* pSsl) const;
		/// SSL_free (in Worker.cpp: only the worker includes OpenSSL).
};


struct BenchSession
	/// One connection of the load generator.
{
	enum State: std::uint8_t
	{
		IDLE,
		CONNECTING,
		HANDSHAKING, /// TLS.
		UPGRADING,   /// WebSocket: the upgrade request sent, the 101 awaited.
		LOGGING_IN,
		LOGGED_IN,
		GONE        /// Refused, failed or closed.
	};

	int fd = -1;
	State state = IDLE;
	bool wantWrite = false;      /// EPOLLOUT is registered.
	unsigned index = 0;
	unsigned peer = 0;           /// msg: the session it sends to; history: the target.
	int group = -1;              /// group: index into Run::groups.
	int slot = -1;               /// group, history: its number among the senders it receives beside (-1: sends nothing).
	std::string uid;
	std::string token;
	std::string out;             /// Bytes not yet written.
	std::unique_ptr<protocol::FrameDecoder> pDecoder; /// imgate
	std::string in;              /// mqtt: a partial packet.
	std::unique_ptr<ssl_st, SslFree> pSsl; /// --tls, wss: the session's TLS state.
	std::string wsIn;            /// WebSocket: the upgrade answer so far, then a partial frame.
	std::uint32_t maskKey = 0;   /// WebSocket: the masking key of this session's frames.
	std::uint32_t seq = 0;       /// Frame seq.
	std::uint64_t nextMessage = 1; /// Sequence number of the next payload.
	std::uint32_t inflight = 0;  /// MSG_SENDs without MSG_SEND_ACK.
	std::int64_t lastSendNs = 0;
	std::vector<bool> ackedOk;   /// By own payload sequence: accepted (MSG_SEND_ACK OK).
	std::vector<bool> received;  /// By the peer's payload sequence: delivered here.
	std::uint64_t maxReceived = 0;
	// group and history (fan-in: a receiver tracks each sender slot apart)
	std::uint64_t quota = 0;     /// history: messages to get accepted (0: no limit).
	std::uint64_t acceptedCount = 0;
	std::int64_t nextDueNs = 0;  /// group --rate: when the next send is due.
	std::uint64_t missed = 0;    /// group --rate: sends that found the window full when due.
	std::vector<std::int64_t> sentNs;                  /// By own payload sequence.
	std::vector<std::vector<std::int64_t>> arrivalNs;  /// [sender slot][sequence]: 0 = not received.
	std::vector<std::uint64_t> maxSeqBySlot;           /// mqtt order check.
	std::uint64_t lastMsgId = 0;                       /// imgate order check: msg_ids increase.
	std::uint64_t firstMsgId = 0;
	// mix: sized by main before the workers start, never resized. sentTo
	// is the sender's own (its worker only); arrivalOrder[seq] is written
	// only by the worker of sentTo[seq]'s session (distinct elements, so no
	// race), read after the join.
	std::vector<std::uint32_t> sentTo;       /// By own payload sequence: the receiver.
	std::vector<std::uint32_t> arrivalOrder; /// By own payload sequence: the receiver's arrival count when it arrived (0: not yet).
	std::uint32_t arrivals = 0;              /// As a receiver: messages taken so far (first copies).
};


struct GroupInfo
{
	std::string gid;
	std::string topic;           /// mqtt
	unsigned first = 0;          /// Its members are sessions first .. first + members - 1; senders first.
	unsigned members = 0;
};


struct Counters
	/// One worker's; summed after the run.
{
	std::atomic<std::uint64_t> loggedIn{0};
	std::atomic<std::uint64_t> delivered{0};      /// Deliveries taken, any phase.
	std::atomic<std::uint64_t> sent{0};
	std::uint64_t connectFailed = 0;
	std::uint64_t loginRefused = 0;
	std::uint64_t disconnected = 0;               /// Closed by the server after login.
	std::atomic<std::uint64_t> acceptedOk{0};     /// MSG_SEND_ACK OK.
	std::uint64_t refused = 0;                    /// MSG_SEND_ACK with an error status.
	std::uint64_t deliveredMeasured = 0;          /// Deliveries in the measured window.
	std::atomic<std::uint64_t> duplicated{0};
	std::uint64_t reordered = 0;
	std::atomic<std::uint64_t> foreign{0};        /// A payload not from the session's peer (group: not from a sender of its group).
	std::int64_t lastLoginNs = 0;
	std::vector<std::int64_t> latencyNs;          /// Measured deliveries.
	std::uint64_t skipped = 0;                    /// mix: sends due past Run::mixCapacity, not made.
	std::vector<std::int64_t> sendLagNs;          /// mix: how late each measured send went out after it was due.
};


struct Run
{
	Options options;
	std::vector<BenchSession> sessions;
	std::vector<GroupInfo> groups;                /// group scenario.
	std::atomic<std::int64_t> measureStartNs{0};
	std::atomic<std::int64_t> measureEndNs{0};
	std::atomic<int> phase{static_cast<int>(Phase::CONNECT)};
	std::int64_t startNs = 0;
	std::unique_ptr<client::ClientTlsContext> pTls; /// --tls, wss.
	std::string upgradeRequest;                     /// --ws: the HTTP upgrade, the same for every session.
	std::uint64_t mixCapacity = 0;
		/// mix: the most messages one session sends (sequences 1 .. this);
		/// the schedule's count over warm-up and duration, with slack.
	std::int64_t mixIntervalNs = 0;                 /// mix: --interval.
	std::uint64_t clientIdBase = 0;
		/// client_msg_id = clientIdBase + payload sequence. The server keeps
		/// (sender, client_msg_id) to drop resends, also across runs with
		/// the same uids: each run takes its own base (start time << 32).

	Phase current() const
	{
		return static_cast<Phase>(phase.load(std::memory_order_acquire));
	}
};

} } // namespace imgate::bench

#endif // imgate_bench_Run_INCLUDED
