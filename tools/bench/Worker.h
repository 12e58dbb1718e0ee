//
// Worker.h
//
// imgate-bench: one load-generator thread. Its own epoll set, its own
// sessions (index % threads == its number), non-blocking sockets, one
// write per session per turn.
//

#ifndef imgate_bench_Worker_INCLUDED
#define imgate_bench_Worker_INCLUDED

#include "tools/bench/Mqtt.h"
#include "tools/bench/Run.h"
#include "server/protocol/FrameDecoder.h"
#include <netinet/in.h>
#include <sys/types.h>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

namespace imgate {
namespace bench {

class Worker
{
public:
	Worker(Run& run, unsigned number, Counters& counters);
	~Worker();

	Worker(const Worker&) = delete;
	Worker& operator = (const Worker&) = delete;

	void operator () ();
		/// The thread: runs until the phase is STOP, then closes its sockets.

private:
	void openMore(std::int64_t now);
	void open(BenchSession& s);
	void onEvent(BenchSession& s, unsigned events);
	void onConnected(BenchSession& s);
	void onHandshake(BenchSession& s);
		/// TLS: drives SSL_connect; on success, upgrade or login.
	void onTransportReady(BenchSession& s);
		/// TCP, TLS done: the WebSocket upgrade request, or the login.
	void startLogin(BenchSession& s);
	void onReadable(BenchSession& s);
	ssize_t readBytes(BenchSession& s, char* buffer, std::size_t size);
		/// recv() or SSL_read(): > 0 bytes, 0 end of stream, -1 with errno
		/// EAGAIN (try later) or another error.
	void onInput(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds);
		/// Bytes after TLS: the upgrade answer, WebSocket frames, or the protocol.
	void onUpgradeAnswer(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds);
	void onWebSocketInput(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds);
	void onProtocolInput(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds);
	void seal(BenchSession& s, std::size_t start, unsigned opcode = 2);
		/// WebSocket: turns what was appended to s.out from start on into
		/// one masked binary message (opcode). Nothing on TCP and TLS.
	void closeSession(BenchSession& s);
	void onFrame(BenchSession& s, const protocol::Frame& frame, std::vector<std::uint64_t>& deliveredIds);
	void onMqttInput(BenchSession& s, const char* data, std::size_t size);
	void onMqttPacket(BenchSession& s, const mqtt::Packet& packet);
	void loggedIn(BenchSession& s);
	void refused(BenchSession& s);
		/// Login (or MQTT CONNECT / SUBSCRIBE) refused: counted, closed.
	void accepted(BenchSession& s, std::uint64_t seq, bool ok);
	void onPayload(BenchSession& s, const char* payload, std::size_t size, std::uint64_t msgId);
	void onFanInPayload(BenchSession& s, const char* payload, std::size_t size, std::uint64_t msgId);
		/// group and history: s receives from several senders, each tracked
		/// by its slot (arrival time per sequence).
	void append(BenchSession& s);
		/// Marks s as having output to write this turn (call before adding to s.out).
	void fillWindow(BenchSession& s);
	void startMix(std::int64_t now);
		/// mix: each logged-in session's first send due at a random point
		/// of the first interval from now.
	void sendDue(std::int64_t now);
		/// mix: the sends due by now, each followed by the session's next
		/// one an interval after it was due (the schedule does not drift
		/// when the worker is late; it catches up).
	void sendMix(BenchSession& s, std::int64_t dueNs);
		/// mix: one message from s to a random other session.
	void onMixPayload(BenchSession& s, const char* payload, std::size_t size);
		/// mix: records the arrival in the sender's arrivalOrder.
	int waitMs(bool mixSending) const;
		/// epoll_wait's timeout: until the next mix send is due (at most 5 ms).
	std::uint64_t random64();
		/// xorshift64.
	void heartbeats(std::int64_t now);
	void flush(BenchSession& s);
	void fail(BenchSession& s, bool afterLogin);
	void watch(BenchSession& s, bool write);

	Run& _run;
	Counters& _counters;
	int _epoll;
	std::vector<unsigned> _mine;       /// Indexes of this worker's sessions.
	std::vector<unsigned> _senders;    /// group, history: those of _mine that send.
	std::size_t _nextToOpen = 0;       /// Into _mine.
	unsigned _pending = 0;             /// Connecting or logging in.
	std::vector<unsigned> _dirty;      /// Sessions with output to write this turn.
	sockaddr_in _server;
	sockaddr_in _splitServer; /// --split-port (msg), else _server.
	std::vector<sockaddr_in> _sources;
	std::int64_t _lastHeartbeatScan = 0;
	std::string _scratch;
	std::string _sealScratch;
	std::uint64_t _random;             /// xorshift state: WebSocket masking keys, mix receivers and offsets.
	const bool _tls;                   /// --tls or wss.
	const bool _ws;                    /// --ws.
	const bool _mqtt;
	const bool _group;                 /// --scenario group
	const bool _fanIn;                 /// group or history: receivers track senders by slot.
	const bool _rated;                 /// group with --rate: sends are due on a schedule.
	const bool _mix;                   /// --scenario mix
	using Due = std::pair<std::int64_t, unsigned>; /// When, which session.
	std::priority_queue<Due, std::vector<Due>, std::greater<Due>> _due;
		/// mix: the next send of each of its sessions, soonest on top: a
		/// turn looks at the sends that are due, not at every session.
	std::int64_t _intervalNs = 0;      /// _rated: between two sends of one sender.
	std::int64_t _turnNs = 0;          /// When the last epoll_wait returned.
};

} } // namespace imgate::bench

#endif // imgate_bench_Worker_INCLUDED
