#!/usr/bin/env bash
# imgate developer entry point: the two commands of the README, and the
# checks CI adds to the second (docs/testing.md).
#
#   tools/dev.sh run    install what is missing, build, run imgated in the
#                       foreground on etc/imgate.dev.properties (port 7700)
#   tools/dev.sh test [--sanitize] [--fuzz]
#                       install what is missing, build (warnings are errors),
#                       run the whole test suite with ctest; its PackageTest
#                       installs and purges the .deb. CI (.ci/run) adds:
#       --sanitize      then build a Debug tree with AddressSanitizer and
#                       UndefinedBehaviorSanitizer (clang, asserts on) in
#                       build-asan and run the suite there (but PackageTest)
#       --fuzz          then build the libFuzzer targets (clang) in build-fuzz
#                       and run each for FUZZ_SECONDS (60); a crash fails
#                       Every pass runs; any failure fails the command. The
#                       last line is the summary line of the last ctest pass,
#                       or says which pass failed.
#   tools/dev.sh fuzz [TARGET...]
#                       build and run fuzz targets (all by default) for
#                       FUZZ_SECONDS each (0: until stopped), FUZZ_JOBS at
#                       a time, keeping what they learn in build-fuzz/
#   tools/dev.sh deps P...  install the Debian packages P that are missing
#
# Needs Debian 12 (or a close relative) and root or sudo for apt-get when
# packages are missing. BUILD_DIR (build), ASAN_BUILD_DIR (build-asan) and
# FUZZ_BUILD_DIR (build-fuzz) select the build folders; JOBS the build's
# parallelism, TEST_JOBS ctest's (2); CTEST_ARGS adds ctest arguments to
# every test pass (say -E PackageTest where packages cannot be installed).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-$(nproc)}
TEST_JOBS=${TEST_JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}

# curl: the README's admin API examples.
PACKAGES=(g++ cmake make pkg-config libpoco-dev libprotobuf-dev protobuf-compiler python3-protobuf python3-websockets libcppunit-dev libssl-dev libwslay-dev libpq-dev openssl curl)
# The package test (ctest PackageTest) builds, lints and installs the packages.
PACKAGE_TEST_PACKAGES=(dpkg-dev fakeroot gzip rpm lintian rpmlint adduser systemd util-linux curl)
# The cluster's engines (store.type = postgresql, cluster.*): the tests
# start their own PostgreSQL, Redis and HAProxy on loopback (docs/cluster.md).
ENGINE_PACKAGES=(postgresql redis-server haproxy)
# The JavaScript client and the chat page (clients/js, web/): Node and npm
# for every configure (npm ci fetches protobufjs from the npm registry).
# Installed only when node or npm is missing: NodeSource's nodejs, where
# present, brings its own npm and conflicts with Debian's.
JS_PACKAGES=(nodejs npm)
# The chat page's test in headless Chromium (tests/browser).
BROWSER_PACKAGES=(chromium chromium-driver python3-selenium)
# The sanitizer and fuzzing trees: clang with its runtimes (libFuzzer,
# ASan, UBSan, LeakSanitizer).
CLANG_PACKAGES=(clang libclang-rt-14-dev)

install_deps() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "dev.sh: installing ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_js_deps() {
	command -v node >/dev/null && command -v npm >/dev/null || install_deps "${JS_PACKAGES[@]}"
}

# build DIR [TARGET] [CMAKE-OPTION...]: configure and build DIR.
build() {
	local dir=$1 target=$2
	shift 2
	# Prefix /usr: the layout the packages install (tools/package.sh).
	cmake -S . -B "$dir" -DCMAKE_INSTALL_PREFIX=/usr "$@" >/dev/null
	if [ -n "$target" ]; then
		cmake --build "$dir" -j "$JOBS" --target "$target"
	else
		cmake --build "$dir" -j "$JOBS"
	fi
}

build_release() {
	build "$BUILD_DIR" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
}

build_asan() {
	# Debug: no NDEBUG, and _DEBUG turns POCO's debug assertions on.
	build "$ASAN_BUILD_DIR" "" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
		-DIMGATE_SANITIZE=address,undefined -DIMGATE_WERROR=ON
}

build_fuzz() {
	# Debug for the assertions, at -O1 for speed.
	build "$FUZZ_BUILD_DIR" imgate_fuzz_targets -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
		"-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DIMGATE_FUZZ=ON -DIMGATE_WERROR=ON
}

SUMMARIES=()
FAILED=()
LAST_SUMMARY=""

# run_ctest NAME DIR CTEST-ARGS...: runs ctest in DIR, records its summary.
run_ctest() {
	local name=$1 dir=$2
	shift 2
	local log="$dir/ctest.log" start=$SECONDS rc=0
	# shellcheck disable=SC2086 # CTEST_ARGS: words
	(cd "$dir" && ctest --output-on-failure -j "$TEST_JOBS" ${CTEST_ARGS:-} "$@") 2>&1 | tee "$log" || rc=$?
	local summary
	summary=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)
	[ -n "$summary" ] || summary="ctest did not finish (exit $rc)"
	SUMMARIES+=("$name: $summary ($((SECONDS - start)) s)")
	LAST_SUMMARY=$summary
	[ "$rc" -eq 0 ] || FAILED+=("$name")
}

