//
// main.cpp
//
// imgate-bench: the load generator of docs/benchmarks.md. One process,
// non-blocking sockets on epoll, --threads N workers. Scenarios:
//   conn  open --sessions N at --rate R per second, hold them with
//         heartbeats; report sessions/s, failures, the server's RSS per
//         session (--server-pid).
//   msg   --pairs P of sessions that send to each other with a window of
//         --window W, --payload B bytes, for --duration D seconds after
//         --warmup; report delivered msg/s, latency p50/p99/p99.9, and lost,
//         duplicated and reordered messages, the server's and the
//         generator's CPU.
//   group --groups G of --members M online members (distinct uids), the
//         groups created through the admin API; --senders S of each send to
//         their group at --rate R messages/s per group (or closed loop with
//         --window W each); every member acknowledges every delivery.
//         Report member deliveries/s, latency from MSG_SEND to each
//         member's MSG_DELIVER and to the group's last member, lost,
//         duplicated and reordered per member, server CPU per delivery.
//         --protocol mqtt: a topic per group, every member subscribed (QoS 1).
//   mix   --sessions N online (over the --sources addresses), each sending one
//         message every --interval S seconds to a uniformly random other
//         session, its first send at a random point of the first interval
//         (N / S msg/s in all, smooth), for --duration D seconds after
//         --warmup; imgate: MSG_SEND to_uid, deliveries acknowledged with
//         MSG_DELIVER_ACK; mqtt: a topic per session, subscribed at --qos,
//         published to. Each worker keeps its sessions' next sends in a
//         min-heap (a turn touches only the sends that are due). Report
//         delivered msg/s, latency p50/p99/p99.9/max, the server's CPU (%
//         of one core and per message), how late sends went out, lost,
//         duplicated and reordered. The check: a payload carries sender,
//         the sender's own sequence number (1, 2, ... over all its
//         receivers), send time and receiver. Every sender has two arrays
//         by sequence, sized at the start for the schedule's count (so
//         memory is 8 bytes per message the run can send, whatever N):
//         the receiver it picked, and the receiver's arrival number (its
//         count of first copies) when it came. A second copy is
//         duplicated; after the run, a message accepted (MSG_SEND_ACK OK
//         or PUBACK) and never arrived is lost (to_gone instead when the
//         receiver was not logged in at the end); a message is reordered
//         when a later message of the same sender to the same receiver
//         arrived before it (each sender's sends read newest first, with
//         the lowest arrival number per receiver so far).
//   history fill one uid's inbox with --messages N from --peers P senders
//         (it acknowledges them all), then --requests K HISTORY pages one at
//         a time (newest, random before_msg_id, each with and without the
//         with_uid filter); report the fill rate and the request latency.
// Every phase is bounded in time: the run always stops by itself. Exit
// status 0 when every session logged in and nothing was lost, duplicated
// or reordered (nor a history page wrong); 1 otherwise; 2 for a bad command line.
//

#include "tools/bench/GroupAdmin.h"
#include "tools/bench/HistoryClient.h"
#include "tools/bench/Options.h"
#include "tools/bench/ProcessStats.h"
#include "tools/bench/Run.h"
#include "tools/bench/Worker.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"
#include "Poco/String.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

using namespace imgate::bench;

