#!/usr/bin/env bash
# imgate's TLS and WebSocket listeners beside Mosquitto's (issue 17), one
# script, one machine, one run (docs/benchmarks.md). Builds what is missing,
# installs Mosquitto from Debian if missing, makes a throw-away CA and an
# ECDSA P-256 server certificate (tests/support/make-test-certs.sh) that
# both servers use, starts a fresh server for every run, and prints the
# medians as Markdown tables; every run's JSON line is kept in
# $BUILD_DIR/bench/compare-transports.jsonl.
#
#   tools/bench/compare-transports.sh          # RUNS=1 SESSIONS=19000 PAIRS=1000 DURATION=10 STORMS=10
#   RUNS=1 SESSIONS=2000 PAIRS=100 DURATION=3 STORMS=2 STORM_SESSIONS=2000 tools/bench/compare-transports.sh  # a quick look
#
# Rows (imgate-bench --threads 1, 8 loopback source addresses, 64-byte
# payloads; imgate: anonymous logins; Mosquitto 2.0: MQTT 3.1.1, QoS 1,
# persistence off; TLS 1.3 as both servers and the generator agree, the
# certificate verified by the generator against the test CA; each
# WebSocket session asks for its subprotocol, imgate.v1 or mqtt):
#   idle    SESSIONS sessions over each of TRANSPORTS, unthrottled, held 5 s
#           with a heartbeat every 2 s: server RSS per session, set-up rate,
#           and server CPU per set-up (for TLS: the handshake, ECDSA P-256)
#   msg     PAIRS pairs x window WINDOW over each of TRANSPORTS: msg/s,
#           latency, server CPU per message (imgate: STORE store)
#   storms  STORMS storms of STORM_SESSIONS TLS sessions on one imgated
#           (memory store) that log in, hold 1 s and leave: RSS after each
#           storm, and the growth past the first storm's peak
# TRANSPORTS (default "tcp tls ws") may add wss; STORE is memory (default:
# the store costs the same on every transport, the transport's cost shows)
# or sqlite (store.sync = full, as compare.sh's durable rows).
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-1}
SESSIONS=${SESSIONS:-19000}
PAIRS=${PAIRS:-1000}
WINDOW=${WINDOW:-16}
DURATION=${DURATION:-10}
STORMS=${STORMS:-10}
STORM_SESSIONS=${STORM_SESSIONS:-15000}
STORE=${STORE:-memory}
TRANSPORTS=${TRANSPORTS:-tcp tls ws}
PORT_IMGATE=${PORT_IMGATE:-7790}       # tcp; +1 tls, +2 WebSocket (ws or wss)
PORT_MQTT=${PORT_MQTT:-18830}          # tcp; +1 tls, +2 ws, +3 wss
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8

tools/dev.sh deps mosquitto python3 openssl >/dev/null
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
BENCH="$BUILD_DIR/tools/bench/imgate-bench"
IMGATED="$BUILD_DIR/server/imgated"
source tools/bench/lib.sh
bench_init compare-transports
OUT="$BUILD_DIR/bench"
mkdir -p "$OUT"
RESULTS="$OUT/compare-transports.jsonl"
: >"$RESULTS"
CERTS="$WORK/certs"
bash tests/support/make-test-certs.sh "$CERTS"

start_imgated() { # start_imgated TRANSPORT STORE: every listener on; WebSocket over TLS for wss
	rm -rf "$WORK/data" && mkdir -p "$WORK/data"
	{
		echo "server.address = 127.0.0.1"
		echo "server.port = $PORT_IMGATE"
		echo "store.type = $2"
		echo "store.path = $WORK/data/imgate.db"
		echo "store.sync = full"
		echo "store.maxPendingPerRecipient = 1000000"
		echo "auth.allowAnonymous = true"
		echo "tls.port = $((PORT_IMGATE + 1))"
		echo "tls.certificateFile = $CERTS/server.pem"
		echo "tls.privateKeyFile = $CERTS/server.key"
		echo "websocket.port = $((PORT_IMGATE + 2))"
		[ "$1" = wss ] && echo "websocket.tls = true"
	} >"$WORK/imgate.properties"
	start_imgated_binary "$IMGATED"
}

