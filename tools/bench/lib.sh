# tools/bench/lib.sh: what the comparison scripts (compare.sh,
# compare-groups.sh, compare-revisions.sh, compare-transports.sh,
# compare-per-message.sh) share. Sourced, not run.
#
# bench_init NAME sets WORK (a scratch folder, removed at exit), SERVER_PID
# and the exit trap that stops a server still running, and raises the
# open-file limit. The caller sets BENCH (imgate-bench), SOURCES and RESULTS
# (the JSON lines file) before bench_run.

bench_init() { # bench_init NAME
	BENCH_NAME=$1
	WORK=$(mktemp -d "/tmp/imgate-$1.XXXXXX")
	SERVER_PID=""
	trap bench_cleanup EXIT
	ulimit -n "$(ulimit -Hn)"
}

bench_cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
	rm -rf "$WORK"
}

start_imgated_binary() { # start_imgated_binary IMGATED: runs it on $WORK/imgate.properties until it listens
	"$1" --config="$WORK/imgate.properties" >"$WORK/imgated.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 100); do grep -q "listening on" "$WORK/imgated.log" && return 0; sleep 0.1; done
	echo "$BENCH_NAME: imgated ($1) did not start:" >&2; cat "$WORK/imgated.log" >&2; exit 1
}

start_mosquitto_on() { # start_mosquitto_on PORT [CONFIG LINE...]: Mosquitto, anonymous, no persistence
	local port=$1; shift
	{
		printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_queued_messages 0\n' "$port"
		local line
		for line in "$@"; do echo "$line"; done
	} >"$WORK/mosquitto.conf"
	mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0; sleep 0.1; done
	echo "$BENCH_NAME: mosquitto did not start" >&2; exit 1
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}

bench_run() { # bench_run 'TAGS' WHAT PORT ARGS...: one imgate-bench run against the server; its JSON line, with TAGS ("key":"value",...) in front, is kept in RESULTS
	local tags=$1 what=$2 port=$3 out line; shift 3
	# Exit status 1 means not all logged in, or something lost, duplicated
	# or reordered: the line is kept (the table shows it), and said.
	out=$("$BENCH" --port "$port" --sources "$SOURCES" --server-pid "$SERVER_PID" --json --quiet "$@") \
		|| echo "$BENCH_NAME: $what: not clean (see the lost/dup/reord and failed columns)" >&2
	line=$(grep '^{' <<<"$out") || { echo "$BENCH_NAME: $what: no result:" >&2; echo "$out" >&2; return 0; }
	echo "{$tags,${line#\{}" | tee -a "$RESULTS" >&2
}