namespace {

struct Totals
{
	std::uint64_t loggedIn = 0, connectFailed = 0, loginRefused = 0, disconnected = 0;
	std::uint64_t sent = 0, acceptedOk = 0, refused = 0, delivered = 0, deliveredMeasured = 0;
	std::uint64_t duplicated = 0, reordered = 0, foreign = 0, lost = 0;
	std::int64_t lastLoginNs = 0;
	std::uint64_t skipped = 0;
	std::vector<std::int64_t> latencyNs;
	std::vector<std::int64_t> sendLagNs;
};

Totals sum(std::vector<Counters>& counters, bool withLatency)
{
	Totals t;
	for (Counters& c: counters)
	{
		t.loggedIn += c.loggedIn.load();
		t.connectFailed += c.connectFailed;
		t.loginRefused += c.loginRefused;
		t.disconnected += c.disconnected;
		t.sent += c.sent.load();
		t.acceptedOk += c.acceptedOk.load();
		t.refused += c.refused;
		t.delivered += c.delivered.load();
		t.deliveredMeasured += c.deliveredMeasured;
		t.duplicated += c.duplicated.load();
		t.reordered += c.reordered;
		t.foreign += c.foreign.load();
		t.lastLoginNs = std::max(t.lastLoginNs, c.lastLoginNs);
		t.skipped += c.skipped;
		if (withLatency)
		{
			t.latencyNs.insert(t.latencyNs.end(), c.latencyNs.begin(), c.latencyNs.end());
			t.sendLagNs.insert(t.sendLagNs.end(), c.sendLagNs.begin(), c.sendLagNs.end());
		}
	}
	return t;
}

double percentileUs(std::vector<std::int64_t>& v, double p)
{
	if (v.empty()) return 0;
	std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
	std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
	return static_cast<double>(v[k]) / 1000.0;
}

double maxUs(const std::vector<std::int64_t>& v)
{
	return v.empty() ? 0 : static_cast<double>(*std::max_element(v.begin(), v.end())) / 1000.0;
}

std::string fixed(double v, int digits)
{
	char text[64];
	std::snprintf(text, sizeof(text), "%.*f", digits, v);
	return text;
}

void sleepMs(long ms)
{
	std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string mintToken(const std::string& secret, const std::string& uid)
{
	Poco::JWT::Token token;
	token.setType("JWT");
	token.setSubject(uid);
	const Poco::Int64 now = Poco::Timestamp().epochTime();
	token.payload().set("iat", now);
	token.payload().set("exp", now + 86400);
	Poco::JWT::Signer signer(secret);
	return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}


struct GroupFigures
	/// The group scenario's figures, from every member's arrival times
	/// after the workers have been joined.
{
	std::uint64_t messagesMeasured = 0;   /// Sent in the measured window, accepted.
	std::uint64_t deliveriesMeasured = 0; /// Arrivals in the measured window.
	std::uint64_t lost = 0, lostMembers = 0, lostMaxPerMember = 0, behind = 0;
	std::vector<std::int64_t> latencyNs;  /// Send to each member.
	std::vector<std::int64_t> lastNs;     /// Send to the group's last member.
};


GroupFigures groupFigures(const Run& run)
{
	GroupFigures f;
	const Options& o = run.options;
	const std::int64_t from = run.measureStartNs.load(), to = run.measureEndNs.load();
	std::vector<std::uint64_t> lostBy(run.sessions.size(), 0);
	for (const GroupInfo& g: run.groups)
	{
		for (unsigned slot = 0; slot < o.senders; ++slot)
		{
			const BenchSession& sender = run.sessions[g.first + slot];
			if (o.rate > 0 && to > sender.nextDueNs)
			{
				// Sends that were due before the end and never went out.
				const std::int64_t interval = static_cast<std::int64_t>(1e9 * o.senders / o.rate);
				f.behind += static_cast<std::uint64_t>((to - sender.nextDueNs) / interval);
			}
			for (std::uint64_t seq = 1; seq < sender.nextMessage; ++seq)
			{
				if (seq >= sender.ackedOk.size() || !sender.ackedOk[seq]) continue;
				const std::int64_t sent = sender.sentNs[seq];
				const bool measured = sent >= from && sent < to;
				std::int64_t last = 0;
				bool complete = true;
				for (unsigned m = 0; m < g.members; ++m)
				{
					if (m == slot) continue;
					const unsigned index = g.first + m;
					const std::vector<std::int64_t>& arrivals = run.sessions[index].arrivalNs[slot];
					const std::int64_t at = seq < arrivals.size() ? arrivals[seq] : 0;
					if (at == 0)
					{
						++f.lost;
						++lostBy[index];
						complete = false;
						continue;
					}
					if (measured) f.latencyNs.push_back(at - sent);
					last = std::max(last, at);
				}
				if (measured)
				{
					++f.messagesMeasured;
					if (complete) f.lastNs.push_back(last - sent);
				}
			}
		}
	}
	for (std::size_t i = 0; i < run.sessions.size(); ++i)
	{
		if (lostBy[i]) ++f.lostMembers;
		f.lostMaxPerMember = std::max(f.lostMaxPerMember, lostBy[i]);
		for (const auto& arrivals: run.sessions[i].arrivalNs)
		{
			for (std::int64_t at: arrivals)
			{
				if (at >= from && at < to) ++f.deliveriesMeasured;
			}
		}
	}
	return f;
}


struct MixFigures
{
	std::uint64_t lost = 0;      /// Accepted, never arrived, the receiver logged in at the end.
	std::uint64_t toGone = 0;    /// Accepted, never arrived, the receiver failed or was disconnected.
	std::uint64_t reordered = 0; /// Arrived after a later message of its sender to the same receiver.
};


MixFigures mixFigures(const Run& run)
	/// After the join: from each sender's sentTo and arrivalOrder.
{
	MixFigures f;
	std::unordered_map<std::uint32_t, std::uint32_t> lowest; // receiver -> lowest arrival number of the later sends
	for (const BenchSession& s: run.sessions)
	{
		for (std::uint64_t seq = 1; seq < s.nextMessage && seq < s.ackedOk.size(); ++seq)
		{
			if (!s.ackedOk[seq] || s.arrivalOrder[seq] != 0) continue;
			if (run.sessions[s.sentTo[seq]].state == BenchSession::LOGGED_IN) ++f.lost;
			else ++f.toGone;
		}
		lowest.clear();
		for (std::uint64_t seq = s.nextMessage - 1; seq >= 1; --seq)
		{
			const std::uint32_t order = s.arrivalOrder[seq];
			if (order == 0) continue;
			auto it = lowest.find(s.sentTo[seq]);
			if (it == lowest.end()) lowest.emplace(s.sentTo[seq], order);
			else if (order > it->second) ++f.reordered;
			else it->second = order;
		}
	}
	return f;
}


struct HistoryFigures
{
	std::uint64_t requests = 0, errors = 0, entries = 0;
	std::string firstError;
	std::vector<std::int64_t> latencyNs;
	std::vector<std::int64_t> byKindNs[4]; /// newest, before, with, with + before
};


HistoryFigures historyRequests(const Run& run)
	/// --requests HISTORY pages, one at a time, as the filled uid, on a
	/// connection of its own; each answer is checked.
{
	static const char* const KIND[4] = {"newest", "before_msg_id", "with_uid", "with_uid + before_msg_id"};
	const Options& o = run.options;
	const BenchSession& target = run.sessions[0];
	HistoryFigures f;
	auto error = [&f](const std::string& text)
	{
		if (f.errors++ == 0) f.firstError = text;
	};
	HistoryClient client(o.host, o.port);
	client.login(target.uid, target.token);
	std::mt19937_64 random(20261203);
	const std::uint64_t low = target.firstMsgId, high = target.lastMsgId;
	for (unsigned k = 0; k < o.requests; ++k)
	{
		const unsigned kind = k % 4;
		imgate::v1::HistoryRequest request;
		request.set_limit(o.limit);
		if ((kind & 1) && high > low) request.set_before_msg_id(low + 1 + random() % (high - low + 1));
		std::string with;
		if (kind & 2)
		{
			with = run.sessions[1 + random() % o.peers].uid;
			request.set_with_uid(with);
		}
		imgate::v1::HistoryResponse response;
		const std::int64_t start = nowNs();
		const std::uint16_t status = client.history(request, response);
		const std::int64_t took = nowNs() - start;
		f.latencyNs.push_back(took);
		f.byKindNs[kind].push_back(took);
		++f.requests;
		const std::string what = std::string("request ") + std::to_string(k) + " (" + KIND[kind] + ", before " + std::to_string(request.before_msg_id()) + "): ";
		if (status != 0)
		{
			error(what + "status " + std::to_string(status));
			continue;
		}
		const int n = response.messages_size();
		f.entries += static_cast<std::uint64_t>(n);
		// Newest first, below before_msg_id, within the filter; with
		// 64-byte payloads every page that says "more" is full.
		std::uint64_t above = request.before_msg_id() ? request.before_msg_id() : ~0ull;
		for (const auto& m: response.messages())
		{
			if (m.msg_id() >= above) error(what + "msg_id " + std::to_string(m.msg_id()) + " not below " + std::to_string(above));
			above = m.msg_id();
			if (!with.empty() && m.from_uid() != with && m.to_uid() != with) error(what + "an entry from " + m.from_uid() + " outside with_uid " + with);
		}
		if (response.more() && static_cast<unsigned>(n) < o.limit) error(what + std::to_string(n) + " entries and more = true");
		if (n == 0 && request.before_msg_id() == 0) error(what + "an empty page from an inbox of " + std::to_string(o.messages));
	}
	return f;
}

} // namespace


int main(int argc, char** argv)
{
	Run run;
	run.options = Options::parse(argc, argv);
	const Options& o = run.options;
	const bool msg = o.scenario == "msg";
	const bool group = o.scenario == "group";
	const bool history = o.scenario == "history";
	const bool mix = o.scenario == "mix";
	const bool timed = msg || group || mix;
	const unsigned total = msg ? 2 * o.pairs : group ? o.groups * o.members : history ? 1 + o.peers : o.sessions;
	if (mix)
	{
		// Every send the schedule can make over warm-up and duration, with
		// slack for a late phase change (Options refuses more than 200 M).
		run.mixIntervalNs = std::max<std::int64_t>(1, std::llround(o.interval * 1e9));
		run.mixCapacity = static_cast<std::uint64_t>(std::ceil((o.warmup + o.duration + 2.0) / o.interval)) + 2;
	}

	std::string secret;
	if (!o.jwtSecretFile.empty())
	{
		std::ifstream in(o.jwtSecretFile);
		std::stringstream ss;
		ss << in.rdbuf();
		secret = Poco::trimRight(ss.str());
		if (!in || secret.size() < 32) Options::usage(("--jwt-secret: cannot read a secret of 32 bytes or more from " + o.jwtSecretFile).c_str());
	}
	std::signal(SIGPIPE, SIG_IGN); // OpenSSL writes to the sockets without MSG_NOSIGNAL
	if (o.secure())
	{
		imgate::client::TlsOptions tls;
		tls.caFile = o.ca;
		try
		{
			run.pTls.reset(new imgate::client::ClientTlsContext(tls));
		}
		catch (Poco::Exception& exc)
		{
			Options::usage(("--ca: " + exc.displayText()).c_str());
		}
	}
	if (!o.ws.empty())
	{
		// One key for every session: the server checks its form, not its
		// freshness (a real client makes one per connection).
		std::random_device device;
		static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		std::string key;
		for (int i = 0; i < 21; ++i) key += BASE64[device() % 64];
		key += "A==";
		run.upgradeRequest = "GET " + o.wsPath + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port)
			+ "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
			+ "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + (o.protocol == "mqtt" ? "mqtt" : "imgate.v1") + "\r\n\r\n";
	}
	run.clientIdBase = static_cast<std::uint64_t>(Poco::Timestamp().epochTime()) << 32;
	run.sessions.resize(total);
	for (unsigned i = 0; i < total; ++i)
	{
		BenchSession& s = run.sessions[i];
		s.index = i;
		s.peer = msg ? (i ^ 1u) : i;
		s.uid = o.uidPrefix + "-" + std::to_string(i);
		if (!secret.empty()) s.token = mintToken(secret, s.uid);
		if (mix)
		{
			s.sentTo.assign(run.mixCapacity + 1, 0);
			s.arrivalOrder.assign(run.mixCapacity + 1, 0);
			s.ackedOk.assign(run.mixCapacity + 1, false);
		}
		if (group)
		{
			// Group g is sessions g * M .. g * M + M - 1; its first S send.
			s.group = static_cast<int>(i / o.members);
			const unsigned member = i % o.members;
			if (member < o.senders) s.slot = static_cast<int>(member);
			s.arrivalNs.resize(o.senders);
			s.maxSeqBySlot.resize(o.senders, 0);
		}
		if (history)
		{
			// Session 0 is the uid whose inbox fills; 1 .. P send to it.
			s.peer = 0;
			if (i == 0)
			{
				s.arrivalNs.resize(o.peers);
				s.maxSeqBySlot.resize(o.peers, 0);
			}
			else
			{
				s.slot = static_cast<int>(i - 1);
				s.quota = o.messages / o.peers + (i - 1 < o.messages % o.peers ? 1 : 0);
			}
		}
	}
	if (group)
	{
		for (unsigned g = 0; g < o.groups; ++g)
		{
			GroupInfo info;
			info.gid = o.uidPrefix + "-g" + std::to_string(g);
			info.topic = "bench/group/" + info.gid;
			info.first = g * o.members;
			info.members = o.members;
			run.groups.push_back(info);
		}
		if (o.protocol == "imgate" && o.adminPort != 0)
		{
			const std::int64_t start = nowNs();
			try
			{
				GroupAdmin admin(o.adminHost, o.adminPort, o.adminTokenFile);
				for (const GroupInfo& g: run.groups)
				{
					std::vector<std::string> members;
					for (unsigned m = 0; m < g.members; ++m) members.push_back(run.sessions[g.first + m].uid);
					admin.put(g.gid, members);
				}
			}
			catch (std::exception& exc)
			{
				std::cerr << "imgate-bench: " << exc.what() << std::endl;
				return 1;
			}
			if (!o.quiet) std::cerr << "created " << o.groups << " groups of " << o.members << " members in "
				<< fixed(static_cast<double>(nowNs() - start) / 1e9, 2) << " s" << std::endl;
		}
	}

