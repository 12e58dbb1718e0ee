#!/usr/bin/env bash
# imgate beside Mosquitto, one script, one machine (docs/benchmarks.md).
# Builds what is missing, installs Mosquitto from Debian if missing, starts
# both servers itself (a fresh server for every run), runs the scenarios
# RUNS times each (default 3) and prints the medians as a Markdown table;
# every run's JSON line is kept in $BUILD_DIR/bench/compare.jsonl.
#
#   tools/bench/compare.sh                # RUNS=3 SESSIONS=19000 DURATION=10
#   RUNS=1 SESSIONS=2000 DURATION=3 tools/bench/compare.sh   # a quick look
#
# Scenarios (imgate: imgate v1; Mosquitto 2.0.11: MQTT 3.1.1, QoS 1,
# persistence off; 64-byte payloads; imgate-bench --threads 1, 8 loopback
# source addresses):
#   idle    SESSIONS sessions, unthrottled, held 5 s with a heartbeat every 2 s: setup
#           rate and server RSS per session (imgate: anonymous, memory store)
#   login   the same with the auth-jwt plugin on (HS256 tokens)
#   p1w1    1 pair x window 1: latency (imgate: sqlite, sync=full)
#   p1kw16  1,000 pairs x window 16: throughput and CPU (imgate: sqlite, sync=full)
#   mem     1,000 pairs x window 16 with imgate's memory store
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
SESSIONS=${SESSIONS:-19000}
DURATION=${DURATION:-10}
PORT_IMGATE=${PORT_IMGATE:-7790}
PORT_MQTT=${PORT_MQTT:-18830}
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8

tools/dev.sh deps mosquitto python3 >/dev/null
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench ratelimit blacklist auth-jwt >/dev/null
BENCH="$BUILD_DIR/tools/bench/imgate-bench"
IMGATED="$BUILD_DIR/server/imgated"
source tools/bench/lib.sh
bench_init compare
OUT="$BUILD_DIR/bench"
mkdir -p "$OUT"
RESULTS="$OUT/compare.jsonl"
: >"$RESULTS"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/jwt.secret"

start_imgated() { # start_imgated STORE [plugins]
	rm -rf "$WORK/data" && mkdir -p "$WORK/data"
	{
		echo "server.address = 127.0.0.1"
		echo "server.port = $PORT_IMGATE"
		echo "store.type = $1"
		echo "store.path = $WORK/data/imgate.db"
		echo "store.sync = full"
		echo "store.maxPendingPerRecipient = 1000000"
		if [ "${2:-}" = jwt ]; then
			echo "auth.allowAnonymous = false"
			echo "plugins.dir = $BUILD_DIR/plugins"
			echo "plugins.load = auth-jwt"
			echo "plugins.auth-jwt.secretFile = $WORK/jwt.secret"
		else
			echo "auth.allowAnonymous = true"
		fi
	} >"$WORK/imgate.properties"
	start_imgated_binary "$IMGATED"
}

start_mosquitto() {
	start_mosquitto_on "$PORT_MQTT"
}

bench() { # bench SCENARIO SERVER ARGS...: one run, its JSON line tagged and kept
	local scenario=$1 server=$2 port=$PORT_IMGATE; shift 2
	[ "$server" = mosquitto ] && port=$PORT_MQTT
	bench_run "\"run_scenario\":\"$scenario\",\"server\":\"$server\"" "$scenario on $server" "$port" "$@"
}

both() { # both SCENARIO IMGATE_STORE ARGS...: the scenario on imgate, then on Mosquitto
	local scenario=$1 store=$2; shift 2
	start_imgated "$store"
	bench "$scenario" imgate --protocol imgate "$@"
	stop_server
	start_mosquitto
	bench "$scenario" mosquitto --protocol mqtt "$@"
	stop_server
}

for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS" >&2
	both idle memory --scenario conn --sessions "$SESSIONS" --hold 5 --heartbeat 2

	start_imgated memory jwt
	bench login imgate --protocol imgate --scenario conn --sessions "$SESSIONS" --hold 1 --jwt-secret "$WORK/jwt.secret"
	stop_server

	both p1w1 sqlite --scenario msg --pairs 1 --window 1 --duration "$DURATION"
	both p1kw16 sqlite --scenario msg --pairs 1000 --window 16 --duration "$DURATION"

	start_imgated memory
	bench mem imgate --protocol imgate --scenario msg --pairs 1000 --window 16 --duration "$DURATION"
	stop_server
done

python3 - "$RESULTS" "$RUNS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = sys.argv[2]
def med(scenario, server, key):
    v = [r[key] for r in rows if r["run_scenario"] == scenario and r["server"] == server and key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
print(f"medians of {runs} runs; imgate-bench --threads 1, 8 source addresses, 64-byte payloads\n")
print("| scenario | server | sessions/s | bytes/session | msg/s | p50 µs | p99 µs | p99.9 µs | server µs CPU/msg | generator CPU % | lost/dup/reord |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
names = {"idle": "idle sessions", "login": "login with auth-jwt (HS256)", "p1w1": "1 pair × window 1 (imgate: sqlite full)",
         "p1kw16": "1,000 pairs × window 16 (imgate: sqlite full)", "mem": "1,000 pairs × window 16 (imgate: memory store)"}
for scenario in ["idle", "login", "p1w1", "p1kw16", "mem"]:
    for server in ["imgate", "mosquitto"]:
        if not any(r["run_scenario"] == scenario and r["server"] == server for r in rows):
            continue
        bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in rows if r["run_scenario"] == scenario and r["server"] == server)
        failed = sum(r.get("failed", 0) + r.get("disconnected", 0) for r in rows if r["run_scenario"] == scenario and r["server"] == server)
        msg = scenario not in ("idle", "login")
        print(f"| {names[scenario]} | {server} | {fmt(med(scenario, server, 'sessions_per_second'))} | "
              f"{fmt(med(scenario, server, 'bytes_per_session')) if not msg else '–'} | "
              f"{fmt(med(scenario, server, 'msg_per_second')) if msg else '–'} | "
              f"{fmt(med(scenario, server, 'latency_p50_us')) if msg else '–'} | {fmt(med(scenario, server, 'latency_p99_us')) if msg else '–'} | "
              f"{fmt(med(scenario, server, 'latency_p999_us')) if msg else '–'} | {fmt(med(scenario, server, 'server_cpu_us_per_message'), 1) if msg else '–'} | "
              f"{fmt(med(scenario, server, 'generator_cpu_percent')) if msg else '–'} | {bad if msg else ('failed ' + str(failed))} |")
PY
