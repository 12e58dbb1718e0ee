#!/usr/bin/env bash
# imgate developer entry point: the two commands of the README.
#
#   tools/dev.sh run    install what is missing, build, run imgated in the
#                       foreground on etc/imgate.dev.properties (port 7700)
#   tools/dev.sh test   install what is missing, build, run the whole test
#                       suite with ctest (ends with ctest's summary line)
#
# Needs Debian 12 (or a close relative) and root or sudo for apt-get when
# packages are missing. BUILD_DIR (default: build) selects the build folder.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

PACKAGES=(g++ cmake make pkg-config libpoco-dev libprotobuf-dev protobuf-compiler libcppunit-dev)

install_deps() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "dev.sh: installing ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
	cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
run)
	install_deps
	build
	mkdir -p data
	exec "$BUILD_DIR/server/imgated" --config=etc/imgate.dev.properties
	;;
test)
	install_deps
	build
	cd "$BUILD_DIR"
	exec ctest --output-on-failure -j "${TEST_JOBS:-2}"
	;;
*)
	echo "usage: tools/dev.sh run|test" >&2
	exit 64
	;;
esac