	const long rssBefore = o.serverPid ? ProcessStats::rssKiB(o.serverPid) : -1;
	const double connectServerCpu0 = o.serverPid ? ProcessStats::cpuSeconds(o.serverPid) : 0;
	const double connectSelfCpu0 = ProcessStats::selfCpuSeconds();
	std::vector<Counters> counters(o.threads);
	std::vector<std::unique_ptr<Worker>> workers;
	try
	{
		for (unsigned w = 0; w < o.threads; ++w) workers.emplace_back(new Worker(run, w, counters[w]));
	}
	catch (std::exception& exc)
	{
		Options::usage(exc.what());
	}
	run.startNs = nowNs();
	std::vector<std::thread> threads;
	for (auto& w: workers) threads.emplace_back(std::ref(*w));

	auto progress = [&](const char* what)
	{
		if (o.quiet) return;
		Totals t = sum(counters, false);
		std::cerr << "[" << fixed(static_cast<double>(nowNs() - run.startNs) / 1e9, 0) << " s] " << what
			<< ": logged in " << t.loggedIn << "/" << total << ", failed " << (t.connectFailed + t.loginRefused)
			<< ", sent " << t.sent << ", delivered " << t.delivered << std::endl;
	};

	// Connect: until every session logged in or failed, or the timeout.
	const std::int64_t connectDeadline = run.startNs + static_cast<std::int64_t>(o.connectTimeout) * 1000000000LL;
	std::int64_t nextProgress = run.startNs + 1000000000LL;
	while (nowNs() < connectDeadline)
	{
		Totals t = sum(counters, false);
		if (t.loggedIn + t.connectFailed + t.loginRefused >= total) break;
		sleepMs(10);
		if (nowNs() >= nextProgress)
		{
			progress("connect");
			nextProgress += 1000000000LL;
		}
	}
	Totals connected = sum(counters, false);
	// The set-up cost (TCP, TLS handshake, WebSocket upgrade, login) on
	// each side: on a shared machine the rate is bounded by whichever side
	// is slower, the CPU per session is not.
	const double connectServerCpu = o.serverPid ? ProcessStats::cpuSeconds(o.serverPid) - connectServerCpu0 : 0;
	const double connectSelfCpu = ProcessStats::selfCpuSeconds() - connectSelfCpu0;
	const double connectSeconds = static_cast<double>((connected.lastLoginNs ? connected.lastLoginNs : nowNs()) - run.startNs) / 1e9;

