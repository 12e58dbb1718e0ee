#!/usr/bin/env bash
# Group-commit figures for docs/benchmarks.md: imgate-store-bench at 1, 100
# and 1000 concurrent senders, sqlite with sync=full and sync=normal, and the
# memory store; RUNS runs each (default 3), medians printed at the end.
#   tools/store-bench/run.sh [BUILD_DIR]
set -euo pipefail
BUILD_DIR=${1:-build}
BENCH="$BUILD_DIR/tools/store-bench/imgate-store-bench"
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
[ -x "$BENCH" ] || { echo "run.sh: build first ($BENCH missing)" >&2; exit 1; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in $(seq "$RUNS"); do
	for senders in 1 100 1000; do
		for mode in "sqlite full" "sqlite normal" "memory -"; do
			set -- $mode
			args=(--type "$1" --senders "$senders" --seconds "$SECONDS_PER_RUN" --json)
			[ "$1" = sqlite ] && args+=(--sync "$2")
			"$BENCH" "${args[@]}" | tee /dev/stderr | grep '^{' >>"$results"
		done
	done
done
echo
echo "medians of $RUNS runs (${SECONDS_PER_RUN} s each, 64-byte payloads, one message in flight per sender):"
python3 - "$results" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = sorted({(r["store"], r["sync"], r["senders"]) for r in rows}, key=lambda k: (k[2], k[0] != "sqlite", k[1]))
print("| senders | store | sync | msg/s | commits/s | msg/commit | p50 ms | p99 ms |")
print("|--:|--|--|--:|--:|--:|--:|--:|")
for k in keys:
    rs = [r for r in rows if (r["store"], r["sync"], r["senders"]) == k]
    m = lambda f: statistics.median(r[f] for r in rs)
    print(f"| {k[2]} | {k[0]} | {k[1]} | {m('msgPerSec'):,.0f} | {m('commitsPerSec'):,.0f} | {m('msgPerCommit'):.1f} | {m('p50Ms'):.3f} | {m('p99Ms'):.3f} |")
PY
