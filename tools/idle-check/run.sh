#!/usr/bin/env bash
# Quick idle-session check: starts imgated on 127.0.0.1:7801 (anonymous
# login, memory store), opens N sessions with imgate-idlecheck, holds them
# with heartbeats, prints the figures. Three rounds, each on a fresh server
# and fresh loopback source addresses; the last line gives the medians.
#
#   tools/idle-check/run.sh [SESSIONS] [HOLD_SECONDS]     (defaults: 19000 30)
#
# Needs a build in build/ (tools/dev.sh test makes one).
set -euo pipefail
cd "$(dirname "$0")/../.."
SESSIONS=${1:-19000}
HOLD=${2:-30}
BIN=${BUILD_DIR:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/imgate.properties" <<CONF
server.address = 127.0.0.1
server.port = 7801
auth.allowAnonymous = true
session.heartbeatInterval = 10
session.heartbeatTimeout = 25
logging.loggers.root.level = warning
CONF
results=()
for round in 1 2 3; do
	"$BIN/server/imgated" --config="$dir/imgate.properties" > "$dir/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do grep -q "listening on" "$dir/server.log" 2>/dev/null && break; sleep 0.1; done
	# Four fresh source addresses per round: earlier rounds leave ports in TIME_WAIT.
	base=$((round * 4 + 16))
	sources="127.0.0.$base,127.0.0.$((base + 1)),127.0.0.$((base + 2)),127.0.0.$((base + 3))"
	out=$("$BIN/tools/idle-check/imgate-idlecheck" --port 7801 --sessions "$SESSIONS" --server-pid "$pid" \
		--sources "$sources" --hold "$HOLD") || true
	echo "round $round:"; echo "$out" | sed 's/^/  /'
	results+=("$(echo "$out" | tail -1)")
	kill -TERM "$pid"; wait "$pid" || true
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print("median of %d rounds: sessions %d, bytes per idle session %.0f" % (len(rows),
    statistics.median(r["sessions"] for r in rows), statistics.median(r["bytes_per_session"] for r in rows)))'
