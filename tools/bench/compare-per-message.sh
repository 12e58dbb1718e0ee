#!/usr/bin/env bash
# imgate beside Mosquitto where messages do not batch (issue 18): many
# sessions with one message in flight each, one pair's latency tail, and a
# realistic mix; one script, one machine (docs/benchmarks.md). Builds what
# is missing, installs Mosquitto from Debian if missing, starts a fresh
# server for every run, and in each round runs every row on imgate and on
# Mosquitto one after the other, so that the machine's noise falls on both;
# prints the medians of RUNS rounds as a Markdown table and keeps every
# run's JSON line in $BUILD_DIR/bench/per-message.jsonl.
#
#   tools/bench/compare-per-message.sh      # RUNS=3 DURATION=10 SESSIONS=19000
#   RUNS=1 SESSIONS=2000 DURATION=3 tools/bench/compare-per-message.sh   # a quick look
#   SCENARIOS=mix RUNS=1 tools/bench/compare-per-message.sh              # one scenario
#   IMGATED=/path/to/other/imgated tools/bench/compare-per-message.sh    # another build
#   BASE_IMGATED=/path/to/old/imgated tools/bench/compare-per-message.sh # before and after in one run
#
# Scenarios (SCENARIOS, default "p5kw1 p1kw16 p1w1 mix"; imgate-bench
# --threads 1, 8 loopback source addresses, 64-byte payloads; imgate:
# anonymous logins, store.type = sqlite with store.sync = full unless said;
# Mosquitto 2.0: MQTT 3.1.1, QoS 1, persistence off):
#   p5kw1   5,000 pairs x window 1: imgate sqlite, imgate memory store, Mosquitto
#   p1kw16  1,000 pairs x window 16: imgate sqlite, imgate memory store, Mosquitto
#   p1w1    1 pair x window 1: latency p50/p99/p99.9/max (imgate sqlite; Mosquitto)
#   mix     SESSIONS sessions, each sending one message every INTERVAL s
#           (default 5) to a random other session: server CPU % and
#           latency (imgate sqlite; Mosquitto)
# BASE_IMGATED adds rows for an earlier build (before a change), run
# with the same configuration right after each imgate row.
# Mosquitto runs with set_tcp_nodelay true (MOSQUITTO_NODELAY=0: its
# default, Nagle on): imgate and imgate-bench set TCP_NODELAY, and with
# Nagle on a subscriber that gets two PUBLISHes close together waits for
# the generator's delayed ACK, about 40 ms (measured: the 19,000 x 5 s
# mix's p99.9 35 ms and max 45 ms instead of 2.7 and 8 ms; with 50
# sessions every 0.2 s its p99 37 ms). 5,000 x 1 is the same either way
# (36,000 msg/s, 27-28 us CPU per message).
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
SESSIONS=${SESSIONS:-19000}
INTERVAL=${INTERVAL:-5}
SCENARIOS=${SCENARIOS:-p5kw1 p1kw16 p1w1 mix}
MOSQUITTO_NODELAY=${MOSQUITTO_NODELAY:-1}
PORT_IMGATE=${PORT_IMGATE:-7790}
PORT_MQTT=${PORT_MQTT:-18830}
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8

for scenario in $SCENARIOS; do
	case $scenario in
		p5kw1|p1kw16|p1w1|mix) ;;
		*) echo "compare-per-message: unknown scenario \"$scenario\" in SCENARIOS (expected p5kw1, p1kw16, p1w1, mix)" >&2; exit 2 ;;
	esac
done

tools/dev.sh deps mosquitto python3 >/dev/null
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
if [ -n "${IMGATED:-}" ]; then
	cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgate-bench >/dev/null
	[ -x "$IMGATED" ] || { echo "compare-per-message: IMGATED=$IMGATED is not an executable" >&2; exit 2; }
else
	cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
	IMGATED="$BUILD_DIR/server/imgated"
fi
if [ -n "${BASE_IMGATED:-}" ] && [ ! -x "$BASE_IMGATED" ]; then
	echo "compare-per-message: BASE_IMGATED=$BASE_IMGATED is not an executable" >&2; exit 2
fi
BENCH="$BUILD_DIR/tools/bench/imgate-bench"
source tools/bench/lib.sh
bench_init compare-per-message
OUT="$BUILD_DIR/bench"
mkdir -p "$OUT"
RESULTS="$OUT/per-message.jsonl"
: >"$RESULTS"

start_imgated() { # start_imgated STORE [BINARY] (sqlite: sync = full; memory)
	rm -rf "$WORK/data" && mkdir -p "$WORK/data"
	{
		echo "server.address = 127.0.0.1"
		echo "server.port = $PORT_IMGATE"
		echo "store.type = $1"
		echo "store.path = $WORK/data/imgate.db"
		echo "store.sync = full"
		echo "store.maxPendingPerRecipient = 1000000"
		echo "auth.allowAnonymous = true"
	} >"$WORK/imgate.properties"
	start_imgated_binary "${2:-$IMGATED}"
}