wait_port() { # wait_port PORT: until something accepts on it
	for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
	echo "compare-transports: nothing listens on port $1" >&2; exit 1
}

start_mosquitto() { # every listener; as root it stays root to read the key (mode 0600)
	start_mosquitto_on "$PORT_MQTT" "user $(id -un)" \
		"listener $((PORT_MQTT + 1)) 127.0.0.1" "certfile $CERTS/server.pem" "keyfile $CERTS/server.key" \
		"listener $((PORT_MQTT + 2)) 127.0.0.1" "protocol websockets" \
		"listener $((PORT_MQTT + 3)) 127.0.0.1" "protocol websockets" "certfile $CERTS/server.pem" "keyfile $CERTS/server.key"
	# start_mosquitto_on waited for the first listener only.
	local port
	for port in $((PORT_MQTT + 1)) $((PORT_MQTT + 2)) $((PORT_MQTT + 3)); do wait_port "$port"; done
}

transport_args() { # transport_args SERVER TRANSPORT: imgate-bench's connection options
	local server=$1 transport=$2 base=$PORT_IMGATE path=/imgate ws wss
	if [ "$server" = mosquitto ]; then base=$PORT_MQTT; path=/mqtt; fi
	ws=$((base + 2)); wss=$((base + 2))
	[ "$server" = mosquitto ] && wss=$((base + 3))
	case $transport in
		tcp) echo "--port $base" ;;
		tls) echo "--port $((base + 1)) --tls --ca $CERTS/ca.pem" ;;
		ws) echo "--port $ws --ws ws://127.0.0.1:$ws$path" ;;
		wss) echo "--port $wss --ws wss://127.0.0.1:$wss$path --ca $CERTS/ca.pem" ;;
	esac
}

bench() { # bench ROW SERVER TRANSPORT ARGS...: one run, its JSON line tagged and kept
	local row=$1 server=$2 transport=$3 protocol=imgate; shift 3
	[ "$server" = mosquitto ] && protocol=mqtt
	# bench_run passes --port itself: the first word of transport_args.
	local args port
	read -r -a args <<<"$(transport_args "$server" "$transport")"
	port=${args[1]}
	bench_run "\"run_scenario\":\"$row\",\"server\":\"$server\"" "$row over $transport on $server" "$port" \
		--protocol "$protocol" "${args[@]:2}" "$@"
}

both() { # both ROW STORE ARGS...: the row over every transport, on imgate then on Mosquitto
	local row=$1 store=$2 transport; shift 2
	for transport in $TRANSPORTS; do
		start_imgated "$transport" "$store"
		bench "$row" imgate "$transport" "$@"
		stop_server
		start_mosquitto
		bench "$row" mosquitto "$transport" "$@"
		stop_server
	done
}

storms() { # STORMS storms of STORM_SESSIONS TLS sessions on one imgated
	start_imgated tls memory
	local storm peak after
	for storm in $(seq "$STORMS"); do
		bench storm imgate tls --scenario conn --sessions "$STORM_SESSIONS" --hold 1 --uid-prefix "storm$storm" --connect-timeout 600
		peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
		sleep 1 # the server closes and frees the sessions
		after=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
		echo "{\"run_scenario\":\"storm-rss\",\"server\":\"imgate\",\"storm\":$storm,\"rss_after_kib\":$after,\"peak_kib\":$peak}" | tee -a "$RESULTS" >&2
	done
	stop_server
}

for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS" >&2
	# A TLS set-up costs ~1 ms of CPU on each side: give 19,000 of them time.
	both idle memory --scenario conn --sessions "$SESSIONS" --hold 5 --heartbeat 2 --connect-timeout 600
	both msg "$STORE" --scenario msg --pairs "$PAIRS" --window "$WINDOW" --duration "$DURATION"