	long rssAfter = -1;
	double serverCpu0 = 0, serverCpu1 = 0, selfCpu0 = 0, selfCpu1 = 0;
	double measuredSeconds = 0;
	double fillSeconds = 0;
	if (history)
	{
		// Fill: every sender until its quota is accepted, and the target
		// has taken (and acknowledged) every one, or --fill-timeout.
		if (o.serverPid) serverCpu0 = ProcessStats::cpuSeconds(o.serverPid);
		selfCpu0 = ProcessStats::selfCpuSeconds();
		const std::int64_t fillStart = nowNs();
		run.measureStartNs = fillStart;
		run.phase = static_cast<int>(Phase::MEASURE);
		const std::int64_t fillDeadline = fillStart + static_cast<std::int64_t>(o.fillTimeout) * 1000000000LL;
		std::int64_t allAccepted = 0;
		std::int64_t nextLine = fillStart + 1000000000LL;
		while (nowNs() < fillDeadline)
		{
			sleepMs(20);
			Totals t = sum(counters, false);
			if (!allAccepted && t.acceptedOk >= o.messages) allAccepted = nowNs();
			if (allAccepted && t.delivered - t.duplicated - t.foreign >= t.acceptedOk) break;
			if (t.loggedIn < total || t.disconnected > 0) break; // a session is gone: it cannot fill
			if (nowNs() >= nextLine)
			{
				progress("fill");
				nextLine += 1000000000LL;
			}
		}
		fillSeconds = static_cast<double>((allAccepted ? allAccepted : nowNs()) - fillStart) / 1e9;
		run.measureEndNs = nowNs();
		if (o.serverPid) serverCpu1 = ProcessStats::cpuSeconds(o.serverPid);
		selfCpu1 = ProcessStats::selfCpuSeconds();
		run.phase = static_cast<int>(Phase::DRAIN);
		sleepMs(300); // the last MSG_DELIVER_ACKs leave before the sockets close
	}
	else if (!timed)
	{
		run.phase = static_cast<int>(Phase::HOLD);
		sleepMs(1000); // let the server settle before reading its RSS
		if (o.serverPid) rssAfter = ProcessStats::rssKiB(o.serverPid);
		for (unsigned s = 0; s < o.hold; ++s)
		{
			sleepMs(1000);
			if (o.hold >= 5) progress("hold");
		}
	}
	else
	{
		if (mix)
		{
			// The sessions' memory on the server, idle, as conn reads it.
			sleepMs(1000);
			if (o.serverPid) rssAfter = ProcessStats::rssKiB(o.serverPid);
		}
		if (group && o.rate > 0)
		{
			// The senders' schedules spread evenly over one interval.
			const std::int64_t start = nowNs();
			const double interval = 1e9 * o.senders / o.rate;
			const double all = static_cast<double>(o.groups) * o.senders;
			for (BenchSession& s: run.sessions)
			{
				if (s.slot < 0) continue;
				const double k = static_cast<double>(s.group) * o.senders + s.slot;
				s.nextDueNs = start + static_cast<std::int64_t>(interval * k / all);
			}
		}
		run.phase = static_cast<int>(Phase::WARMUP);
		sleepMs(static_cast<long>(o.warmup) * 1000);
		if (o.serverPid) serverCpu0 = ProcessStats::cpuSeconds(o.serverPid);
		selfCpu0 = ProcessStats::selfCpuSeconds();
		const std::int64_t measureStart = nowNs();
		run.measureStartNs = measureStart;
		run.phase = static_cast<int>(Phase::MEASURE);
		for (unsigned s = 0; s < o.duration; ++s)
		{
			sleepMs(1000);
			if (o.duration >= 5) progress("measure");
		}
		run.measureEndNs = nowNs();
		run.phase = static_cast<int>(Phase::DRAIN);
		measuredSeconds = static_cast<double>(run.measureEndNs.load() - measureStart) / 1e9;
		if (o.serverPid) serverCpu1 = ProcessStats::cpuSeconds(o.serverPid);
		selfCpu1 = ProcessStats::selfCpuSeconds();
		// Drain: until every accepted message arrived once, or the limit.
		const std::int64_t drainDeadline = nowNs() + static_cast<std::int64_t>(o.drain) * 1000000000LL;
		std::uint64_t last = 0;
		int still = 0;
		while (nowNs() < drainDeadline)
		{
			sleepMs(50);
			Totals t = sum(counters, false);
			const std::uint64_t unique = t.delivered - t.duplicated - t.foreign;
			// group: each accepted message reaches every member but its sender.
			const std::uint64_t expected = t.acceptedOk * (group ? o.members - 1 : 1);
			if (unique >= expected && t.sent == t.acceptedOk + t.refused) break;
			// Also stop once nothing moved for 2 s with every send answered.
			if (t.delivered == last && t.sent == t.acceptedOk + t.refused && ++still >= 40) break;
			if (t.delivered != last) still = 0;
			last = t.delivered;
		}
	}
	run.phase = static_cast<int>(Phase::STOP);
	for (auto& t: threads) t.join();

