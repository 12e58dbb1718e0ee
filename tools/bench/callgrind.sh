#!/usr/bin/env bash
# Where an event loop's instructions go, per message (docs/benchmarks.md).
# Runs imgated (memory store, anonymous logins) under valgrind's callgrind,
# drives PAIRS pairs x WINDOW (default 50 x 4) with imgate-bench, zeroes the
# counters after the warm-up and dumps them at the end of the measured
# DURATION seconds (default 10), then prints, per accepted message:
# instructions, heap allocations, mutex locks, send/recv calls, frames
# encoded and parsed, and the functions with the largest inclusive share.
#   tools/bench/callgrind.sh
# callgrind slows the server about 50 times: the figures are counts, not speeds.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
PAIRS=${PAIRS:-50}
WINDOW=${WINDOW:-4}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-5}
PORT=${PORT:-7798}
tools/dev.sh deps valgrind python3 >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target imgated imgate-bench >/dev/null
WORK=$(mktemp -d /tmp/imgate-callgrind.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
printf 'server.address = 127.0.0.1\nserver.port = %s\nstore.type = memory\nauth.allowAnonymous = true\n' "$PORT" >"$WORK/imgate.properties"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
	"$BUILD_DIR/server/imgated" --config="$WORK/imgate.properties" >"$WORK/imgated.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/imgated.log" && break; sleep 0.1; done
grep -q "listening on" "$WORK/imgated.log" || { echo "callgrind.sh: imgated did not start:" >&2; cat "$WORK/imgated.log" >&2; exit 1; }
"$BUILD_DIR/tools/bench/imgate-bench" --port "$PORT" --scenario msg --pairs "$PAIRS" --window "$WINDOW" \
	--duration "$DURATION" --warmup "$WARMUP" --quiet --json >"$WORK/bench.txt" &
BENCH=$!
sleep "$WARMUP"
callgrind_control -z "$PID" >/dev/null
sleep "$DURATION"
callgrind_control -d "$PID" >/dev/null
wait "$BENCH" || true
grep -v '^{' "$WORK/bench.txt"
for _ in $(seq 1 100); do [ -s "$WORK/callgrind.out.1" ] && break; sleep 0.1; done
python3 - "$WORK/callgrind.out.1" <<'EOF'
import collections, re, subprocess, sys
path = sys.argv[1]
names, calls = {}, collections.Counter()
current = None
for line in open(path):
    m = re.match(r'^(c?fn)=\((\d+)\)(?: (.*))?', line)
    if m:
        kind, ident, name = m.groups()
        if name:
            names[ident] = name.strip()
        if kind == 'cfn':
            current = ident
        continue
    m = re.match(r'^calls=(\d+)', line)
    if m and current:
        calls[current] += int(m.group(1))
def count(prefix):
    return sum(n for ident, n in calls.items() if names.get(ident, '').startswith(prefix))
messages = count('imgate::store::MemoryMessageStore::append(')
total = 0
for line in open(path):
    if line.startswith('summary:') or line.startswith('totals:'):
        total = int(line.split()[1])
if messages == 0:
    sys.exit('callgrind.sh: no message was accepted while counting')
print(f'{messages} messages accepted while counting; per message:')
for label, prefix in [('instructions (user space)', None),
                      ('heap allocations (malloc)', 'malloc'),
                      ('mutex locks', 'pthread_mutex_lock'),
                      ('send() calls', 'send'),
                      ('recv() calls', 'recv'),
                      ('frames encoded', 'imgate::protocol::FrameEncoder::append('),
                      ('protobuf bodies parsed', 'google::protobuf::MessageLite::ParseFromArray('),
                      ('store reads (readPending)', 'imgate::store::MemoryMessageStore::readPending(')]:
    n = total if prefix is None else count(prefix)
    print(f'  {label:28} {n / messages:10.2f}')
print('largest inclusive shares (callgrind_annotate --inclusive=yes):')
out = subprocess.run(['callgrind_annotate', '--inclusive=yes', '--threshold=100', '--auto=no', path],
                     capture_output=True, text=True).stdout
seen = set()
for line in out.splitlines():
    m = re.match(r'^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)$', line)
    if not m or 'PROGRAM TOTALS' in line:
        continue
    share = float(m.group(2))
    where = m.group(3)
    func = re.sub(r'\s*\[[^\]]*\]$', '', where.split(':', 1)[1] if ':' in where else where)
    func = re.sub(r'\(.*$', '', func)
    if share < 3 or share > 99 or 'std_function.h' in where or func in seen:
        continue
    seen.add(func)
    print(f'  {share:5.1f} %  {func[:100]}')
EOF