done
[ "$STORMS" -gt 0 ] && storms

python3 - "$RESULTS" "$RUNS" "$STORE" "$PAIRS" "$WINDOW" "$SESSIONS" "$STORM_SESSIONS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs, store, pairs, window, sessions, storm_sessions = sys.argv[2:8]
def pick(scenario, server, transport):
    return [r for r in rows if r["run_scenario"] == scenario and r["server"] == server and r.get("transport") == transport]
def med(rs, key):
    v = [r[key] for r in rs if key in r]
    return statistics.median(v) if v else None
def fmt(v, digits=0):
    return "–" if v is None else f"{v:,.{digits}f}"
transports = [t for t in ["tcp", "tls", "ws", "wss"] if any(r.get("transport") == t for r in rows)]
print(f"medians of {runs} run(s); imgate-bench --threads 1, 8 source addresses; TLS: ECDSA P-256 certificate, verified by the generator\n")
print(f"Idle sessions ({int(sessions):,}, held 5 s, heartbeat every 2 s):\n")
print("| transport | server | bytes/session | sessions/s | server µs CPU per set-up | generator µs CPU per set-up | failed |")
print("|---|---|---:|---:|---:|---:|---:|")
for t in transports:
    for server in ["imgate", "mosquitto"]:
        rs = pick("idle", server, t)
        if not rs: continue
        failed = sum(r.get("failed", 0) + r.get("disconnected", 0) for r in rs)
        print(f"| {t} | {server} | {fmt(med(rs, 'bytes_per_session'))} | {fmt(med(rs, 'sessions_per_second'))} | "
              f"{fmt(med(rs, 'server_cpu_us_per_setup'))} | {fmt(med(rs, 'generator_cpu_us_per_setup'))} | {failed} |")
print(f"\n{int(pairs):,} pairs × window {window} (imgate: {store} store):\n")
print("| transport | server | msg/s | × imgate tcp | p50 µs | p99 µs | server µs CPU/msg | generator CPU % | lost/dup/reord |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
base = med(pick("msg", "imgate", "tcp"), "msg_per_second")
for t in transports:
    for server in ["imgate", "mosquitto"]:
        rs = pick("msg", server, t)
        if not rs: continue
        rate = med(rs, "msg_per_second")
        bad = sum(r.get("lost", 0) + r.get("duplicated", 0) + r.get("reordered", 0) for r in rs)
        failed = sum(r.get("failed", 0) + r.get("disconnected", 0) for r in rs)
        ratio = fmt(rate / base, 2) if rate is not None and base else "–"
        print(f"| {t} | {server} | {fmt(rate)} | {ratio} | {fmt(med(rs, 'latency_p50_us'))} | {fmt(med(rs, 'latency_p99_us'))} | "
              f"{fmt(med(rs, 'server_cpu_us_per_message'), 1)} | {fmt(med(rs, 'generator_cpu_percent'))} | {bad}"
              f"{'' if not failed else f' (failed {failed})'} |")
storm = sorted([r for r in rows if r["run_scenario"] == "storm-rss"], key=lambda r: r["storm"])
if storm:
    setups = [r for r in rows if r["run_scenario"] == "storm"]
    failed = sum(r.get("failed", 0) + r.get("disconnected", 0) for r in setups)
    first, worst = storm[0]["peak_kib"], max(r["rss_after_kib"] for r in storm)
    print(f"\nimgate, {len(storm)} storms of {int(storm_sessions):,} TLS sessions (log in, hold 1 s, leave); {failed} failed:\n")
    print("| storm | RSS after (KiB) | peak so far (KiB) |")
    print("|---:|---:|---:|")
    for r in storm:
        print(f"| {r['storm']} | {r['rss_after_kib']:,} | {r['peak_kib']:,} |")
    print(f"\nfirst storm's peak {first:,} KiB; highest RSS after a storm {worst:,} KiB: {100.0 * (worst - first) / first:+.1f} % past the first peak")
PY
