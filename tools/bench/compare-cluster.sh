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
# (latency at a moderate rate). "CPU µs/msg" is the CPU time of every
# imgated, every PostgreSQL process and Redis (each, and their sum) over
# the whole bench run (log-in and drain included), divided by the messages
# delivered.
#
# Then the cost of presence (docs/cluster.md, capacity): one cluster node
# holds PRESENCE_SESSIONS idle sessions (default 15,000) with
# cluster.presenceTtl = 3 (a refresh of every uid each second) and with
# 3600 (no refresh in the window); the CPU of Redis and of imgated over
# PRESENCE_WINDOW seconds (default 20) gives the cost of one uid's refresh
# (HSET + EXPIRE, pipelined) on each side.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
PRESENCE_SESSIONS=${PRESENCE_SESSIONS:-15000}
PRESENCE_WINDOW=${PRESENCE_WINDOW:-20}
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
	if [ -n "$PG_PID" ]; then # the postmaster itself (runuser does not pass the signal on)
		local master
		master=$(head -n 1 "$WORK/pg/data/postmaster.pid" 2>/dev/null || true)
		kill -INT "${master:-$PG_PID}" 2>/dev/null || true
		wait "$PG_PID" 2>/dev/null || true
	fi
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

start_node() { # start_node N STORE CLUSTER [LINE]: node N (port BASE_PORT + N - 1), LINE added to its configuration
	local n=$1 store=$2 cluster=$3 extra=${4:-} dir="$WORK/node$1"
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
		[ -z "$extra" ] || echo "$extra"
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

cpu_ticks() { # "IMGATED POSTGRES REDIS": the CPU time (clock ticks) of every imgated node, of PostgreSQL (postmaster and backends), of Redis
	local nodes=0 postgres=0 pid master
	for pid in "${NODE_PIDS[@]}"; do nodes=$((nodes + $(ticks_of "$pid"))); done
	# The postmaster (under runuser when root) and its backends; the
	# postmaster's own count includes the backends that have ended.
	master=$(head -n 1 "$WORK/pg/data/postmaster.pid" 2>/dev/null || true)
	if [ -n "$master" ] && [ -r "/proc/$master/stat" ]; then
		postgres=$(awk '{print $16 + $17}' "/proc/$master/stat")
		for pid in "$master" $(pgrep -P "$master" || true); do postgres=$((postgres + $(ticks_of "$pid"))); done
	fi
	echo "$nodes $postgres $([ -n "$REDIS_PID" ] && ticks_of "$REDIS_PID" || echo 0)"
}

ticks_of() { # the CPU time (clock ticks) of one process, 0 if it is gone
	if [ -r "/proc/$1/stat" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi
}

presence() { # presence TTL: Redis's and imgated's CPU while one node holds PRESENCE_SESSIONS idle sessions
	local ttl=$1 bench_pid r0 n0 r1 n1 keys=0
	fresh_database
	start_node 1 postgresql yes "cluster.presenceTtl = $ttl"
	"$BENCH" --scenario conn --port "$BASE_PORT" --sources "$SOURCES" --sessions "$PRESENCE_SESSIONS" --rate 0 \
		--hold $((PRESENCE_WINDOW + 15)) --heartbeat 20 --quiet >/dev/null &
	bench_pid=$!
	for _ in $(seq 1 900); do # every uid's presence written (and the node's own key)
		keys=$(redis-cli -p "$REDIS_PORT" dbsize)
		[ "$keys" -gt "$PRESENCE_SESSIONS" ] && break
		sleep 0.1
	done
	sleep 2
	r0=$(ticks_of "$REDIS_PID"); n0=$(ticks_of "${NODE_PIDS[0]}")
	sleep "$PRESENCE_WINDOW"
	r1=$(ticks_of "$REDIS_PID"); n1=$(ticks_of "${NODE_PIDS[0]}")
	wait "$bench_pid" || echo "compare-cluster: presence $ttl: the bench did not end cleanly" >&2
	stop_nodes
	python3 -c 'import json,os,sys; hz=os.sysconf("SC_CLK_TCK"); a=sys.argv
print(json.dumps({"run_scenario": "presence", "presence_ttl": int(a[1]), "sessions": int(a[2]), "keys": int(a[3]), "window_s": int(a[4]),
    "redis_cpu_s": (int(a[6]) - int(a[5])) / hz, "imgated_cpu_s": (int(a[8]) - int(a[7])) / hz}))' \
		"$ttl" "$PRESENCE_SESSIONS" "$keys" "$PRESENCE_WINDOW" "$r0" "$r1" "$n0" "$n1" | tee -a "$RESULTS" >&2
}

bench() { # bench SCENARIO SHAPE PORT ARGS...
	local scenario=$1 shape=$2 port=$3 out line before after delivered; shift 3
	before=$(cpu_ticks)
	out=$("$BENCH" --scenario msg --port "$port" --sources "$SOURCES" --duration "$DURATION" --json --quiet "$@") \
		|| echo "compare-cluster: $scenario $shape: not clean" >&2
	after=$(cpu_ticks)
	line=$(grep '^{' <<<"$out") || { echo "compare-cluster: $scenario $shape: no result:" >&2; echo "$out" >&2; return 0; }
	local cpu
	cpu=$(python3 -c 'import json,os,sys
d = max(json.loads(sys.argv[1])["delivered"], 1); hz = os.sysconf("SC_CLK_TCK")
b = [int(x) for x in sys.argv[2].split()]; a = [int(x) for x in sys.argv[3].split()]
us = [round((a[i] - b[i]) * 1e6 / hz / d, 1) for i in range(3)]
print(f"\"all_cpu_us_per_message\":{round(sum(us), 1)},\"imgated_cpu_us_per_message\":{us[0]},\"postgres_cpu_us_per_message\":{us[1]},\"redis_cpu_us_per_message\":{us[2]}")' \
		"$line" "$before" "$after")
	echo "{\"run_scenario\":\"$scenario\",\"shape\":\"$shape\",$cpu,${line#\{}" | tee -a "$RESULTS" >&2
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

	[ "$PRESENCE_SESSIONS" -gt 0 ] && presence 3 && presence 3600
done

python3 - "$RESULTS" "$RUNS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
presence = [r for r in rows if r["run_scenario"] == "presence"]
rows = [r for r in rows if r["run_scenario"] != "presence"]
def med(scenario, shape, key):
    v = [r[key] for r in rows if r["run_scenario"] == scenario and r["shape"] == shape and key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
print(f"medians of {sys.argv[2]} runs; imgate-bench msg, 64-byte payloads, store.sync = full\n")
print("| store / placement | shape | msg/s | p50 µs | p99 µs | CPU µs/msg: all | imgated | postgres | redis | lost/dup/reord |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
names = {"sqlite": "sqlite, one node", "postgresql": "postgresql, one node (no cluster)",
         "same": "cluster of 3, pair on one node", "cross": "cluster of 3, pair across two nodes"}
for shape in ["p1kw16", "p100w1"]:
    for scenario in ["sqlite", "postgresql", "same", "cross"]:
        if not any(r["run_scenario"] == scenario and r["shape"] == shape for r in rows):
            continue
        bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in rows if r["run_scenario"] == scenario and r["shape"] == shape)
        label = "1,000 pairs × window 16" if shape == "p1kw16" else "100 pairs × window 1"
        print(f"| {names[scenario]} | {label} | {fmt(med(scenario, shape, 'msg_per_second'))} | {fmt(med(scenario, shape, 'latency_p50_us'))} | "
              f"{fmt(med(scenario, shape, 'latency_p99_us'))} | {fmt(med(scenario, shape, 'all_cpu_us_per_message'), 1)} | "
              f"{fmt(med(scenario, shape, 'imgated_cpu_us_per_message'), 1)} | {fmt(med(scenario, shape, 'postgres_cpu_us_per_message'), 1)} | "
              f"{fmt(med(scenario, shape, 'redis_cpu_us_per_message'), 1)} | {bad} |")
if presence:
    def pmed(ttl, key):
        v = [r[key] for r in presence if r["presence_ttl"] == ttl]
        return statistics.median(v) if v else None
    n = presence[0]["sessions"]; w = presence[0]["window_s"]
    r3, r0 = pmed(3, "redis_cpu_s"), pmed(3600, "redis_cpu_s")
    i3, i0 = pmed(3, "imgated_cpu_s"), pmed(3600, "imgated_cpu_s")
    # presenceTtl 3: every uid refreshed once a second, w refreshes in the window.
    redis_us = (r3 - r0) * 1e6 / (n * w)
    node_us = (i3 - i0) * 1e6 / (n * w)
    print(f"\npresence, {n:,} idle sessions on one node, {w} s window (medians of {len(presence) // 2} runs):\n")
    print("| cluster.presenceTtl | Redis CPU | imgated CPU |")
    print("|---:|---:|---:|")
    print(f"| 3 (each uid refreshed every second) | {r3 / w * 100:.1f} % | {i3 / w * 100:.1f} % |")
    print(f"| 3600 (no refresh in the window) | {r0 / w * 100:.1f} % | {i0 / w * 100:.1f} % |")
    print(f"\none uid's refresh (HSET + EXPIRE, pipelined): Redis {redis_us:.2f} µs, imgated {node_us:.2f} µs of CPU")
    print(f"1,000,000 users at the default presenceTtl 30 (refresh every 10 s): Redis {redis_us * 1e5 / 1e6 * 100:.0f} % of a core, "
          f"imgated {node_us * 1e5 / 1e6 * 100:.0f} % of a core summed over the nodes")
PY
