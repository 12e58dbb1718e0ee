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
// Every phase is bounded in time: the run always stops by itself. Exit
// status 0 when every session logged in and nothing was lost, duplicated
// or reordered; 1 otherwise; 2 for a bad command line.
//

#include "tools/bench/Options.h"
#include "tools/bench/ProcessStats.h"
#include "tools/bench/Run.h"
#include "tools/bench/Worker.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"
#include "Poco/String.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

using namespace imgate::bench;

namespace {

struct Totals
{
	std::uint64_t loggedIn = 0, connectFailed = 0, loginRefused = 0, disconnected = 0;
	std::uint64_t sent = 0, acceptedOk = 0, refused = 0, delivered = 0, deliveredMeasured = 0;
	std::uint64_t duplicated = 0, reordered = 0, foreign = 0, lost = 0;
	std::int64_t lastLoginNs = 0;
	std::vector<std::int64_t> latencyNs;
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
		if (withLatency) t.latencyNs.insert(t.latencyNs.end(), c.latencyNs.begin(), c.latencyNs.end());
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

} // namespace


int main(int argc, char** argv)
{
	Run run;
	run.options = Options::parse(argc, argv);
	const Options& o = run.options;
	const bool msg = o.scenario == "msg";
	const unsigned total = msg ? 2 * o.pairs : o.sessions;

	std::string secret;
	if (!o.jwtSecretFile.empty())
	{
		std::ifstream in(o.jwtSecretFile);
		std::stringstream ss;
		ss << in.rdbuf();
		secret = Poco::trimRight(ss.str());
		if (!in || secret.size() < 32) Options::usage(("--jwt-secret: cannot read a secret of 32 bytes or more from " + o.jwtSecretFile).c_str());
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
	}

	const long rssBefore = o.serverPid ? ProcessStats::rssKiB(o.serverPid) : -1;
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
	const double connectSeconds = static_cast<double>((connected.lastLoginNs ? connected.lastLoginNs : nowNs()) - run.startNs) / 1e9;

	long rssAfter = -1;
	double serverCpu0 = 0, serverCpu1 = 0, selfCpu0 = 0, selfCpu1 = 0;
	double measuredSeconds = 0;
	if (!msg)
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
		run.phase = static_cast<int>(Phase::WARMUP);
		sleepMs(static_cast<long>(o.warmup) * 1000);
		if (o.serverPid) serverCpu0 = ProcessStats::cpuSeconds(o.serverPid);
		selfCpu0 = ProcessStats::selfCpuSeconds();
		const std::int64_t measureStart = nowNs();
		run.phase = static_cast<int>(Phase::MEASURE);
		for (unsigned s = 0; s < o.duration; ++s)
		{
			sleepMs(1000);
			if (o.duration >= 5) progress("measure");
		}
		run.phase = static_cast<int>(Phase::DRAIN);
		measuredSeconds = static_cast<double>(nowNs() - measureStart) / 1e9;
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
			if (unique >= t.acceptedOk && t.sent == t.acceptedOk + t.refused) break;
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
	const std::uint64_t failed = t.connectFailed + t.loginRefused;
	const double sessionsPerSecond = connectSeconds > 0 ? static_cast<double>(t.loggedIn) / connectSeconds : 0;

	std::ostringstream json;
	json << "{\"scenario\":\"" << o.scenario << "\",\"protocol\":\"" << o.protocol << "\""
		<< (o.protocol == "mqtt" ? ",\"qos\":" + std::to_string(o.qos) : std::string()) << ",\"threads\":" << o.threads << ",\"sessions\":" << total
		<< ",\"logged_in\":" << t.loggedIn << ",\"failed\":" << failed << ",\"disconnected\":" << t.disconnected
		<< ",\"connect_seconds\":" << fixed(connectSeconds, 3) << ",\"sessions_per_second\":" << fixed(sessionsPerSecond, 0);
	std::cout << "imgate-bench " << o.scenario << ": " << t.loggedIn << "/" << total << " sessions logged in in "
		<< fixed(connectSeconds, 2) << " s (" << fixed(sessionsPerSecond, 0) << " sessions/s), " << failed << " failed ("
		<< t.connectFailed << " connect, " << t.loginRefused << " login refused), " << t.disconnected << " disconnected\n";
	if (!msg)
	{
		std::cout << "  held " << o.hold << " s with heartbeats every " << o.heartbeat << " s\n";
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
		const double generatorShare = measuredSeconds > 0 ? (selfCpu1 - selfCpu0) / measuredSeconds * 100.0 : 0;
		std::cout << "  " << o.pairs << " pairs, window " << o.window << ", payload " << o.payload << " B, " << fixed(measuredSeconds, 1) << " s measured\n"
			<< "  delivered " << fixed(rate, 0) << " msg/s; latency p50 " << fixed(p50, 1) << " us, p99 " << fixed(p99, 1) << " us, p99.9 " << fixed(p999, 1) << " us\n"
			<< "  sent " << t.sent << ", accepted " << t.acceptedOk << ", refused " << t.refused << ", delivered " << t.delivered
			<< "; lost " << t.lost << ", duplicated " << t.duplicated << ", reordered " << t.reordered << ", foreign " << t.foreign << "\n"
			<< "  generator CPU " << fixed(generatorShare, 0) << " % of a core";
		json << ",\"pairs\":" << o.pairs << ",\"window\":" << o.window << ",\"payload\":" << o.payload
			<< ",\"measured_seconds\":" << fixed(measuredSeconds, 3) << ",\"msg_per_second\":" << fixed(rate, 0)
			<< ",\"latency_p50_us\":" << fixed(p50, 1) << ",\"latency_p99_us\":" << fixed(p99, 1) << ",\"latency_p999_us\":" << fixed(p999, 1)
			<< ",\"sent\":" << t.sent << ",\"accepted\":" << t.acceptedOk << ",\"refused\":" << t.refused << ",\"delivered\":" << t.delivered
			<< ",\"lost\":" << t.lost << ",\"duplicated\":" << t.duplicated << ",\"reordered\":" << t.reordered << ",\"foreign\":" << t.foreign
			<< ",\"generator_cpu_percent\":" << fixed(generatorShare, 1);
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
	const bool clean = t.loggedIn == total && t.lost == 0 && t.duplicated == 0 && t.reordered == 0 && t.foreign == 0;
	return clean ? 0 : 1;
}
