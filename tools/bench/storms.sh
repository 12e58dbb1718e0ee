#!/usr/bin/env bash
# Memory across connect/disconnect storms (docs/benchmarks.md): one imgated
# (memory store, anonymous logins), STORMS storms (default 10) of SESSIONS
# sessions (default 15,000) that log in, hold 1 s and disconnect; the
# server's RSS after each storm, and the growth past the first storm's peak.
#   tools/bench/storms.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
STORMS=${STORMS:-10}
SESSIONS=${SESSIONS:-15000}
PORT=${PORT:-7797}
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
WORK=$(mktemp -d /tmp/imgate-storms.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"
printf 'server.address = 127.0.0.1\nserver.port = %s\nstore.type = memory\nauth.allowAnonymous = true\n' "$PORT" >"$WORK/imgate.properties"
"$BUILD_DIR/server/imgated" --config="$WORK/imgate.properties" >"$WORK/imgated.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/imgated.log" && break; sleep 0.1; done
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }
echo "server RSS before: $(rss) KiB"
first=0
worst=0
for storm in $(seq "$STORMS"); do
	"$BUILD_DIR/tools/bench/imgate-bench" --port "$PORT" --scenario conn --sessions "$SESSIONS" --hold 1 --quiet \
		--sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --uid-prefix "storm$storm" | head -1
	peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID/status")
	sleep 1 # let the server close and free the sessions
	after=$(rss)
	echo "storm $storm: RSS after $after KiB, peak so far $peak KiB"
	[ "$storm" = 1 ] && first=$peak
	[ "$after" -gt "$worst" ] && worst=$after
done
echo "first storm's peak $first KiB; highest RSS after a storm $worst KiB; growth past the first peak: $(( (worst - first) * 100 / first )) %"
