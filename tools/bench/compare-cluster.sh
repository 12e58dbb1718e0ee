#!/usr/bin/env bash
# The PostgreSQL store and the cluster, measured (docs/benchmarks.md,
# docs/cluster.md). One script, one machine: it builds what is missing,
# installs postgresql and redis-server from Debian if missing, starts its
# own PostgreSQL (as nobody when run as root) and Redis in a scratch folder
# on loopback, starts fresh imgated processes for every run, runs each
# scenario RUNS times (default 3) and prints the medians as a Markdown
# table; every run's JSON line is kept in $BUILD_DIR/bench/compare-cluster.jsonl.
#
#   tools/bench/compare-cluster.sh              # RUNS=3 DURATION=10
#   RUNS=1 DURATION=3 tools/bench/compare-cluster.sh   # a quick look
#
# Scenarios (imgate-bench msg, 64-byte payloads, store.sync = full):
#   sqlite      one imgated, store.type = sqlite
#   postgresql  one imgated, store.type = postgresql (no cluster)
#   same        three nodes, both sessions of every pair on node 1
#   cross       three nodes, each pair split between node 1 and node 2
# each at 1,000 pairs x window 16 (throughput) and 100 pairs x window 1
# (latency at a moderate rate). "CPU µs/msg" adds up the CPU time of
# every imgated, every PostgreSQL process and Redis over the whole bench
# run (log-in and drain included), divided by the messages delivered.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
BASE_PORT=${BASE_PORT:-7791}
PG_PORT=${PG_PORT:-55491}
REDIS_PORT=${REDIS_PORT:-56491}
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4

tools/dev.sh deps postgresql redis-server python3 >/dev/null
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
BENCH="$BUILD_DIR/tools/bench/imgate-bench"
IMGATED="$(pwd)/$BUILD_DIR/server/imgated"
source tools/bench/lib.sh
bench_init compare-cluster
OUT="$BUILD_DIR/bench"
mkdir -p "$OUT"
RESULTS="$OUT/compare-cluster.jsonl"
: >"$RESULTS"

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
NODE_PIDS=()
PG_PID=""
REDIS_PID=""

as_postgres() { # runs a PostgreSQL binary as nobody when root (postgres refuses root)
	if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

start_engines() {
	mkdir -p "$WORK/pg"
	[ "$(id -u)" -eq 0 ] && chown nobody "$WORK" "$WORK/pg"
	as_postgres "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U imgate -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1
	as_postgres "$PG_BIN/postgres" -D "$WORK/pg/data" -c listen_addresses=127.0.0.1 -p "$PG_PORT" \
		-c unix_socket_directories="$WORK/pg" -c max_connections=100 >"$WORK/postgres.log" 2>&1 &
	PG_PID=$!
	for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PG_PORT") 2>/dev/null && break; sleep 0.1; done
	sleep 0.5
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done
}

stop_engines() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
	[ -n "$PG_PID" ] && kill -INT "$PG_PID" 2>/dev/null && wait "$PG_PID" 2>/dev/null || true
	REDIS_PID=""
	PG_PID=""
}

psql_run() {
	PGCONNECT_TIMEOUT=5 psql -q -h 127.0.0.1 -p "$PG_PORT" -U imgate -d postgres -c "$1" >/dev/null
}

fresh_database() {
	psql_run "DROP DATABASE IF EXISTS imgate WITH (FORCE)"
	psql_run "CREATE DATABASE imgate"
	redis-cli -p "$REDIS_PORT" flushall >/dev/null
}

start_node() { # start_node N STORE CLUSTER: node N (port BASE_PORT + N - 1)
	local n=$1 store=$2 cluster=$3 dir="$WORK/node$1"
	rm -rf "$dir" && mkdir -p "$dir"
	{
		echo "server.address = 127.0.0.1"
		echo "server.port = $((BASE_PORT + n - 1))"
		echo "admin.enabled = false"
		echo "auth.allowAnonymous = true"
		echo "store.type = $store"
		echo "store.path = $dir/imgate.db"
		echo "store.postgresql = host=127.0.0.1 port=$PG_PORT dbname=imgate user=imgate"
		echo "store.sync = full"
		echo "store.maxPendingPerRecipient = 1000000"
		if [ "$cluster" = yes ]; then
			echo "cluster.enabled = true"
			echo "cluster.nodeId = n$n"
			echo "cluster.redis = 127.0.0.1:$REDIS_PORT"
		fi
	} >"$dir/imgate.properties"
	"$IMGATED" --config="$dir/imgate.properties" >"$dir/imgated.log" 2>&1 &
	NODE_PIDS+=($!)
	for _ in $(seq 1 100); do grep -q "listening on" "$dir/imgated.log" && return 0; sleep 0.1; done
	echo "compare-cluster: node $n did not start:" >&2; cat "$dir/imgated.log" >&2; exit 1
}