	Totals t = sum(counters, true);
	if (msg)
	{
		// Lost: accepted (MSG_SEND_ACK OK) but never delivered to the peer.
		for (const BenchSession& s: run.sessions)
		{
			const BenchSession& peer = run.sessions[s.peer];
			for (std::uint64_t seq = 1; seq < s.nextMessage; ++seq)
			{
				if (seq < s.ackedOk.size() && s.ackedOk[seq] && (seq >= peer.received.size() || !peer.received[seq])) ++t.lost;
			}
		}
	}
	GroupFigures gf;
	if (group) gf = groupFigures(run);
	MixFigures mf;
	if (mix)
	{
		mf = mixFigures(run);
		t.lost = mf.lost;
		t.reordered += mf.reordered;
	}
	HistoryFigures hf;
	if (history)
	{
		// Lost: accepted and never delivered to the target.
		const BenchSession& target = run.sessions[0];
		for (unsigned i = 1; i < total; ++i)
		{
			const BenchSession& s = run.sessions[i];
			const std::vector<std::int64_t>& arrivals = target.arrivalNs[static_cast<std::size_t>(s.slot)];
			for (std::uint64_t seq = 1; seq < s.nextMessage; ++seq)
			{
				if (seq < s.ackedOk.size() && s.ackedOk[seq] && (seq >= arrivals.size() || arrivals[seq] == 0)) ++t.lost;
			}
		}
		if (t.loggedIn == total && t.acceptedOk >= o.messages)
		{
			if (!o.quiet) std::cerr << "filled " << t.acceptedOk << " messages in " << fixed(fillSeconds, 1) << " s; " << o.requests << " HISTORY requests" << std::endl;
			try
			{
				hf = historyRequests(run);
			}
			catch (std::exception& exc)
			{
				++hf.errors;
				hf.firstError = exc.what();
			}
		}
		else
		{
			++hf.errors;
			hf.firstError = "the inbox was not filled: " + std::to_string(t.acceptedOk) + " of " + std::to_string(o.messages) + " accepted";
		}
	}
	if (group) t.lost = gf.lost;
	const std::uint64_t failed = t.connectFailed + t.loginRefused;
	const double sessionsPerSecond = connectSeconds > 0 ? static_cast<double>(t.loggedIn) / connectSeconds : 0;

