#!/usr/bin/env bash
# imgate developer entry point: the two commands of the README.
#
#   tools/dev.sh run    install what is missing, build, run imgated in the
#                       foreground on etc/imgate.dev.properties (port 7700)
#   tools/dev.sh test   install what is missing, build, run the whole test
#                       suite with ctest (ends with ctest's summary line);
#                       its PackageTest installs and purges the .deb
#   tools/dev.sh deps P...  install the Debian packages P that are missing
#
# Needs Debian 12 (or a close relative) and root or sudo for apt-get when
# packages are missing. BUILD_DIR (default: build) selects the build folder.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

PACKAGES=(g++ cmake make pkg-config libpoco-dev libprotobuf-dev protobuf-compiler libcppunit-dev)
# The package test (ctest PackageTest) builds, lints and installs the packages.
PACKAGE_TEST_PACKAGES=(dpkg-dev fakeroot gzip rpm lintian rpmlint adduser systemd util-linux curl)

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

build() {
	# Prefix /usr: the layout the packages install (tools/package.sh).
	cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
deps)
	shift
	install_deps "$@"
	;;
run)
	install_deps "${PACKAGES[@]}"
	build
	mkdir -p data
	exec "$BUILD_DIR/server/imgated" --config=etc/imgate.dev.properties
	;;
test)
	install_deps "${PACKAGES[@]}" "${PACKAGE_TEST_PACKAGES[@]}"
	build
	cd "$BUILD_DIR"
	exec ctest --output-on-failure -j "${TEST_JOBS:-2}"
	;;
*)
	echo "usage: tools/dev.sh run|test|deps PACKAGE..." >&2
	exit 64
	;;
esac
