#!/usr/bin/env bash
# Protocol 1.1 groups and HISTORY: imgate beside Mosquitto, one script, one
# machine (docs/benchmarks.md, "Groups and history"). Like compare.sh: builds
# what is missing, installs Mosquitto from Debian if missing, starts a fresh
# server for every run, runs each row RUNS times (default 3) and prints the
# medians as a Markdown table; every run's JSON line is kept in
# $BUILD_DIR/bench/compare-groups.jsonl.
#
#   tools/bench/compare-groups.sh            # RUNS=3 DURATION=10 MESSAGES=1000000
#   RUNS=1 DURATION=3 MESSAGES=50000 REQUESTS=200 MEMBERS_1=300 GROUPS_N=20 tools/bench/compare-groups.sh  # a quick look
#
# Rows (imgate: protocol 1.1, sqlite store with store.sync = full, history
# kept (store.historyRetention default, 7 days), groups made by the bench
# through the admin API with a bearer token; Mosquitto 2.0.11: MQTT 3.1.1,
# QoS 1, persistence off, set_tcp_nodelay on, one topic per group that every
# member subscribes to; 64-byte payloads; imgate-bench --threads 1, 8
# loopback source addresses):
#   g1      1 group x MEMBERS_1 (1,000) members, one sender at RATE_1 (10)
#           messages/s: latency from MSG_SEND to each member and to the last
#   gN      GROUPS_N (100) groups x MEMBERS_N (100) members, one sender per
#           group, closed loop with WINDOW_N (4) unacknowledged sends each:
#           member deliveries/s and server CPU per delivery
#   history one uid's inbox filled with MESSAGES (1,000,000) from 4 peers,
#           then REQUESTS (1,000) HISTORY pages of 50 (imgate only)
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
MEMBERS_1=${MEMBERS_1:-1000}
RATE_1=${RATE_1:-10}
GROUPS_N=${GROUPS_N:-100}
MEMBERS_N=${MEMBERS_N:-100}
WINDOW_N=${WINDOW_N:-4}
MESSAGES=${MESSAGES:-1000000}
REQUESTS=${REQUESTS:-1000}
PORT_IMGATE=${PORT_IMGATE:-7790}
PORT_ADMIN=${PORT_ADMIN:-7791}
PORT_MQTT=${PORT_MQTT:-18830}
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8

tools/dev.sh deps mosquitto python3 >/dev/null
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
BENCH="$BUILD_DIR/tools/bench/imgate-bench"
IMGATED="$BUILD_DIR/server/imgated"
source tools/bench/lib.sh
bench_init compare-groups
OUT="$BUILD_DIR/bench"
mkdir -p "$OUT"
RESULTS="$OUT/compare-groups.jsonl"
: >"$RESULTS"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/admin.token"

start_imgated() {
	rm -rf "$WORK/data" && mkdir -p "$WORK/data"
	cat >"$WORK/imgate.properties" <<PROPS
server.address = 127.0.0.1
server.port = $PORT_IMGATE
store.type = sqlite
store.path = $WORK/data/imgate.db
store.sync = full
store.maxPendingPerRecipient = 1000000
auth.allowAnonymous = true
admin.address = 127.0.0.1
admin.port = $PORT_ADMIN
admin.tokenFile = $WORK/admin.token
PROPS
	start_imgated_binary "$IMGATED"
}

start_mosquitto() {
	# Without TCP_NODELAY, Nagle's algorithm adds up to 40 ms to its fan-out.
	start_mosquitto_on "$PORT_MQTT" "set_tcp_nodelay true"
}

bench() { # bench ROW SERVER ARGS...: one run, its JSON line tagged and kept
	local row=$1 server=$2 port=$PORT_IMGATE; shift 2
	[ "$server" = mosquitto ] && port=$PORT_MQTT
	bench_run "\"row\":\"$row\",\"server\":\"$server\"" "$row on $server" "$port" "$@"
}

both() { # both ROW ARGS...: a group row on imgate, then on Mosquitto
	local row=$1; shift
	start_imgated
	bench "$row" imgate --protocol imgate --admin-port "$PORT_ADMIN" --admin-token-file "$WORK/admin.token" "$@"
	stop_server
	start_mosquitto
	bench "$row" mosquitto --protocol mqtt "$@"
	stop_server
}

