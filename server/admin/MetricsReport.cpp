//
// MetricsReport.cpp
//
// Layer: admin
//

#include "server/admin/MetricsReport.h"
#include "server/session/Transport.h"
#include "server/metrics/Exposition.h"
#include "server/metrics/LoopCounters.h"
#include "server/protocol/Command.h"
#include "server/protocol/Status.h"
#include "Poco/String.h"
#include <dirent.h>
#include <fstream>
#include <sys/resource.h>
#include <type_traits>
#include <unistd.h>

namespace imgate {
namespace admin {

namespace {

using metrics::Exposition;
using metrics::LoopCounters;

// Every status protocol v1 and 1.1 define, so that each series exists from the start.
const protocol::Status STATUSES[] = {
	protocol::Status::OK, protocol::Status::BAD_REQUEST, protocol::Status::UNSUPPORTED_VERSION,
	protocol::Status::UNKNOWN_COMMAND, protocol::Status::FRAME_TOO_LARGE, protocol::Status::AUTH_FAILED,
	protocol::Status::NOT_LOGGED_IN, protocol::Status::ALREADY_LOGGED_IN, protocol::Status::BANNED,
	protocol::Status::RATE_LIMITED, protocol::Status::DEVICE_LIMIT, protocol::Status::RECIPIENT_INVALID,
	protocol::Status::PAYLOAD_TOO_LARGE, protocol::Status::NOT_MEMBER, protocol::Status::SERVER_BUSY,
	protocol::Status::SHUTTING_DOWN, protocol::Status::INTERNAL};


template <class Field>
auto sum(net::LoopPool& loops, Field field) -> typename std::decay<decltype(field(loops.loop(0).counters()).value())>::type
	/// The field over every loop: a Counter's (UInt64) or a Gauge's (Int64).
{
	typename std::decay<decltype(field(loops.loop(0).counters()).value())>::type n = 0;
	for (std::size_t i = 0; i < loops.size(); ++i) n += field(loops.loop(i).counters()).value();
	return n;
}


std::string lower(const char* name)
{
	return Poco::toLower(std::string(name));
}


void processMetrics(Exposition& out, const AdminContext& context)
{
	out.gauge("process_resident_memory_bytes", "Resident memory of the imgated process (VmRSS).");
	out.sample(static_cast<Poco::Int64>(MetricsReport::residentBytes()));
	out.gauge("process_open_fds", "Open file descriptors of the imgated process (sessions, listeners, store files).");
	out.sample(static_cast<Poco::Int64>(MetricsReport::openFiles()));
	rlimit limit{};
	if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
	{
		out.gauge("process_max_fds", "The process's open-file limit (RLIMIT_NOFILE).");
		out.sample(static_cast<Poco::Int64>(limit.rlim_cur));
	}
	rusage usage{};
	::getrusage(RUSAGE_SELF, &usage);
	out.counter("process_cpu_seconds_total", "User and system CPU time of the imgated process.");
	out.sample(static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
		+ static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
	out.gauge("process_start_time_seconds", "Start time of the imgated process, Unix seconds.");
	out.sample(static_cast<double>(context.started.epochMicroseconds()) / 1e6);
}

void clusterMetrics(Exposition& out, cluster::ClusterNode& node)
{
	const metrics::Exposition::Labels labels{{"node", node.nodeId()}};
	cluster::ClusterNode::Metrics& m = node.metrics();
	std::string why;
	out.gauge("imgate_cluster_redis_up", "1 while this node reaches the cluster's Redis, 0 while it serves its local sessions alone.");
	out.sample(static_cast<Poco::Int64>(node.healthy(why) ? 1 : 0), labels);
	out.counter("imgate_cluster_notices_sent_total", "Delivery notices this node published to other nodes (one per recipient uid and node).");
	out.sample(m.noticesSent.value(), labels);
	out.counter("imgate_cluster_notices_received_total", "Delivery notices other nodes sent this node.");
	out.sample(m.noticesReceived.value(), labels);
	out.counter("imgate_cluster_kicks_sent_total", "Kicks this node asked other nodes to carry out (a LOGIN here under devicePolicy single, an admin kick).");
	out.sample(m.kicksSent.value(), labels);
	out.counter("imgate_cluster_kicks_received_total", "Kicks other nodes asked this node to carry out.");
	out.sample(m.kicksReceived.value(), labels);
	out.counter("imgate_cluster_redis_failures_total", "Batches of presence updates and notices, and refreshes, that failed on Redis.");
	out.sample(m.redisFailures.value(), labels);
}

} // namespace


long MetricsReport::residentBytes()
{
	std::ifstream in("/proc/self/status");
	std::string line;
	while (std::getline(in, line))
	{
		if (line.compare(0, 6, "VmRSS:") == 0) return std::stol(line.substr(6)) * 1024;
	}
	return -1;
}


long MetricsReport::openFiles()
{
	DIR* pDir = ::opendir("/proc/self/fd");
	if (!pDir) return -1;
	long n = 0;
	while (const dirent* pEntry = ::readdir(pDir))
	{
		if (pEntry->d_name[0] != '.') ++n;
	}
	::closedir(pDir);
	return n - 1; // the descriptor opendir() itself holds
}


std::string MetricsReport::render(const AdminContext& context, const AdminListenerCounters* pListener)
{
	net::LoopPool& loops = context.loops;
	Exposition out;

	out.gauge("imgate_build_info", "Always 1; the version label says which imgated runs, the node label which cluster node (cluster.nodeId).");
	if (context.pCluster) out.sample(static_cast<Poco::Int64>(1), {{"version", context.version}, {"node", context.pCluster->nodeId()}});
	else out.sample(static_cast<Poco::Int64>(1), {{"version", context.version}});
	if (context.pCluster) clusterMetrics(out, *context.pCluster);

	out.gauge("imgate_sessions_online", "Logged-in sessions, by transport (tcp, tls, ws, wss).");
	Poco::Int64 otherConnections = 0;
	for (unsigned t = 0; t < LoopCounters::TRANSPORT_SLOTS; ++t)
	{
		out.sample(sum(loops, [t](LoopCounters& c) -> metrics::Gauge& { return c.loggedIn[t]; }),
			{{"transport", session::transportName(static_cast<session::Transport>(t))}});
		if (t > 0) otherConnections += sum(loops, [t](LoopCounters& c) -> metrics::Gauge& { return c.connections[t]; });
	}
	out.gauge("imgate_connections_open", "Open client connections, logged in or not, by transport (tcp, tls, ws, wss).");
	for (unsigned t = 0; t < LoopCounters::TRANSPORT_SLOTS; ++t)
	{
		const Poco::Int64 open = t == 0 ? static_cast<Poco::Int64>(loops.connectionCount()) - otherConnections
			: sum(loops, [t](LoopCounters& c) -> metrics::Gauge& { return c.connections[t]; });
		out.sample(open < 0 ? 0 : open, {{"transport", session::transportName(static_cast<session::Transport>(t))}});
	}
	out.counter("imgate_transport_errors_total", "TLS handshakes or records that failed, WebSocket handshakes refused and WebSocket connections closed for a protocol error (1002, 1003, 1009), by transport.");
	for (unsigned t = 1; t < LoopCounters::TRANSPORT_SLOTS; ++t)
	{
		out.sample(sum(loops, [t](LoopCounters& c) -> metrics::Counter& { return c.transportErrors[t]; }),
			{{"transport", session::transportName(static_cast<session::Transport>(t))}});
	}

	out.counter("imgate_logins_total", "LOGIN requests answered, by result (ok, or the LOGIN_RESP status).");
	for (protocol::Status status: STATUSES)
	{
		const std::size_t slot = LoopCounters::statusSlot(static_cast<unsigned>(status));
		out.sample(sum(loops, [slot](LoopCounters& c) -> metrics::Counter& { return c.logins[slot]; }),
			{{"result", lower(protocol::statusName(status))}});
	}

	out.counter("imgate_frames_received_total", "Frames received from clients, by command.");
	const std::pair<LoopCounters::FrameKind, const char*> frames[] = {
		{LoopCounters::FRAME_LOGIN, "LOGIN"}, {LoopCounters::FRAME_HEARTBEAT, "HEARTBEAT"},
		{LoopCounters::FRAME_MSG_SEND, "MSG_SEND"}, {LoopCounters::FRAME_MSG_DELIVER_ACK, "MSG_DELIVER_ACK"},
		{LoopCounters::FRAME_LOGOUT, "LOGOUT"}, {LoopCounters::FRAME_OTHER, "other"}};
	for (const auto& f: frames)
	{
		const std::size_t kind = f.first;
		out.sample(sum(loops, [kind](LoopCounters& c) -> metrics::Counter& { return c.framesIn[kind]; }), {{"command", f.second}});
	}

	out.counter("imgate_errors_total", "Error responses sent to clients (LOGIN_RESP, MSG_SEND_ACK, HEARTBEAT_RESP or ERROR with a status other than OK), by status.");
	for (protocol::Status status: STATUSES)
	{
		if (status == protocol::Status::OK) continue;
		const std::size_t slot = LoopCounters::statusSlot(static_cast<unsigned>(status));
		out.sample(sum(loops, [slot](LoopCounters& c) -> metrics::Counter& { return c.errors[slot]; }),
			{{"status", protocol::statusName(status)}});
	}

	out.counter("imgate_messages_accepted_total", "MSG_SENDs stored and acknowledged OK (new messages).");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.messagesAccepted; }));
	out.counter("imgate_messages_duplicate_total", "MSG_SENDs acknowledged OK as resends of a message stored before (not stored again).");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.messagesDuplicate; }));
	out.counter("imgate_messages_delivered_total", "First MSG_DELIVERs of a message to a session.");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.messagesDelivered; }));
	out.counter("imgate_messages_retransmitted_total", "MSG_DELIVERs sent again after delivery.retransmitTimeout.");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.messagesRetransmitted; }));
	out.counter("imgate_messages_acknowledged_total", "Deliveries the recipient acknowledged (MSG_DELIVER_ACK).");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.messagesAcknowledged; }));
	out.counter("imgate_inbox_reads_total", "Reads of a session's pending messages from the store: at login, after falling out of step with its inbox, for retransmissions (a message stored for a session in step is handed over without one).");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.inboxReads; }));
	out.counter("imgate_history_requests_total", "HISTORY requests answered with a page (protocol 1.1).");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.historyRequests; }));
	out.counter("imgate_transient_deliveries_total", "Transient MSG_DELIVERs handed to sessions (protocol 1.1; never stored).");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.transientMessages; }));
	session::SessionMetrics& sessionMetrics = context.sessions.metrics();
	out.histogram("imgate_history_duration_seconds", "HISTORY requests, from the request to its answer queued to the client (the store's read included; protocol 1.1).");
	out.sample(sessionMetrics.historySeconds.snapshot());
	out.histogram("imgate_group_fanout_members", "Members of each group message accepted, stored or transient (the sender included; protocol 1.1).");
	out.sample(sessionMetrics.groupFanout.snapshot());
	out.gauge("imgate_uids_online_by_devices", "Uids online, by how many sessions (devices) each has: 1 to 7, and 8+ (protocol 1.1).");
	const session::UidDirectory& directory = context.sessions.directory();
	for (std::size_t n = 1; n <= session::UidDirectory::DEVICE_COUNT_SLOTS; ++n)
		out.sample(directory.uidsWithDevices(n), {{"devices", std::to_string(n) + (n == session::UidDirectory::DEVICE_COUNT_SLOTS ? "+" : "")}});
	out.gauge("imgate_deliveries_in_flight", "Deliveries sent and not yet acknowledged, over all open sessions.");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Gauge& { return c.deliveriesInFlight; }));

	out.counter("imgate_received_bytes_total", "Bytes read from client connections.");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.bytesIn; }));
	out.counter("imgate_sent_bytes_total", "Bytes written to client connections.");
	out.sample(sum(loops, [](LoopCounters& c) -> metrics::Counter& { return c.bytesOut; }));

	out.counter("imgate_kicks_total", "KICKs sent to sessions, by reason.");
	const std::pair<std::size_t, const char*> kicks[] = {{1, "duplicate_login"}, {2, "admin"}, {3, "banned"}, {4, "shutdown"}};
	for (const auto& k: kicks)
	{
		const std::size_t slot = k.first;
		out.sample(sum(loops, [slot](LoopCounters& c) -> metrics::Counter& { return c.kicks[slot]; }), {{"reason", k.second}});
	}

	const plugin::FilterChain& filters = context.filters;
	out.counter("imgate_plugin_verdicts_total", "Verdicts of each filter plugin's onAccept, onLogin and onFrame (error: the hook threw).");
	for (std::size_t i = 0; i < filters.size(); ++i)
	{
		for (std::size_t kind = 0; kind < plugin::FilterChain::VERDICT_KINDS; ++kind)
			out.sample(filters.verdictCount(i, kind), {{"plugin", filters.pluginName(i)}, {"verdict", plugin::FilterChain::verdictName(kind)}});
	}

	if (const store::StoreMetrics* pStore = context.store.metrics())
	{
		out.histogram("imgate_store_commit_duration_seconds", "Time of each store commit (a group of sends and acknowledgements), fsync included.");
		out.sample(pStore->commitSeconds.snapshot());
		out.histogram("imgate_store_commit_operations", "Sends plus acknowledgements written by each store commit.");
		out.sample(pStore->commitSize.snapshot());
		out.counter("imgate_store_failed_commits_total", "Store commits rolled back (disk full, I/O error).");
		out.sample(pStore->failedCommits.value());
	}

	out.gauge("imgate_event_loop_lag_seconds", "Longest turn of each event loop since the previous scrape: how long a ready connection may have waited for its loop.");
	for (std::size_t i = 0; i < loops.size(); ++i)
		out.sample(static_cast<double>(loops.loop(i).counters().longestTurnMicros.take()) / 1e6, {{"loop", std::to_string(i)}});
	out.counter("imgate_event_loop_busy_seconds_total", "Time each event loop spent handling events, tasks and timers (not waiting).");
	for (std::size_t i = 0; i < loops.size(); ++i)
		out.sample(static_cast<double>(loops.loop(i).counters().busyMicros.value()) / 1e6, {{"loop", std::to_string(i)}});

	if (pListener)
	{
		out.gauge("imgate_admin_connections_open", "Open connections of the admin listener (at most 256).");
		out.sample(pListener->open.value());
		out.counter("imgate_admin_connections_evicted_total", "Admin connections closed before their request was complete to make room for a new one: the admin listener's table was full (table_full), or their address had its share (address_limit).");
		out.sample(pListener->evictedTableFull.value(), {{"reason", "table_full"}});
		out.sample(pListener->evictedAddressLimit.value(), {{"reason", "address_limit"}});
		out.counter("imgate_admin_connections_refused_total", "New admin connections answered 503 because every open one (or every one from their address) was being answered.");
		out.sample(pListener->refused.value());
	}

	processMetrics(out, context);
	return out.text();
}

} } // namespace imgate::admin
