"""A real imgated for the tests: its own temp folder, properties file, port
and store; killed (SIGKILL) and removed at the end.

Environment: IMGATED (the server binary), IMGATE_PLUGIN_DIR (the built
plugins), IMGATE_SOURCE_DIR (the repository, for
tests/support/make-test-certs.sh). clients/python/CMakeLists.txt sets them;
the defaults fit a checkout with a build in build-lead/.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Dict, Optional

SOURCE_DIR = os.environ.get("IMGATE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
IMGATED = os.environ.get("IMGATED") or os.path.join(SOURCE_DIR, "build-lead", "server", "imgated")
PLUGIN_DIR = os.environ.get("IMGATE_PLUGIN_DIR") or os.path.join(os.path.dirname(os.path.dirname(IMGATED)), "plugins")

_LISTENING = re.compile(r": listening on [^ ]*:(\d+) with ")
_TLS_LISTENING = re.compile(r"TLS listening on [^ ]*:(\d+)")
_WS_LISTENING = re.compile(r"WebSocket listening on [^ ]*:(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """imgated with anonymous logins on 127.0.0.1 (settings override any key).

    start() waits (at most 15 s) for "listening on"; kill() sends SIGKILL;
    start() again reuses the same port, store file and settings.
    """

    def __init__(self, settings: Optional[Dict[str, str]] = None, dir: Optional[str] = None) -> None:
        self.dir = dir or tempfile.mkdtemp(prefix="imgate-pytest-")
        self._own_dir = dir is None
        self.settings: Dict[str, str] = {
            "server.address": "127.0.0.1",
            "server.port": "0",
            "server.ioThreads": "2",
            "server.drainTime": "0",
            "admin.enabled": "false",
            "auth.allowAnonymous": "true",
            "store.path": os.path.join(self.dir, "imgate.db"),
        }
        self.settings.update(settings or {})
        self.port = 0
        self.tls_port = 0
        self.websocket_port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(self.dir, "imgated.log")

    def start(self) -> "ServerProcess":
        if self.port:
            self.settings["server.port"] = str(self.port)  # a restart: the same port
        config = os.path.join(self.dir, "imgate.properties")
        with open(config, "w") as f:
            for key, value in self.settings.items():
                if value != "":
                    f.write(f"{key} = {value}\n")
        log = open(self.log_path, "ab")
        start_at = log.tell()
        try:
            self.proc = subprocess.Popen([IMGATED, f"--config={config}"], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            text = self.log()[start_at:]
            m = _LISTENING.search(text)
            if m:
                self.port = int(m.group(1))
                t = _TLS_LISTENING.search(text)
                self.tls_port = int(t.group(1)) if t else 0
                w = _WS_LISTENING.search(text)
                self.websocket_port = int(w.group(1)) if w else 0
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"imgated did not start:\n{self.log()[start_at:]}")

    def log(self) -> str:
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL (after SIGCONT, in case it is stopped) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def make_test_certs(dir: str) -> str:
    """tests/support/make-test-certs.sh DIR; returns DIR (ca.pem, server.pem, server.key)."""
    script = os.path.join(SOURCE_DIR, "tests", "support", "make-test-certs.sh")
    subprocess.run(["bash", script, dir], check=True, timeout=60, stdout=subprocess.DEVNULL)
    return dir
