#!/usr/bin/env bash
# imgated at two commits side by side, one machine, one run (docs/benchmarks.md):
# the same imgate-bench (this tree's) against the imgated of BASE and of this
# tree, alternating in every round so that the machine's noise falls on both.
# Builds what is missing (BASE from `git archive` into $BUILD_DIR/rev-BASE),
# starts a fresh server for every run, prints the medians and the ratio
# this/BASE as a Markdown table; the JSON lines go to
# $BUILD_DIR/bench/revisions.jsonl.
#
#   tools/bench/compare-revisions.sh 1207aa7                  # round 1's last figures' commit; RUNS=3
#   RUNS=1 SESSIONS=2000 DURATION=3 tools/bench/compare-revisions.sh 1207aa7   # a quick look
#
# This tree runs twice: with its defaults ("head") and with
# store.historyRetention = 0 ("head-h0": no history, protocol 1.0's store
# work), when BASE does not know that key.
#
# Scenarios (v1 clients only, so that both servers serve them; imgate-bench
# --threads 1, 8 loopback source addresses, 64-byte payloads):
#   idle    SESSIONS sessions held 5 s: server RSS per session (memory store)
#   p1w1    1 pair x window 1: latency (sqlite, sync=full)
#   p1kw16  1,000 pairs x window 16: throughput and CPU (sqlite, sync=full)
#   mem     1,000 pairs x window 16, memory store
set -euo pipefail

cd "$(dirname "$0")/../.."
BASE=${1:?usage: compare-revisions.sh BASE_COMMIT}
BASE=$(git rev-parse --short "$BASE")
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
SESSIONS=${SESSIONS:-19000}
DURATION=${DURATION:-10}
PORT=${PORT:-7791}
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
BASE_SRC="$BUILD_DIR/rev-$BASE/src"
BASE_BUILD="$BUILD_DIR/rev-$BASE/build"
if [ ! -x "$BASE_BUILD/server/imgated" ]; then
	rm -rf "$BASE_SRC" && mkdir -p "$BASE_SRC"
	git archive "$BASE" | tar -x -C "$BASE_SRC"
	cmake -S "$BASE_SRC" -B "$BASE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	cmake --build "$BASE_BUILD" -j "$(nproc)" --target imgated >/dev/null
fi
declare -A IMGATED=([base]="$BASE_BUILD/server/imgated" [head]="$BUILD_DIR/server/imgated" [head-h0]="$BUILD_DIR/server/imgated")
HEAD_REV=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- server include proto || echo "+changes")
BENCH="$BUILD_DIR/tools/bench/imgate-bench"
source tools/bench/lib.sh
bench_init revisions
mkdir -p "$BUILD_DIR/bench"
RESULTS="$BUILD_DIR/bench/revisions.jsonl"
: >"$RESULTS"

start() { # start REVISION STORE
	rm -rf "$WORK/data" && mkdir -p "$WORK/data"
	printf '%s\n' "server.address = 127.0.0.1" "server.port = $PORT" "store.type = $2" "store.path = $WORK/data/imgate.db" \
		"store.sync = full" "store.maxPendingPerRecipient = 1000000" "auth.allowAnonymous = true" >"$WORK/imgate.properties"
	[ "$1" = head-h0 ] && echo "store.historyRetention = 0" >>"$WORK/imgate.properties"
	start_imgated_binary "${IMGATED[$1]}"
}

run() { # run SCENARIO REVISION STORE ARGS...
	local scenario=$1 revision=$2 store=$3; shift 3
	start "$revision" "$store"
	bench_run "\"run_scenario\":\"$scenario\",\"revision\":\"$revision\"" "$scenario on $revision" "$PORT" "$@"
	stop_server
}

for round in $(seq "$RUNS"); do
	echo "== round $round of $RUNS" >&2
	# Which revision goes first alternates too.
	order="base head head-h0"; [ $((round % 2)) -eq 0 ] && order="head-h0 head base"
	for rev in $order; do run idle "$rev" memory --scenario conn --sessions "$SESSIONS" --hold 5 --heartbeat 2; done
	for rev in $order; do run p1w1 "$rev" sqlite --scenario msg --pairs 1 --window 1 --duration "$DURATION"; done
	for rev in $order; do run p1kw16 "$rev" sqlite --scenario msg --pairs 1000 --window 16 --duration "$DURATION"; done
	for rev in $order; do run mem "$rev" memory --scenario msg --pairs 1000 --window 16 --duration "$DURATION"; done
done

python3 - "$RESULTS" "$RUNS" "$BASE" "$HEAD_REV" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs, base, head = sys.argv[2], sys.argv[3], sys.argv[4]
def med(scenario, rev, key):
    v = [r[key] for r in rows if r["run_scenario"] == scenario and r["revision"] == rev and key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
def ratio(scenario, key, rev="head"):
    b, h = med(scenario, "base", key), med(scenario, rev, key)
    return "–" if not b or h is None else f"{h / b:.3f}"
print(f"medians of {runs} rounds, {base} (base) and {head} (head: defaults; head-h0: store.historyRetention = 0) alternating; imgate-bench --threads 1, 8 source addresses, 64-byte payloads\n")
names = {"idle": "idle sessions (bytes/session)", "p1w1": "1 pair × window 1, sqlite full", "p1kw16": "1,000 pairs × window 16, sqlite full",
         "mem": "1,000 pairs × window 16, memory store"}
print("| scenario | figure | base | head | head / base | head-h0 | head-h0 / base |")
print("|---|---|---:|---:|---:|---:|---:|")
figures = {"idle": [("bytes/session", "bytes_per_session", 0), ("sessions/s", "sessions_per_second", 0)],
           "p1w1": [("p50 µs", "latency_p50_us", 0), ("p99 µs", "latency_p99_us", 0), ("p99.9 µs", "latency_p999_us", 0), ("server µs CPU/msg", "server_cpu_us_per_message", 1)],
           "p1kw16": [("msg/s", "msg_per_second", 0), ("server µs CPU/msg", "server_cpu_us_per_message", 1), ("p99 µs", "latency_p99_us", 0)],
           "mem": [("msg/s", "msg_per_second", 0), ("server µs CPU/msg", "server_cpu_us_per_message", 1)]}
for scenario in ["idle", "p1w1", "p1kw16", "mem"]:
    for label, key, digits in figures[scenario]:
        print(f"| {names[scenario]} | {label} | {fmt(med(scenario, 'base', key), digits)} | {fmt(med(scenario, 'head', key), digits)} | {ratio(scenario, key)} "
              f"| {fmt(med(scenario, 'head-h0', key), digits)} | {ratio(scenario, key, 'head-h0')} |")
bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) + r.get("failed", 0) for r in rows)
print(f"\nlost + duplicated + reordered + failed over every run: {bad}")
PY
