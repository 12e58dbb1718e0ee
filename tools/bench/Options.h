//
// Options.h
//
// imgate-bench: the command line.
//

#ifndef imgate_bench_Options_INCLUDED
#define imgate_bench_Options_INCLUDED

#include <string>
#include <vector>

namespace imgate {
namespace bench {

struct Options
{
	std::string scenario = "msg";     /// conn | msg | group | history | mix
	std::string protocol = "imgate";  /// imgate (v1) | mqtt (3.1.1: Mosquitto)
	unsigned qos = 1;                 /// mqtt: PUBLISH and SUBSCRIBE QoS, 0 or 1.
	std::string host = "127.0.0.1";
	unsigned port = 7700;
	bool portGiven = false;
	unsigned splitPort = 0;           /// msg: the second session of each pair connects to --host:splitPort (another cluster node); 0: --port.
	std::vector<std::string> sources{"127.0.0.1"}; /// Local addresses, round robin.
	// transport
	bool tls = false;                 /// --tls: TLS to --host/--port.
	std::string ca;                   /// --ca: verify the server's certificate against these CAs (PEM); else not verified.
	std::string ws;                   /// --ws URL: WebSocket (ws:// or wss://); host, port and path from the URL.
	std::string wsPath;               /// The URL's path (and query), "/" at least.
	bool wss = false;                 /// The URL is wss://.
	unsigned threads = 1;
	// conn, mix
	unsigned sessions = 1000;
	double rate = 0;                  /// conn: new sessions per second; group: messages per second per group. 0: as fast as the server takes them (group: closed loop, --window per sender).
	unsigned hold = 10;               /// Seconds to hold the sessions (conn).
	unsigned heartbeat = 20;          /// Seconds between heartbeats of a session.
	// mix
	double interval = 5;              /// Seconds between two sends of one session (to a random other one).
	// msg
	unsigned pairs = 1;
	unsigned window = 1;              /// Unacknowledged MSG_SENDs per sender (MQTT QoS 0: sent, not yet received by the peer). Defaults: msg 1, group 16, history 64.
	bool windowGiven = false;
	unsigned payload = 64;            /// Bytes (at least 24: sender, sequence, send time; mix 32: and the receiver).
	unsigned duration = 10;           /// Measured seconds.
	unsigned warmup = 2;              /// Seconds before measuring.
	unsigned drain = 15;              /// At most this long to wait for the last deliveries.
	// group
	unsigned groups = 1;
	unsigned members = 100;           /// Online members per group, distinct uids.
	unsigned senders = 1;             /// Members of each group that send (the group's first ones).
	std::string adminHost;            /// Admin listener; empty: --host.
	unsigned adminPort = 7780;        /// 0: the caller created the groups (gids TEXT-g<n>).
	std::string adminTokenFile;       /// Bearer token of the admin API; empty: none sent.
	// history
	unsigned messages = 1000000;      /// Stored in the target uid's inbox before the requests.
	unsigned requests = 1000;         /// HISTORY requests, one at a time.
	unsigned peers = 4;               /// Uids that send to the target (the "with" filters pick one).
	unsigned limit = 50;              /// HistoryRequest.limit.
	unsigned fillTimeout = 900;       /// Seconds at most to fill the inbox.
	// all
	std::string jwtSecretFile;        /// Mint HS256 tokens (sub = uid) from this secret; else anonymous.
	std::string uidPrefix = "bench";
	int serverPid = 0;                /// Read its RSS and CPU time from /proc.
	unsigned connectTimeout = 60;     /// Seconds for every session to log in.
	bool json = false;
	bool quiet = false;               /// No progress lines.

	bool secure() const { return tls || wss; }
		/// TLS under the protocol (--tls, or a wss:// URL).

	const char* transport() const { return tls ? "tls" : wss ? "wss" : ws.empty() ? "tcp" : "ws"; }

	static Options parse(int argc, char** argv);
		/// Exits with a usage message (status 2) on a bad command line.

	static void usage(const char* error);
};

} } // namespace imgate::bench

#endif // imgate_bench_Options_INCLUDED