# fuzz_one TARGET SECONDS: runs one fuzz target; prints one line, and the
# report if it crashed. Returns 1 on a crash.
fuzz_one() {
	local target=$1 seconds=$2
	local bin="$FUZZ_BUILD_DIR/tests/fuzz/fuzz-$target"
	local work="$FUZZ_BUILD_DIR/fuzz-corpus/$target" crashes="$FUZZ_BUILD_DIR/fuzz-crashes/$target"
	local log="$FUZZ_BUILD_DIR/fuzz-logs/$target.log"
	mkdir -p "$work" "$crashes" "$(dirname "$log")"
	local limit=()
	[ "$seconds" -gt 0 ] && limit=(-max_total_time="$seconds")
	# New inputs go to the first folder (build-fuzz, not the repository);
	# the committed seeds and regressions are read from the second.
	local rc=0
	"$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$work" "tests/fuzz/corpus/$target" >"$log" 2>&1 || rc=$?
	local runs speed corpus
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	corpus=$(find "$work" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "dev.sh: fuzz $target: ${runs:-?} runs in ${seconds} s (${speed:-?}/s), ${corpus} inputs learnt, no crash"
		return 0
	fi
	echo "dev.sh: fuzz $target: FAILED (exit $rc) after ${runs:-?} runs; whole log: $log"
	# The report's first lines (what broke, where), then where the input is.
	grep -a -m 1 -A 14 -E '^==[0-9]+== ?ERROR|broken promise|threw|^[^ ]+: runtime error' "$log" | grep -a -v -E '^ +#[0-9]+ .* in (fuzzer::|__sanitizer|std::__)' || true
	grep -a -E '^SUMMARY:|Test unit written to' "$log" | tail -n 2 || true
	return 1
}

# fuzz TARGET...: every target (all registered ones by default), FUZZ_JOBS
# at a time; records the pass.
fuzz() {
	local targets=("$@") start=$SECONDS
	[ ${#targets[@]} -gt 0 ] || mapfile -t targets <"$FUZZ_BUILD_DIR/tests/fuzz/targets.txt"
	local results="$FUZZ_BUILD_DIR/fuzz-results"
	rm -rf "$results"
	mkdir -p "$results"
	local t
	for t in "${targets[@]}"; do
		[ -x "$FUZZ_BUILD_DIR/tests/fuzz/fuzz-$t" ] || { echo "dev.sh: no fuzz target $t (tests/fuzz/CMakeLists.txt)" >&2; exit 64; }
		( if fuzz_one "$t" "$FUZZ_SECONDS" >"$results/$t.out" 2>&1; then echo 0; else echo 1; fi >"$results/$t.rc" ) &
		while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do wait -n || true; done
	done
	wait
	local crashed=()
	for t in "${targets[@]}"; do
		cat "$results/$t.out"
		[ "$(cat "$results/$t.rc")" -eq 0 ] || crashed+=("$t")
	done
	local seconds=$((SECONDS - start))
	if [ ${#crashed[@]} -eq 0 ]; then
		SUMMARIES+=("fuzzing: ${#targets[@]} targets x ${FUZZ_SECONDS} s, no crash ($seconds s)")
	else
		SUMMARIES+=("fuzzing: ${crashed[*]} crashed (inputs in $FUZZ_BUILD_DIR/fuzz-crashes/) ($seconds s)")
		FAILED+=("fuzzing")
	fi
}

finish() {
	echo
	local s
	for s in "${SUMMARIES[@]}"; do echo "dev.sh: $s"; done
	if [ ${#FAILED[@]} -gt 0 ]; then
		echo "dev.sh: FAILED: ${FAILED[*]}"
		exit 1
	fi
	[ -z "$LAST_SUMMARY" ] || echo "$LAST_SUMMARY"
}

case "${1:-}" in
deps)
	shift
	install_deps "$@"
	;;
run)
	install_deps "${PACKAGES[@]}"
	install_js_deps
	build_release
	mkdir -p data
	exec "$BUILD_DIR/server/imgated" --config=etc/imgate.dev.properties
	;;
test)
	shift
	sanitize=0 fuzzing=0
	for arg in "$@"; do
		case "$arg" in
		--sanitize) sanitize=1 ;;
		--fuzz) fuzzing=1 ;;
		*) echo "usage: tools/dev.sh test [--sanitize] [--fuzz]" >&2; exit 64 ;;
		esac
	done
	extra=()
	[ $((sanitize + fuzzing)) -eq 0 ] || extra=("${CLANG_PACKAGES[@]}")
	install_deps "${PACKAGES[@]}" "${PACKAGE_TEST_PACKAGES[@]}" "${BROWSER_PACKAGES[@]}" "${ENGINE_PACKAGES[@]}" "${extra[@]}"
	install_js_deps
	build_release -DIMGATE_WERROR=ON
	if [ $((sanitize + fuzzing)) -eq 0 ]; then
		cd "$BUILD_DIR"
		# shellcheck disable=SC2086 # CTEST_ARGS: words
		exec ctest --output-on-failure -j "$TEST_JOBS" ${CTEST_ARGS:-}
	fi
	run_ctest "suite ($BUILD_DIR)" "$BUILD_DIR"
	if [ "$fuzzing" -eq 1 ]; then
		echo "dev.sh: fuzzing: building $FUZZ_BUILD_DIR"
		build_fuzz
		fuzz
	fi
	if [ "$sanitize" -eq 1 ]; then
		echo "dev.sh: sanitizer pass: building $ASAN_BUILD_DIR"
		build_asan
		run_ctest "sanitizer suite ($ASAN_BUILD_DIR, ASan+UBSan)" "$ASAN_BUILD_DIR"
	fi
	finish
	;;
fuzz)
	shift
	install_deps "${PACKAGES[@]}" "${CLANG_PACKAGES[@]}"
	install_js_deps
	build_fuzz
	fuzz "$@"
	finish
	;;
*)
	echo "usage: tools/dev.sh run|test [--sanitize] [--fuzz]|fuzz [TARGET...]|deps PACKAGE..." >&2
	exit 64
	;;
esac
