#!/usr/bin/env bash
# Builds the imgate packages: imgate and imgate-dev as .deb, imgate and
# imgate-devel as .rpm, into $BUILD_DIR/packages/ (default build/packages/),
# and prints their paths. Needs what tools/dev.sh installs plus rpm (for
# rpmbuild); run as root or with sudo when packages are missing.
#
#   tools/package.sh            build both formats
#   tools/package.sh deb        only the .deb files
# SKIP_BUILD=1 packages BUILD_DIR as it is (the package test does that).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
FORMATS=${1:-deb rpm}

PACKAGES=(g++ cmake make pkg-config libpoco-dev libprotobuf-dev protobuf-compiler libcppunit-dev libssl-dev libwslay-dev dpkg-dev fakeroot gzip)
case " $FORMATS " in *" rpm "*) PACKAGES+=(rpm) ;; esac

if [ "${SKIP_BUILD:-0}" != 1 ]; then
	tools/dev.sh deps "${PACKAGES[@]}"
	# Node and npm build the chat page imgated embeds (clients/js, web/).
	command -v node >/dev/null && command -v npm >/dev/null || tools/dev.sh deps nodejs npm
	cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	cmake --build "$BUILD_DIR" -j "$JOBS" >/dev/null
fi
rm -rf "$BUILD_DIR/packages"
for f in $FORMATS; do
	generator=$(echo "$f" | tr a-z A-Z)
	(cd "$BUILD_DIR" && cpack -G "$generator" >/dev/null) || {
		echo "package.sh: cpack -G $generator failed; rerun it in $BUILD_DIR for the details" >&2
		exit 1
	}
done
find "$BUILD_DIR/packages" -maxdepth 1 \( -name '*.deb' -o -name '*.rpm' \) | sort
