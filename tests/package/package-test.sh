#!/usr/bin/env bash
# PackageTest (ctest, label "package"): the packages as a user gets them.
#
# Builds the .deb and .rpm from BUILD_DIR (already built), fails on any
# lintian or rpmlint finding, installs imgate, imgate-dev and python3-imgate
# with apt-get, checks files, owners and modes, runs the installed imgated
# with the installed configuration as user imgate (no systemd here), logs two
# users in with tokens from the generated secret, sends a message and sees it
# delivered, sees anonymous login refused, loads a third-party plugin built
# with imgate-dev, sends with a client built on imgate-dev and with the
# installed Python package (from /, Debian's python3), then purges the three
# packages and checks what is left. The
# package keeps its system user imgate on purge (Debian policy); the test
# then removes that user and its group if its own install created them, so
# the machine is left as it was found.
#
#   tests/package/package-test.sh BUILD_DIR
#
# Where systemd runs, it also checks the installed service: active and
# listening, reload, stop. Needs root (or sudo), port 7700 free, and imgate
# not installed already.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(cd "${1:?usage: package-test.sh BUILD_DIR}" && pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
WORK=$(mktemp -d /tmp/imgate-package-test.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
INSTALLED=0
CHECKS=0
# Whether user and group imgate existed before the install (then they stay).
USER_BEFORE=1
GROUP_BEFORE=1

step() { echo "== $*"; }
fail() { echo "PackageTest: FAIL: $*" >&2; [ -f "$WORK/server.log" ] && sed 's/^/  server: /' "$WORK/server.log" >&2; exit 1; }
check() { # check DESCRIPTION COMMAND...: one assertion
	local what=$1; shift
	if "$@"; then CHECKS=$((CHECKS + 1)); else fail "$what"; fi
}
mode_of() { stat -c '%a %U:%G' "$1"; }

remove_created_user() { # the system user and group imgate, if this test's install created them
	if [ "$USER_BEFORE" = 0 ] && getent passwd imgate >/dev/null; then $SUDO userdel imgate; fi
	if [ "$GROUP_BEFORE" = 0 ] && getent group imgate >/dev/null; then $SUDO groupdel imgate; fi
}

cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
	if [ "$INSTALLED" = 1 ]; then
		$SUDO rm -f /usr/lib/*/imgate/plugins/hello-filter.so
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y -qq imgate imgate-dev python3-imgate >/dev/null 2>&1 || true
	fi
	remove_created_user >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

for p in imgate python3-imgate; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
		fail "$p is already installed here; this test installs and purges it, so remove it first (apt-get purge imgate imgate-dev python3-imgate)"
	fi
done

grep -q '^CMAKE_INSTALL_PREFIX:PATH=/usr$' "$BUILD_DIR/CMakeCache.txt" \
	|| fail "$BUILD_DIR is not configured with -DCMAKE_INSTALL_PREFIX=/usr (tools/dev.sh and tools/package.sh do that)"

step "packages"
PACKAGES=$(BUILD_DIR="$BUILD_DIR" SKIP_BUILD=1 "$SRC/tools/package.sh")
echo "$PACKAGES"
DEB=$(echo "$PACKAGES" | grep '/imgate_.*\.deb$')
DEV_DEB=$(echo "$PACKAGES" | grep '/imgate-dev_.*\.deb$')
PY_DEB=$(echo "$PACKAGES" | grep '/python3-imgate_.*_all\.deb$') || fail "no python3-imgate_*_all.deb"
RPMS=$(echo "$PACKAGES" | grep '\.rpm$' | tr '\n' ' ')
# python3-imgate installs into Debian's dist-packages: a .deb only.
check "no python3-imgate rpm" bash -c "! grep -q python3-imgate <<<'$RPMS'"
PY_FILES=$(dpkg-deb -c "$PY_DEB")
check "python3-imgate ships no byte-compiled files" bash -c "! grep -qE '\.py[co]\$|__pycache__' <<<'$PY_FILES'"
check "python3-imgate ships imgate_pb2 inside the package, not as a top-level module" \
	bash -c "grep -q ' ./usr/lib/python3/dist-packages/imgate/imgate_pb2.py\$' <<<'$PY_FILES' && ! grep -q 'dist-packages/imgate_pb2' <<<'$PY_FILES'"

step "lintian"
lintian --version
# No error, no warning (info lines are shown, and allowed).
check "lintian findings" lintian --info --fail-on error,warning "$DEB" "$DEV_DEB" "$PY_DEB"

step "rpmlint"
# shellcheck disable=SC2086
RPMLINT=$(rpmlint -c "$SRC/packaging/rpm/rpmlint.toml" $RPMS 2>&1 || true)
echo "$RPMLINT"
check "rpmlint findings" grep -q " 0 errors, 0 warnings" <<<"$RPMLINT"

step "install"
getent passwd imgate >/dev/null || USER_BEFORE=0
getent group imgate >/dev/null || GROUP_BEFORE=0
INSTALLED=1
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$DEB" "$DEV_DEB" "$PY_DEB" >/dev/null
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
PLUGIN_DIR=/usr/lib/$MULTIARCH/imgate/plugins
for f in /usr/sbin/imgated /usr/bin/imgate-cli /usr/bin/imgate-bench; do check "$f executable" test -x "$f"; done
for p in blacklist ratelimit auth-jwt; do check "$PLUGIN_DIR/$p.so" test -f "$PLUGIN_DIR/$p.so"; done
for f in /lib/systemd/system/imgate.service /usr/share/man/man8/imgated.8.gz /usr/share/man/man1/imgate-cli.1.gz /usr/share/man/man1/imgate-bench.1.gz \
	/usr/share/doc/imgate/copyright /usr/share/doc/imgate/changelog.Debian.gz \
	/usr/share/doc/imgate/cluster.md /usr/share/doc/imgate/examples/haproxy-cluster.cfg \
	/usr/include/imgate/Plugin.h /usr/include/imgate/Config.h /usr/share/cmake/imgate/imgateConfig.cmake \
	/usr/include/imgate/client/Client.h /usr/lib/$MULTIARCH/libimgate-client.a /usr/share/cmake/imgate/imgateClientTargets.cmake \
	/usr/lib/python3/dist-packages/imgate/__init__.py /usr/lib/python3/dist-packages/imgate/imgate_pb2.py \
	/usr/share/doc/python3-imgate/copyright /usr/share/doc/python3-imgate/changelog.Debian.gz; do
	check "$f installed" test -f "$f"
done
CONFFILES=$(dpkg-query -W -f='${Conffiles}' imgate)
check "imgate.properties is a conffile" grep -q "/etc/imgate/imgate.properties" <<<"$CONFFILES"
check "blacklist.txt is a conffile" grep -q "/etc/imgate/blacklist.txt" <<<"$CONFFILES"
check "system user imgate" test "$(getent passwd imgate | cut -d: -f3)" -lt 1000
check "imgate has no login shell" grep -q "nologin\|/bin/false" <<<"$(getent passwd imgate | cut -d: -f7)"
check "jwt.secret is 640 root:imgate (is $(mode_of /etc/imgate/jwt.secret))" test "$(mode_of /etc/imgate/jwt.secret)" = "640 root:imgate"
check "jwt.secret holds 64 hex digits" grep -qE '^[0-9a-f]{64}$' /etc/imgate/jwt.secret
check "admin.token is 640 root:imgate (is $(mode_of /etc/imgate/admin.token))" test "$(mode_of /etc/imgate/admin.token)" = "640 root:imgate"
check "admin.token holds 64 hex digits" grep -qE '^[0-9a-f]{64}$' /etc/imgate/admin.token
check "admin.token differs from jwt.secret" test "$(cat /etc/imgate/admin.token)" != "$(cat /etc/imgate/jwt.secret)"
check "/var/lib/imgate is 750 imgate:imgate (is $(mode_of /var/lib/imgate))" test "$(mode_of /var/lib/imgate)" = "750 imgate:imgate"
check "imgate.properties is 644 root:root" test "$(mode_of /etc/imgate/imgate.properties)" = "644 root:root"
check "imgated is 755 root:root" test "$(mode_of /usr/sbin/imgated)" = "755 root:root"
WANTS=/etc/systemd/system/multi-user.target.wants/imgate.service
check "imgate.service enabled ($WANTS)" test -L "$WANTS"

if [ -d /run/systemd/system ]; then
	step "the service under systemd"
	for _ in $(seq 1 100); do systemctl is-active --quiet imgate && break; sleep 0.1; done
	check "imgate.service active" systemctl is-active --quiet imgate
	check "status says it listens" bash -c "systemctl status imgate | grep -q 'listening on 0.0.0.0:7700'"
	check "systemctl reload" $SUDO systemctl reload imgate
	check "still active after reload" systemctl is-active --quiet imgate
	check "systemctl stop" $SUDO systemctl stop imgate
else
	echo "(no systemd here: the package enabled the unit and started nothing)"
fi

step "systemd unit"
check "systemd-analyze verify" systemd-analyze verify /lib/systemd/system/imgate.service
# Exposure 2.0 or lower ("--threshold" is in tenths).
systemd-analyze security --offline=true /lib/systemd/system/imgate.service | tail -1
check "systemd-analyze security exposure <= 2.0" systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/imgate.service >/dev/null

step "a reinstall keeps the admin's edits and the secret"
SECRET_BEFORE=$(sha256sum /etc/imgate/jwt.secret /etc/imgate/admin.token)
echo "# edited by the package test" | $SUDO tee -a /etc/imgate/blacklist.txt >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confold "$DEB" >/dev/null
check "conffile edit survives" grep -q "edited by the package test" /etc/imgate/blacklist.txt
check "jwt.secret and admin.token unchanged" test "$(sha256sum /etc/imgate/jwt.secret /etc/imgate/admin.token)" = "$SECRET_BEFORE"

step "a third-party plugin built with imgate-dev"
cmake -S "$SRC/examples/plugins/hello-filter" -B "$WORK/hello" >/dev/null
cmake --build "$WORK/hello" >/dev/null
$SUDO install -m 0644 "$WORK/hello/hello-filter.so" "$PLUGIN_DIR/"
$SUDO sed -i 's/^plugins.load = blacklist, ratelimit, auth-jwt$/plugins.load = blacklist, ratelimit, auth-jwt, hello-filter/' /etc/imgate/imgate.properties
check "plugins.load edited" grep -q "hello-filter" /etc/imgate/imgate.properties

step "a client application built with imgate-dev"
cmake -S "$SRC/clients/cpp/examples" -B "$WORK/chat" >/dev/null
cmake --build "$WORK/chat" >/dev/null
check "the console chat example built against imgate::client" test -x "$WORK/chat/imgate-console-chat"

step "run the installed server as imgate"
for port in 7700 7780; do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then fail "port $port is in use: stop what listens there"; fi
done
cd /
# setpriv execs imgated itself (runuser would stay as its parent).
$SUDO setpriv --reuid=imgate --regid=imgate --init-groups /usr/sbin/imgated --config=/etc/imgate/imgate.properties >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
	grep -q "listening on" "$WORK/server.log" && break
	kill -0 "$SERVER_PID" 2>/dev/null || fail "imgated exited at start-up"
	sleep 0.1
done
check "imgated listening" grep -q "listening on 0.0.0.0:7700" "$WORK/server.log"
check "hello-filter loaded" grep -q "plugin hello-filter loaded from $PLUGIN_DIR/hello-filter.so" "$WORK/server.log"
check "store under /var/lib/imgate" grep -q "/var/lib/imgate/imgate.db" "$WORK/server.log"
check "admin listener on loopback with the token" grep -q "admin: serving http://127.0.0.1:7780/ (metrics, healthz, readyz; /v1/ API: bearer token from /etc/imgate/admin.token)" "$WORK/server.log"

TOKEN_ALICE=$(imgate-cli token --secret-file /etc/imgate/jwt.secret --uid alice)
TOKEN_BOB=$(imgate-cli token --secret-file /etc/imgate/jwt.secret --uid bob)
imgate-cli --uid bob --token "$TOKEN_BOB" listen --count 1 --seconds 15 >"$WORK/bob.out" 2>&1 &
LISTENER=$!
for _ in $(seq 1 50); do grep -q "login uid=bob" "$WORK/server.log" && break; sleep 0.1; done
check "alice sends" imgate-cli --uid alice --token "$TOKEN_ALICE" send bob "hello from the package test"
wait "$LISTENER" || fail "bob's listener failed: $(cat "$WORK/bob.out")"
check "bob got alice's message" grep -q "from=alice: hello from the package test" "$WORK/bob.out"

set +e
ANON=$(imgate-cli --uid eve send bob "anonymous" 2>&1)
ANON_RC=$?
set -e
check "anonymous login refused (exit $ANON_RC: $ANON)" test "$ANON_RC" = 1
check "refusal is AUTH_FAILED" grep -q "AUTH_FAILED" <<<"$ANON"
check "the token is never logged" bash -c "! grep -qF '${TOKEN_ALICE##*.}' '$WORK/server.log'"
check "the secret is never logged" bash -c "! grep -qF \"\$(cat /etc/imgate/jwt.secret)\" '$WORK/server.log'"

step "metrics and the admin API of the installed server"
METRICS=$(curl -sf http://127.0.0.1:7780/metrics)
check "/metrics counts alice's message" grep -q '^imgate_messages_accepted_total 1$' <<<"$METRICS"
check "/metrics counts the refused anonymous login" grep -q '^imgate_logins_total{result="auth_failed"} 1$' <<<"$METRICS"
check "/metrics shows the plugins' verdicts" grep -q '^imgate_plugin_verdicts_total{plugin="auth-jwt",verdict="authenticated"} 2$' <<<"$METRICS"
check "/readyz is 200" test "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7780/readyz)" = 200
check "/v1/stats without the token is 401" test "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:7780/v1/stats)" = 401
check "imgate-cli admin stats with the installed token" bash -c "$SUDO imgate-cli admin --admin-token-file /etc/imgate/admin.token stats | grep -q '^messages_accepted: 1$'"
check "the admin token is never logged" bash -c "! grep -qF \"\$(cat /etc/imgate/admin.token)\" '$WORK/server.log'"

CHAT=$(printf '@bob from a client built on imgate-dev\n' | "$WORK/chat/imgate-console-chat" --token "$TOKEN_ALICE" alice 2>&1)
check "the client built on imgate-dev sends (it said: $CHAT)" grep -q "to bob: stored as msg_id" <<<"$CHAT"

step "the installed Python client (python3-imgate)"
# From / with Debian's python3 and no PYTHONPATH: the installed package, not the source tree's.
PY_IMPORT=$(cd / && env -u PYTHONPATH /usr/bin/python3 -c 'import imgate, imgate.frame; print(imgate.__file__, imgate.frame.pb.__name__)' 2>&1)
check "import imgate from / (got: $PY_IMPORT)" test "$PY_IMPORT" = "/usr/lib/python3/dist-packages/imgate/__init__.py imgate.imgate_pb2"
cat >"$WORK/py-send.py" <<'PYEOF'
import asyncio
import sys

import imgate


async def main(token_alice: str, token_bob: str) -> None:
    bob = imgate.Client("127.0.0.1", 7700, "bob", token=token_bob, reconnect=False)
    alice = imgate.Client("127.0.0.1", 7700, "alice", token=token_alice, reconnect=False)
    await asyncio.wait_for(bob.start(), 10)
    await asyncio.wait_for(alice.start(), 10)
    ack = await asyncio.wait_for(alice.send("bob", "hello from python3-imgate"), 10)

    async def receive() -> imgate.Message:
        async for message in bob:  # the console chat's message may come first
            if message.msg_id == ack.msg_id:
                message.ack()
                return message
        raise RuntimeError("bob's client ended")

    message = await asyncio.wait_for(receive(), 15)
    print(f"bob got msg_id {message.msg_id} from={message.from_uid}: {message.text}")
    await asyncio.gather(alice.close(), bob.close())


asyncio.run(main(sys.argv[1], sys.argv[2]))
PYEOF
PY_OUT=$(cd / && env -u PYTHONPATH /usr/bin/python3 "$WORK/py-send.py" "$TOKEN_ALICE" "$TOKEN_BOB" 2>&1) || fail "the Python client failed: $PY_OUT"
echo "$PY_OUT"
check "bob got alice's message through python3-imgate" grep -q "from=alice: hello from python3-imgate" <<<"$PY_OUT"
# alice's imgate-cli message, the console chat's and the Python one.
check "/metrics counts the three messages" bash -c "curl -sf http://127.0.0.1:7780/metrics | grep -q '^imgate_messages_accepted_total 3\$'"

kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
SERVER_RC=$?
set -e
SERVER_PID=""
check "imgated stops with 0 on SIGTERM (got $SERVER_RC)" test "$SERVER_RC" = 0
check "the store file is owned by imgate" test "$(stat -c %U /var/lib/imgate/imgate.db)" = imgate

step "purge"
$SUDO rm -f "$PLUGIN_DIR/hello-filter.so"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y -qq imgate imgate-dev python3-imgate >/dev/null
INSTALLED=0
for f in /etc/imgate /var/lib/imgate /usr/lib/$MULTIARCH/imgate /usr/sbin/imgated /usr/bin/imgate-cli \
	/lib/systemd/system/imgate.service /usr/include/imgate /usr/share/cmake/imgate /usr/share/doc/imgate \
	/usr/lib/python3/dist-packages/imgate /usr/share/doc/python3-imgate; do
	check "$f removed by purge" test ! -e "$f"
done
check "enable link removed by purge" test ! -e "$WANTS"
for p in imgate imgate-dev python3-imgate; do
	check "dpkg forgot $p" bash -c "! dpkg-query -W $p >/dev/null 2>&1 || dpkg-query -W -f='\${Status}' $p | grep -q not-installed"
done
check "purge keeps the system user imgate (Debian policy, docs/operations.md)" bash -c "getent passwd imgate >/dev/null"
if [ "$USER_BEFORE" = 0 ]; then
	remove_created_user
	check "the imgate user this test's install created is removed" bash -c "! getent passwd imgate >/dev/null"
	check "and its group" bash -c "! getent group imgate >/dev/null"
else
	echo "(the system user imgate existed before this test: left as it was)"
fi

echo "PackageTest: $CHECKS checks passed"