	std::ostringstream json;
	json << "{\"scenario\":\"" << o.scenario << "\",\"protocol\":\"" << o.protocol << "\",\"transport\":\"" << o.transport() << "\""
		<< (o.protocol == "mqtt" ? ",\"qos\":" + std::to_string(o.qos) : std::string()) << ",\"threads\":" << o.threads << ",\"sessions\":" << total
		<< ",\"logged_in\":" << t.loggedIn << ",\"failed\":" << failed << ",\"disconnected\":" << t.disconnected
		<< ",\"connect_seconds\":" << fixed(connectSeconds, 3) << ",\"sessions_per_second\":" << fixed(sessionsPerSecond, 0);
	std::cout << "imgate-bench " << o.scenario << " (" << o.protocol << " over " << o.transport() << "): " << t.loggedIn << "/" << total << " sessions logged in in "
		<< fixed(connectSeconds, 2) << " s (" << fixed(sessionsPerSecond, 0) << " sessions/s), " << failed << " failed ("
		<< t.connectFailed << " connect, " << t.loginRefused << " login refused), " << t.disconnected << " disconnected\n";
	const std::uint64_t unanswered = t.sent - t.acceptedOk - t.refused;
	if (group)
	{
		const double rate = measuredSeconds > 0 ? static_cast<double>(gf.deliveriesMeasured) / measuredSeconds : 0;
		const double p50 = percentileUs(gf.latencyNs, 0.50), p99 = percentileUs(gf.latencyNs, 0.99), p999 = percentileUs(gf.latencyNs, 0.999);
		const double l50 = percentileUs(gf.lastNs, 0.50), l99 = percentileUs(gf.lastNs, 0.99), l999 = percentileUs(gf.lastNs, 0.999);
		const double generatorShare = measuredSeconds > 0 ? (selfCpu1 - selfCpu0) / measuredSeconds * 100.0 : 0;
		std::cout << "  " << o.groups << " groups x " << o.members << " members, " << o.senders << " sender(s) each, "
			<< (o.rate > 0 ? fixed(o.rate, 1) + " msg/s per group" : std::string("closed loop")) << ", window " << o.window
			<< ", payload " << o.payload << " B, " << fixed(measuredSeconds, 1) << " s measured\n"
			<< "  member deliveries " << fixed(rate, 0) << "/s; send -> member p50 " << fixed(p50, 1) << " us, p99 " << fixed(p99, 1)
			<< " us, p99.9 " << fixed(p999, 1) << " us\n"
			<< "  send -> last member p50 " << fixed(l50, 1) << " us, p99 " << fixed(l99, 1) << " us, p99.9 " << fixed(l999, 1)
			<< " us (" << gf.lastNs.size() << " of " << gf.messagesMeasured << " measured messages complete)\n"
			<< "  sent " << t.sent << ", accepted " << t.acceptedOk << ", refused " << t.refused << ", unanswered " << unanswered
			<< ", delivered " << t.delivered << "; lost " << t.lost << " (" << gf.lostMembers << " members, at most " << gf.lostMaxPerMember
			<< " each), duplicated " << t.duplicated << ", reordered " << t.reordered << ", foreign " << t.foreign;
		if (o.rate > 0) std::cout << "; " << gf.behind << " sends behind schedule";
		std::cout << "\n  generator CPU " << fixed(generatorShare, 0) << " % of a core";
		json << ",\"groups\":" << o.groups << ",\"members\":" << o.members << ",\"senders\":" << o.senders << ",\"rate\":" << fixed(o.rate, 1)
			<< ",\"window\":" << o.window << ",\"payload\":" << o.payload << ",\"measured_seconds\":" << fixed(measuredSeconds, 3)
			<< ",\"deliveries_per_second\":" << fixed(rate, 0) << ",\"messages_measured\":" << gf.messagesMeasured
			<< ",\"latency_p50_us\":" << fixed(p50, 1) << ",\"latency_p99_us\":" << fixed(p99, 1) << ",\"latency_p999_us\":" << fixed(p999, 1)
			<< ",\"last_p50_us\":" << fixed(l50, 1) << ",\"last_p99_us\":" << fixed(l99, 1) << ",\"last_p999_us\":" << fixed(l999, 1)
			<< ",\"last_complete\":" << gf.lastNs.size()
			<< ",\"sent\":" << t.sent << ",\"accepted\":" << t.acceptedOk << ",\"refused\":" << t.refused << ",\"unanswered\":" << unanswered
			<< ",\"delivered\":" << t.delivered << ",\"lost\":" << t.lost << ",\"lost_members\":" << gf.lostMembers
			<< ",\"lost_max_per_member\":" << gf.lostMaxPerMember << ",\"duplicated\":" << t.duplicated << ",\"reordered\":" << t.reordered
			<< ",\"foreign\":" << t.foreign << ",\"behind_schedule\":" << gf.behind << ",\"generator_cpu_percent\":" << fixed(generatorShare, 1);
		if (o.serverPid && gf.deliveriesMeasured > 0)
		{
			const double serverUs = (serverCpu1 - serverCpu0) * 1e6 / static_cast<double>(gf.deliveriesMeasured);
			std::cout << "; server CPU " << fixed(serverUs, 1) << " us per member delivery";
			json << ",\"server_cpu_us_per_delivery\":" << fixed(serverUs, 2);
		}
		std::cout << "\n";
	}
	else if (history)
	{
		const double fillRate = fillSeconds > 0 ? static_cast<double>(t.acceptedOk) / fillSeconds : 0;
		std::vector<std::int64_t> all = hf.latencyNs;
		const double p50 = percentileUs(all, 0.50), p99 = percentileUs(all, 0.99), p999 = percentileUs(all, 0.999);
		const double max = all.empty() ? 0 : static_cast<double>(*std::max_element(all.begin(), all.end())) / 1000.0;
		double kind99[4];
		for (int k = 0; k < 4; ++k) kind99[k] = percentileUs(hf.byKindNs[k], 0.99);
		std::cout << "  filled " << t.acceptedOk << " of " << o.messages << " messages from " << o.peers << " peers (window " << o.window
			<< ", payload " << o.payload << " B) in " << fixed(fillSeconds, 1) << " s: " << fixed(fillRate, 0) << " msg/s\n"
			<< "  sent " << t.sent << ", accepted " << t.acceptedOk << ", refused " << t.refused << ", delivered " << t.delivered
			<< "; lost " << t.lost << ", duplicated " << t.duplicated << ", reordered " << t.reordered << ", foreign " << t.foreign << "\n"
			<< "  " << hf.requests << " HISTORY requests (limit " << o.limit << ", " << hf.entries << " entries): p50 " << fixed(p50, 1)
			<< " us, p99 " << fixed(p99, 1) << " us, p99.9 " << fixed(p999, 1) << " us, max " << fixed(max, 1) << " us\n"
			<< "  p99 by kind: newest " << fixed(kind99[0], 1) << " us, before_msg_id " << fixed(kind99[1], 1) << " us, with_uid "
			<< fixed(kind99[2], 1) << " us, with_uid + before_msg_id " << fixed(kind99[3], 1) << " us; " << hf.errors << " errors"
			<< (hf.errors ? " (first: " + hf.firstError + ")" : std::string());
		json << ",\"messages\":" << o.messages << ",\"peers\":" << o.peers << ",\"window\":" << o.window << ",\"payload\":" << o.payload
			<< ",\"fill_seconds\":" << fixed(fillSeconds, 3) << ",\"fill_msg_per_second\":" << fixed(fillRate, 0)
			<< ",\"sent\":" << t.sent << ",\"accepted\":" << t.acceptedOk << ",\"refused\":" << t.refused << ",\"delivered\":" << t.delivered
			<< ",\"lost\":" << t.lost << ",\"duplicated\":" << t.duplicated << ",\"reordered\":" << t.reordered << ",\"foreign\":" << t.foreign
			<< ",\"requests\":" << hf.requests << ",\"limit\":" << o.limit << ",\"entries\":" << hf.entries
			<< ",\"history_p50_us\":" << fixed(p50, 1) << ",\"history_p99_us\":" << fixed(p99, 1) << ",\"history_p999_us\":" << fixed(p999, 1)
			<< ",\"history_max_us\":" << fixed(max, 1) << ",\"history_newest_p99_us\":" << fixed(kind99[0], 1)
			<< ",\"history_before_p99_us\":" << fixed(kind99[1], 1) << ",\"history_with_p99_us\":" << fixed(kind99[2], 1)
			<< ",\"history_with_before_p99_us\":" << fixed(kind99[3], 1) << ",\"history_errors\":" << hf.errors;
		if (o.serverPid && t.acceptedOk > 0)
		{
			const double serverUs = (serverCpu1 - serverCpu0) * 1e6 / static_cast<double>(t.acceptedOk);
			std::cout << "; server CPU " << fixed(serverUs, 1) << " us per stored message (fill)";
			json << ",\"server_cpu_us_per_stored\":" << fixed(serverUs, 2);
		}
		std::cout << "\n";
	}
	else if (mix)
	{
		const double rate = measuredSeconds > 0 ? static_cast<double>(t.deliveredMeasured) / measuredSeconds : 0;
		const double p50 = percentileUs(t.latencyNs, 0.50), p99 = percentileUs(t.latencyNs, 0.99), p999 = percentileUs(t.latencyNs, 0.999);
		const double max = maxUs(t.latencyNs);
		const double lag99 = percentileUs(t.sendLagNs, 0.99), lagMax = maxUs(t.sendLagNs);
		const double generatorShare = measuredSeconds > 0 ? (selfCpu1 - selfCpu0) / measuredSeconds * 100.0 : 0;
		const double offered = o.sessions / o.interval;
		std::cout << "  " << o.sessions << " sessions, one message every " << fixed(o.interval, 3) << " s each to a random other ("
			<< fixed(offered, 0) << " msg/s offered), payload " << o.payload << " B, " << fixed(measuredSeconds, 1) << " s measured\n"
			<< "  delivered " << fixed(rate, 0) << " msg/s; latency p50 " << fixed(p50, 1) << " us, p99 " << fixed(p99, 1)
			<< " us, p99.9 " << fixed(p999, 1) << " us, max " << fixed(max, 1) << " us\n"
			<< "  sent " << t.sent << ", accepted " << t.acceptedOk << ", refused " << t.refused << ", unanswered " << unanswered
			<< ", delivered " << t.delivered << "; lost " << t.lost << ", to sessions gone " << mf.toGone << ", duplicated " << t.duplicated
			<< ", reordered " << t.reordered << ", foreign " << t.foreign << "\n"
			<< "  sends after they were due: p99 " << fixed(lag99, 1) << " us, max " << fixed(lagMax, 1) << " us; " << t.skipped
			<< " skipped (past the run's " << run.mixCapacity << " per session)\n"
			<< "  generator CPU " << fixed(generatorShare, 0) << " % of a core";
		json << ",\"interval\":" << fixed(o.interval, 3) << ",\"payload\":" << o.payload << ",\"offered_msg_per_second\":" << fixed(offered, 1)
			<< ",\"measured_seconds\":" << fixed(measuredSeconds, 3) << ",\"msg_per_second\":" << fixed(rate, 0)
			<< ",\"latency_p50_us\":" << fixed(p50, 1) << ",\"latency_p99_us\":" << fixed(p99, 1) << ",\"latency_p999_us\":" << fixed(p999, 1)
			<< ",\"latency_max_us\":" << fixed(max, 1)
			<< ",\"sent\":" << t.sent << ",\"accepted\":" << t.acceptedOk << ",\"refused\":" << t.refused << ",\"unanswered\":" << unanswered
			<< ",\"delivered\":" << t.delivered << ",\"lost\":" << t.lost << ",\"to_gone\":" << mf.toGone << ",\"duplicated\":" << t.duplicated
			<< ",\"reordered\":" << t.reordered << ",\"foreign\":" << t.foreign
			<< ",\"send_lag_p99_us\":" << fixed(lag99, 1) << ",\"send_lag_max_us\":" << fixed(lagMax, 1) << ",\"skipped\":" << t.skipped
			<< ",\"generator_cpu_percent\":" << fixed(generatorShare, 1);
		if (o.serverPid && measuredSeconds > 0)
		{
			const double serverShare = (serverCpu1 - serverCpu0) / measuredSeconds * 100.0;
			std::cout << "; server CPU " << fixed(serverShare, 1) << " % of a core";
			json << ",\"server_cpu_percent\":" << fixed(serverShare, 1);
			if (t.deliveredMeasured > 0)
			{
				const double serverUs = (serverCpu1 - serverCpu0) * 1e6 / static_cast<double>(t.deliveredMeasured);
				std::cout << ", " << fixed(serverUs, 1) << " us per delivered message";
				json << ",\"server_cpu_us_per_message\":" << fixed(serverUs, 2);
			}
		}
		std::cout << "\n";
		if (rssBefore >= 0 && rssAfter >= 0)
		{
			const double perSession = t.loggedIn ? static_cast<double>(rssAfter - rssBefore) * 1024.0 / static_cast<double>(t.loggedIn) : 0;
			std::cout << "  server RSS " << rssBefore << " KiB -> " << rssAfter << " KiB after the logins: " << fixed(perSession, 0) << " bytes per session\n";
			json << ",\"server_rss_before_kib\":" << rssBefore << ",\"server_rss_after_kib\":" << rssAfter << ",\"bytes_per_session\":" << fixed(perSession, 0);
		}
	}
	else if (!msg)
	{
		std::cout << "  held " << o.hold << " s with heartbeats every " << o.heartbeat << " s\n";
		if (t.loggedIn > 0)
		{
			const double selfUs = connectSelfCpu * 1e6 / static_cast<double>(t.loggedIn);
			std::cout << "  set-up CPU per session: generator " << fixed(selfUs, 0) << " us";
			json << ",\"generator_cpu_us_per_setup\":" << fixed(selfUs, 1);
			if (o.serverPid)
			{
				const double serverUs = connectServerCpu * 1e6 / static_cast<double>(t.loggedIn);
				std::cout << ", server " << fixed(serverUs, 0) << " us";
				json << ",\"server_cpu_us_per_setup\":" << fixed(serverUs, 1);
			}
			std::cout << "\n";
		}
		if (rssBefore >= 0 && rssAfter >= 0)
		{
			const double perSession = t.loggedIn ? static_cast<double>(rssAfter - rssBefore) * 1024.0 / static_cast<double>(t.loggedIn) : 0;
			std::cout << "  server RSS " << rssBefore << " KiB -> " << rssAfter << " KiB: " << fixed(perSession, 0) << " bytes per session\n";
			json << ",\"server_rss_before_kib\":" << rssBefore << ",\"server_rss_after_kib\":" << rssAfter << ",\"bytes_per_session\":" << fixed(perSession, 0);
		}
	}
	else
	{
		const double rate = measuredSeconds > 0 ? static_cast<double>(t.deliveredMeasured) / measuredSeconds : 0;
		const double p50 = percentileUs(t.latencyNs, 0.50), p99 = percentileUs(t.latencyNs, 0.99), p999 = percentileUs(t.latencyNs, 0.999);
		const double max = maxUs(t.latencyNs);
		const double generatorShare = measuredSeconds > 0 ? (selfCpu1 - selfCpu0) / measuredSeconds * 100.0 : 0;
		std::cout << "  " << o.pairs << " pairs, window " << o.window << ", payload " << o.payload << " B, " << fixed(measuredSeconds, 1) << " s measured\n"
			<< "  delivered " << fixed(rate, 0) << " msg/s; latency p50 " << fixed(p50, 1) << " us, p99 " << fixed(p99, 1) << " us, p99.9 " << fixed(p999, 1)
			<< " us, max " << fixed(max, 1) << " us\n"
			<< "  sent " << t.sent << ", accepted " << t.acceptedOk << ", refused " << t.refused << ", delivered " << t.delivered
			<< "; lost " << t.lost << ", duplicated " << t.duplicated << ", reordered " << t.reordered << ", foreign " << t.foreign << "\n"
			<< "  generator CPU " << fixed(generatorShare, 0) << " % of a core";
		json << ",\"pairs\":" << o.pairs << ",\"window\":" << o.window << ",\"payload\":" << o.payload
			<< ",\"measured_seconds\":" << fixed(measuredSeconds, 3) << ",\"msg_per_second\":" << fixed(rate, 0)
			<< ",\"latency_p50_us\":" << fixed(p50, 1) << ",\"latency_p99_us\":" << fixed(p99, 1) << ",\"latency_p999_us\":" << fixed(p999, 1)
			<< ",\"latency_max_us\":" << fixed(max, 1)
			<< ",\"sent\":" << t.sent << ",\"accepted\":" << t.acceptedOk << ",\"refused\":" << t.refused << ",\"delivered\":" << t.delivered
			<< ",\"lost\":" << t.lost << ",\"duplicated\":" << t.duplicated << ",\"reordered\":" << t.reordered << ",\"foreign\":" << t.foreign
			<< ",\"generator_cpu_percent\":" << fixed(generatorShare, 1);
		if (o.serverPid && measuredSeconds > 0)
		{
			const double serverShare = (serverCpu1 - serverCpu0) / measuredSeconds * 100.0;
			json << ",\"server_cpu_percent\":" << fixed(serverShare, 1);
		}
		if (o.serverPid && t.deliveredMeasured > 0)
		{
			const double serverUs = (serverCpu1 - serverCpu0) * 1e6 / static_cast<double>(t.deliveredMeasured);
			std::cout << "; server CPU " << fixed(serverUs, 1) << " us per delivered message";
			json << ",\"server_cpu_us_per_message\":" << fixed(serverUs, 2);
		}
		std::cout << "\n";
	}
	json << "}";
	if (o.json) std::cout << json.str() << std::endl;
	bool clean = t.loggedIn == total && t.lost == 0 && t.duplicated == 0 && t.reordered == 0 && t.foreign == 0;
	if (group || history || mix) clean = clean && t.disconnected == 0 && unanswered == 0 && t.acceptedOk > 0;
	if (group) clean = clean && t.refused == 0; // history resends what SERVER_BUSY refused
	if (history) clean = clean && hf.errors == 0;
	return clean ? 0 : 1;
}