for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS" >&2
	both g1 --scenario group --groups 1 --members "$MEMBERS_1" --rate "$RATE_1" --duration "$DURATION"
	both gN --scenario group --groups "$GROUPS_N" --members "$MEMBERS_N" --window "$WINDOW_N" --duration "$DURATION"
	start_imgated
	bench history imgate --protocol imgate --scenario history --messages "$MESSAGES" --requests "$REQUESTS"
	stop_server
done

python3 - "$RESULTS" "$RUNS" "$MEMBERS_1" "$RATE_1" "$GROUPS_N" "$MEMBERS_N" "$WINDOW_N" "$MESSAGES" "$REQUESTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs, m1, r1, gn, mn, wn, messages, requests = sys.argv[2:10]
def pick(row, server):
    return [r for r in rows if r["row"] == row and r["server"] == server]
def med(row, server, key):
    v = [r[key] for r in pick(row, server) if key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0, scale=1):
    return "–" if v is None else f"{v / scale:,.{digits}f}"
print(f"medians of {runs} runs; imgate-bench --threads 1, 8 source addresses, 64-byte payloads; imgate: sqlite, store.sync = full\n")
print("| row | server | member deliveries/s | send→member p50 ms | p99 ms | p99.9 ms | send→last member p50 ms | p99 ms | server µs CPU/delivery | generator CPU % | lost/dup/reord | behind schedule |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
names = {"g1": f"1 group × {int(m1):,} members, {r1} msg/s", "gN": f"{int(gn):,} groups × {int(mn):,} members, closed loop, window {wn}"}
for row in ["g1", "gN"]:
    for server in ["imgate", "mosquitto"]:
        if not pick(row, server):
            continue
        bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) + r.get("foreign", 0) for r in pick(row, server))
        failed = sum(r.get("failed", 0) + r.get("disconnected", 0) + r.get("refused", 0) + r.get("unanswered", 0) for r in pick(row, server))
        print(f"| {names[row]} | {server} | {fmt(med(row, server, 'deliveries_per_second'))} | "
              f"{fmt(med(row, server, 'latency_p50_us'), 1, 1000)} | {fmt(med(row, server, 'latency_p99_us'), 1, 1000)} | "
              f"{fmt(med(row, server, 'latency_p999_us'), 1, 1000)} | {fmt(med(row, server, 'last_p50_us'), 1, 1000)} | "
              f"{fmt(med(row, server, 'last_p99_us'), 1, 1000)} | {fmt(med(row, server, 'server_cpu_us_per_delivery'), 1)} | "
              f"{fmt(med(row, server, 'generator_cpu_percent'))} | {bad}{'' if not failed else f' (failed/refused {failed})'} | "
              f"{fmt(med(row, server, 'behind_schedule')) if row == 'g1' else '–'} |")
h = pick("history", "imgate")
if h:
    errors = sum(r.get("history_errors", 0) for r in h)
    bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in h)
    print(f"\nHISTORY, imgate only: an inbox of {int(messages):,} messages from 4 peers, then {int(requests):,} requests with limit 50, one at a time\n")
    print("| fill msg/s | server µs CPU/stored | p50 µs | p99 µs | p99.9 µs | max µs | p99 newest | p99 before_msg_id | p99 with_uid | p99 with_uid + before | errors | lost/dup/reord |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {fmt(med('history', 'imgate', 'fill_msg_per_second'))} | {fmt(med('history', 'imgate', 'server_cpu_us_per_stored'), 1)} | "
          f"{fmt(med('history', 'imgate', 'history_p50_us'))} | {fmt(med('history', 'imgate', 'history_p99_us'))} | "
          f"{fmt(med('history', 'imgate', 'history_p999_us'))} | {fmt(med('history', 'imgate', 'history_max_us'))} | "
          f"{fmt(med('history', 'imgate', 'history_newest_p99_us'))} | {fmt(med('history', 'imgate', 'history_before_p99_us'))} | "
          f"{fmt(med('history', 'imgate', 'history_with_p99_us'))} | {fmt(med('history', 'imgate', 'history_with_before_p99_us'))} | {errors} | {bad} |")
PY