stop_nodes() {
	local pid
	for pid in "${NODE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${NODE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	NODE_PIDS=()
}

cleanup_all() {
	stop_nodes
	stop_engines
	bench_cleanup
}
trap cleanup_all EXIT

cpu_ticks() { # the CPU time (clock ticks) of every imgated node, PostgreSQL process and Redis
	local pids=("${NODE_PIDS[@]}") total=0 pid
	[ -n "$REDIS_PID" ] && pids+=("$REDIS_PID")
	# The postmaster (under runuser when root) and its backends.
	local master
	master=$(head -n 1 "$WORK/pg/data/postmaster.pid" 2>/dev/null || true)
	if [ -n "$master" ]; then pids+=("$master"); pids+=($(pgrep -P "$master" || true)); fi
	for pid in "${pids[@]}"; do
		[ -r "/proc/$pid/stat" ] || continue
		total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$total"
}

bench() { # bench SCENARIO SHAPE PORT ARGS...
	local scenario=$1 shape=$2 port=$3 out line before after delivered; shift 3
	before=$(cpu_ticks)
	out=$("$BENCH" --scenario msg --port "$port" --sources "$SOURCES" --duration "$DURATION" --json --quiet "$@") \
		|| echo "compare-cluster: $scenario $shape: not clean" >&2
	after=$(cpu_ticks)
	line=$(grep '^{' <<<"$out") || { echo "compare-cluster: $scenario $shape: no result:" >&2; echo "$out" >&2; return 0; }
	delivered=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["delivered"])' "$line")
	local cpu_us
	cpu_us=$(python3 -c 'import os,sys; t=int(sys.argv[2])-int(sys.argv[1]); d=max(int(sys.argv[3]),1); print(round(t*1e6/os.sysconf("SC_CLK_TCK")/d,1))' "$before" "$after" "$delivered")
	echo "{\"run_scenario\":\"$scenario\",\"shape\":\"$shape\",\"all_cpu_us_per_message\":$cpu_us,${line#\{}" | tee -a "$RESULTS" >&2
}

shapes() { # shapes SCENARIO PORT [--split-port P]
	local scenario=$1 port=$2; shift 2
	bench "$scenario" p1kw16 "$port" --pairs 1000 --window 16 "$@"
	bench "$scenario" p100w1 "$port" --pairs 100 --window 1 "$@"
}

start_engines
for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS" >&2
	start_node 1 sqlite no
	shapes sqlite "$BASE_PORT"
	stop_nodes

	fresh_database
	start_node 1 postgresql no
	shapes postgresql "$BASE_PORT"
	stop_nodes

	fresh_database
	start_node 1 postgresql yes
	start_node 2 postgresql yes
	start_node 3 postgresql yes
	shapes same "$BASE_PORT"
	shapes cross "$BASE_PORT" --split-port "$((BASE_PORT + 1))"
	stop_nodes
done

python3 - "$RESULTS" "$RUNS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(scenario, shape, key):
    v = [r[key] for r in rows if r["run_scenario"] == scenario and r["shape"] == shape and key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
print(f"medians of {sys.argv[2]} runs; imgate-bench msg, 64-byte payloads, store.sync = full\n")
print("| store / placement | shape | msg/s | p50 µs | p99 µs | CPU µs/msg (imgated + postgres + redis) | lost/dup/reord |")
print("|---|---|---:|---:|---:|---:|---|")
names = {"sqlite": "sqlite, one node", "postgresql": "postgresql, one node (no cluster)",
         "same": "cluster of 3, pair on one node", "cross": "cluster of 3, pair across two nodes"}
for shape in ["p1kw16", "p100w1"]:
    for scenario in ["sqlite", "postgresql", "same", "cross"]:
        if not any(r["run_scenario"] == scenario and r["shape"] == shape for r in rows):
            continue
        bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in rows if r["run_scenario"] == scenario and r["shape"] == shape)
        label = "1,000 pairs × window 16" if shape == "p1kw16" else "100 pairs × window 1"
        print(f"| {names[scenario]} | {label} | {fmt(med(scenario, shape, 'msg_per_second'))} | {fmt(med(scenario, shape, 'latency_p50_us'))} | "
              f"{fmt(med(scenario, shape, 'latency_p99_us'))} | {fmt(med(scenario, shape, 'all_cpu_us_per_message'), 1)} | {bad} |")
PY
