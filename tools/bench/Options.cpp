//
// Options.cpp
//
// imgate-bench: the command line.
//

#include "tools/bench/Options.h"
#include "Poco/NumberParser.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"
#include "Poco/URI.h"
#include <cstdlib>
#include <iostream>

namespace imgate {
namespace bench {

void Options::usage(const char* error)
{
	if (error) std::cerr << "imgate-bench: " << error << "\n";
	std::cerr <<
		"usage: imgate-bench --scenario conn|msg|group|history|mix [options]\n"
		"  --protocol imgate|mqtt       imgate v1, or MQTT 3.1.1 (for Mosquitto) (imgate)\n"
		"  --qos 0|1                    mqtt: QoS of PUBLISH and SUBSCRIBE (1); at 0 a send\n"
		"                               leaves the window when the peer receives it (mix: it\n"
		"                               counts as accepted once written)\n"
		"  --host H --port P            server (127.0.0.1:7700)\n"
		"  --sources A,B,...            local addresses, round robin (127.0.0.1)\n"
		"  --tls                        TLS to --host/--port (the server's TLS listener)\n"
		"  --ws URL                     WebSocket: ws://HOST:PORT/PATH, or wss://... over TLS; HOST\n"
		"                               an IPv4 address; subprotocol imgate.v1 (mqtt for --protocol mqtt)\n"
		"  --ca FILE                    with --tls or wss://: verify the server's certificate against\n"
		"                               the CAs in FILE (PEM); without, it is not verified (the\n"
		"                               handshake still costs the server the same)\n"
		"  --threads N                  load-generator threads (1)\n"
		"  --jwt-secret FILE            mint HS256 tokens (sub = uid); default anonymous login\n"
		"  --uid-prefix TEXT            uids are TEXT-<n> (bench)\n"
		"  --server-pid PID             report the server's RSS and CPU time\n"
		"  --connect-timeout S          every session must log in within S seconds (60)\n"
		"  --json                       also print one JSON line\n"
		"  --quiet                      no progress lines\n"
		" conn: --sessions N (1000) --rate R per second (0: unthrottled) --hold S (10) --heartbeat S (20)\n"
		" msg:  --pairs P (1) --window W (1) --payload B (64) --duration S (10) --warmup S (2) --drain S (15)\n"
		"       --split-port P2: each pair's second session on --host:P2 (another cluster node)\n"
		" mix:  --sessions N (1000) online, each sending one message every --interval S seconds (5;\n"
		"       fractions allowed) to a random other session, the first at a random point of the\n"
		"       first interval; --payload B (64, at least 32) --duration --warmup --drain as msg,\n"
		"       --heartbeat S (20) when a session has sent nothing for S seconds\n"
		" group: --groups G (1) --members M (100) --senders S per group (1) --rate R messages/s per group\n"
		"       (0: closed loop) --window W per sender (16) --payload --duration --warmup --drain as msg;\n"
		"       groups created through --admin-port P (7780; 0: the caller created them)\n"
		"       --admin-host H (--host) --admin-token-file FILE (none)\n"
		" history: --messages N (1000000) --peers P (4) --window W per peer (64) --requests K (1000)\n"
		"       --limit L (50) --fill-timeout S (900) --payload B (64)\n";
	std::exit(2);
}


Options Options::parse(int argc, char** argv)
{
	Options o;
	for (int i = 1; i < argc; ++i)
	{
		const std::string a = argv[i];
		auto value = [&]() -> std::string
		{
			if (i + 1 >= argc) usage((a + " needs a value").c_str());
			return argv[++i];
		};
		auto number = [&](unsigned min, unsigned max) -> unsigned
		{
			const std::string text = value();
			unsigned v;
			if (!Poco::NumberParser::tryParseUnsigned(text, v) || v < min || v > max)
				usage((a + ": expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", got \"" + text + "\"").c_str());
			return v;
		};
		if (a == "--scenario")
		{
			o.scenario = value();
			if (o.scenario != "conn" && o.scenario != "msg" && o.scenario != "group" && o.scenario != "history" && o.scenario != "mix")
				usage("--scenario: expected conn, msg, group, history or mix");
		}
		else if (a == "--protocol")
		{
			o.protocol = value();
			if (o.protocol != "imgate" && o.protocol != "mqtt") usage("--protocol: expected imgate or mqtt");
		}
		else if (a == "--qos") o.qos = number(0, 1);
		else if (a == "--host") o.host = value();
		else if (a == "--port")
		{
			o.port = number(1, 65535);
			o.portGiven = true;
		}
		else if (a == "--split-port") o.splitPort = number(1, 65535);
		else if (a == "--tls") o.tls = true;
		else if (a == "--ca") o.ca = value();
		else if (a == "--ws") o.ws = value();
		else if (a == "--sources")
		{
			Poco::StringTokenizer t(value(), ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
			o.sources.assign(t.begin(), t.end());
			if (o.sources.empty()) usage("--sources: expected at least one address");
		}
		else if (a == "--threads") o.threads = number(1, 64);
		else if (a == "--sessions") o.sessions = number(1, 1000000);
		else if (a == "--rate")
		{
			const std::string text = value();
			if (!Poco::NumberParser::tryParseFloat(text, o.rate) || o.rate < 0) usage("--rate: expected a rate per second, 0 or more");
		}
		else if (a == "--interval")
		{
			const std::string text = value();
			if (!Poco::NumberParser::tryParseFloat(text, o.interval) || !(o.interval >= 0.001) || o.interval > 86400)
				usage(("--interval: expected seconds from 0.001 to 86400, got \"" + text + "\"").c_str());
		}
		else if (a == "--hold") o.hold = number(0, 86400);
		else if (a == "--heartbeat") o.heartbeat = number(1, 3600);
		else if (a == "--pairs") o.pairs = number(1, 500000);
		else if (a == "--window")
		{
			o.window = number(1, 4096);
			o.windowGiven = true;
		}
		else if (a == "--groups") o.groups = number(1, 100000);
		else if (a == "--members") o.members = number(2, 100000);
		else if (a == "--senders") o.senders = number(1, 100000);
		else if (a == "--admin-host") o.adminHost = value();
		else if (a == "--admin-port") o.adminPort = number(0, 65535);
		else if (a == "--admin-token-file") o.adminTokenFile = value();
		else if (a == "--messages") o.messages = number(1, 100000000);
		else if (a == "--requests") o.requests = number(1, 10000000);
		else if (a == "--peers") o.peers = number(1, 1000);
		else if (a == "--limit") o.limit = number(1, 200);
		else if (a == "--fill-timeout") o.fillTimeout = number(1, 86400);
		else if (a == "--payload") o.payload = number(24, 32768);
		else if (a == "--duration") o.duration = number(1, 86400);
		else if (a == "--warmup") o.warmup = number(0, 3600);
		else if (a == "--drain") o.drain = number(1, 3600);
		else if (a == "--jwt-secret") o.jwtSecretFile = value();
		else if (a == "--uid-prefix") o.uidPrefix = value();
		else if (a == "--server-pid") o.serverPid = static_cast<int>(number(1, 1u << 30));
		else if (a == "--connect-timeout") o.connectTimeout = number(1, 3600);
		else if (a == "--json") o.json = true;
		else if (a == "--quiet") o.quiet = true;
		else if (a == "--help" || a == "-h") usage(nullptr);
		else usage(("unknown option " + a).c_str());
	}
	if (o.qos != 1 && o.protocol != "mqtt") usage("--qos: only with --protocol mqtt (imgate acknowledges every MSG_SEND)");
	if (o.qos != 1 && o.scenario != "msg" && o.scenario != "conn" && o.scenario != "mix") usage("--qos 0: only with --scenario msg or mix (a group send needs its PUBACK to leave the window)");
	if (!o.ws.empty())
	{
		Poco::URI uri;
		try
		{
			uri = Poco::URI(o.ws);
		}
		catch (Poco::Exception& exc)
		{
			usage(("--ws: " + exc.displayText()).c_str());
		}
		const std::string scheme = Poco::toLower(uri.getScheme());
		if (scheme != "ws" && scheme != "wss") usage("--ws: expected a ws:// or wss:// URL");
		if (o.tls) usage("--ws and --tls exclude each other (wss:// is WebSocket over TLS)");
		o.wss = scheme == "wss";
		const unsigned port = uri.getSpecifiedPort() ? uri.getSpecifiedPort() : (o.wss ? 443 : 80);
		if (o.portGiven && port != o.port) usage("--ws: the URL's port and --port differ");
		o.host = uri.getHost();
		o.port = port;
		o.wsPath = uri.getPathEtc().empty() ? "/" : uri.getPathEtc();
	}
	if (!o.ca.empty() && !o.secure()) usage("--ca: only with --tls or a wss:// URL");
	if (o.scenario == "history" && (o.tls || !o.ws.empty())) usage("--scenario history: plain TCP only");
	if (o.scenario == "group")
	{
		if (o.senders >= o.members) usage("--senders: must be fewer than --members (a message needs a member to receive it)");
		if (!o.windowGiven) o.window = 16;
		if (o.adminHost.empty()) o.adminHost = o.host;
		if (static_cast<unsigned long long>(o.groups) * o.members > 1000000) usage("--groups x --members: at most 1,000,000 sessions");
	}
	if (o.scenario == "mix")
	{
		if (o.sessions < 2) usage("--scenario mix: --sessions must be 2 or more (each sends to another)");
		if (o.payload < 32) usage("--scenario mix: --payload must be 32 bytes or more (sender, sequence, send time, receiver)");
		// What the run tracks per message (Run::mixCapacity): refused
		// rather than filling the memory.
		const double perSession = (o.warmup + o.duration + 2.0) / o.interval + 3;
		if (perSession * o.sessions > 200e6) usage("--scenario mix: more than 200,000,000 messages in one run (--sessions x (--warmup + --duration) / --interval)");
	}
	if (o.scenario == "history")
	{
		if (o.protocol != "imgate") usage("--scenario history: imgate only (MQTT has no history)");
		if (!o.windowGiven) o.window = 64;
	}
	return o;
}

} } // namespace imgate::bench