start_mosquitto() {
	if [ "$MOSQUITTO_NODELAY" = 1 ]; then
		start_mosquitto_on "$PORT_MQTT" "set_tcp_nodelay true"
	else
		start_mosquitto_on "$PORT_MQTT"
	fi
}

bench() { # bench SCENARIO SERVER ARGS...: one run on the running server, its JSON line tagged and kept
	local scenario=$1 server=$2 port=$PORT_IMGATE protocol=imgate; shift 2
	if [ "$server" = mosquitto ]; then port=$PORT_MQTT; protocol=mqtt; fi
	bench_run "\"run_scenario\":\"$scenario\",\"server\":\"$server\"" "$scenario on $server" "$port" --protocol "$protocol" "$@"
}

row() { # row SCENARIO "STORES" ARGS...: the scenario on a fresh imgated per store, then on a fresh Mosquitto
	local scenario=$1 stores=$2 store; shift 2
	for store in $stores; do
		start_imgated "$store"
		bench "$scenario" "imgate-$store" "$@"
		stop_server
		if [ -n "${BASE_IMGATED:-}" ]; then
			start_imgated "$store" "$BASE_IMGATED"
			bench "$scenario" "base-$store" "$@"
			stop_server
		fi
	done
	start_mosquitto
	bench "$scenario" mosquitto "$@"
	stop_server
}

for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS ($IMGATED)" >&2
	for scenario in $SCENARIOS; do
		case $scenario in
			p5kw1) row p5kw1 "sqlite memory" --scenario msg --pairs 5000 --window 1 --duration "$DURATION" ;;
			p1kw16) row p1kw16 "sqlite memory" --scenario msg --pairs 1000 --window 16 --duration "$DURATION" ;;
			p1w1) row p1w1 sqlite --scenario msg --pairs 1 --window 1 --duration "$DURATION" ;;
			mix) row mix sqlite --scenario mix --sessions "$SESSIONS" --interval "$INTERVAL" --duration "$DURATION" ;;
		esac
	done
done

python3 - "$RESULTS" "$RUNS" "$SESSIONS" "$INTERVAL" "$MOSQUITTO_NODELAY" "$SCENARIOS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs, sessions, interval, nodelay, scenarios = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6].split()
def med(rs, key):
    v = [r[key] for r in rs if key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
names = {"p5kw1": "5,000 pairs × window 1", "p1kw16": "1,000 pairs × window 16", "p1w1": "1 pair × window 1",
         "mix": f"mix: {sessions:,} sessions, 1 msg / {interval:g} s each to a random other ({sessions / interval:,.0f} msg/s)"}
servers = {"imgate-sqlite": "imgate, sqlite (sync = full)", "base-sqlite": "imgate before (BASE_IMGATED), sqlite",
           "imgate-memory": "imgate, memory store", "base-memory": "imgate before (BASE_IMGATED), memory store",
           "mosquitto": "Mosquitto, QoS 1" + (", nodelay" if nodelay == "1" else "")}
print(f"medians of {runs} run(s) (max µs too); imgate-bench --threads 1, 8 source addresses, 64-byte payloads\n")
print("| scenario | server/store | msg/s | p50 µs | p99 µs | p99.9 µs | max µs | server µs CPU/msg | server CPU % | lost/dup/reord |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
for scenario in scenarios:
    for server in ["imgate-sqlite", "base-sqlite", "imgate-memory", "base-memory", "mosquitto"]:
        rs = [r for r in rows if r["run_scenario"] == scenario and r["server"] == server]
        if not rs:
            continue
        lost = sum(r.get("lost", 0) for r in rs)
        dup = sum(r.get("duplicated", 0) for r in rs)
        reord = sum(r.get("reordered", 0) for r in rs)
        failed = sum(r.get("failed", 0) + r.get("disconnected", 0) for r in rs)
        note = f" (failed {failed})" if failed else ""
        print(f"| {names[scenario]} | {servers[server]} | {fmt(med(rs, 'msg_per_second'))} | "
              f"{fmt(med(rs, 'latency_p50_us'))} | {fmt(med(rs, 'latency_p99_us'))} | {fmt(med(rs, 'latency_p999_us'))} | "
              f"{fmt(med(rs, 'latency_max_us'))} | {fmt(med(rs, 'server_cpu_us_per_message'), 1)} | "
              f"{fmt(med(rs, 'server_cpu_percent'), 1)} | {lost}/{dup}/{reord}{note} |")
mix = [r for r in rows if r["run_scenario"] == "mix"]
if mix:
    print("\nmix, the generator: " + "; ".join(
        f"{r['server']}: CPU {r.get('generator_cpu_percent', 0):.0f} %, sends late p99 {r.get('send_lag_p99_us', 0):,.0f} µs, "
        f"skipped {r.get('skipped', 0)}, to sessions gone {r.get('to_gone', 0)}, server bytes/session {r.get('bytes_per_session', '–')}"
        for r in mix))
PY
