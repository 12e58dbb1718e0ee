"""The persistent outbox: unacknowledged sends that survive the application.

A :class:`OutboxFile` keeps, in one file (mode 0600), every stored send
(not transient) that has not had its ``MSG_SEND_ACK`` yet, and the highest
``client_msg_id`` ever used (the floor of the next one, so that ids keep
increasing across restarts even if the clock goes back).

Format: one JSON object per line, appended:

* ``{"op": "send", "id": N, "to": UID, "group": GID, "payload": BASE64}`` --
  written and fsynced before :meth:`add` returns, so a send reported queued
  is on disk;
* ``{"op": "done", "id": N}`` -- the send was acknowledged (or refused);
  not fsynced: losing it only means the send goes again, and the server
  answers a repeated ``client_msg_id`` with the original ``msg_id`` and does
  not deliver it twice;
* ``{"op": "floor", "id": N}`` -- written when the file is compacted.

A torn last line (a crash in the middle of a write) is ignored. The file is
compacted (rewritten to a temporary file, fsynced, renamed) when it opens
and when it holds many finished entries.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Dict, List

__all__ = ["OutboxEntry", "OutboxFile"]


@dataclass
class OutboxEntry:
    """One unacknowledged send: to a uid (``to``) or a group (``group``)."""
    client_msg_id: int
    to: str
    group: str
    payload: bytes


class OutboxFile:
    """The outbox at ``path``; creates the file (0600) if it does not exist.

    Not thread-safe: one client (one event loop) owns the file. Two clients
    must not share one file.
    """

    COMPACT_AFTER = 4096

    def __init__(self, path: str) -> None:
        self.path = path
        self.floor = 0
        self._pending: Dict[int, OutboxEntry] = {}
        self._finished = 0
        self._load()
        self._compact()

    @property
    def entries(self) -> List[OutboxEntry]:
        """The unacknowledged sends, in the order they were added."""
        return list(self._pending.values())

    def add(self, entry: OutboxEntry) -> None:
        """Appends a send and fsyncs the file; returns once it is durable."""
        line = {"op": "send", "id": entry.client_msg_id, "to": entry.to, "group": entry.group,
                "payload": base64.b64encode(entry.payload).decode("ascii")}
        self._append(line, sync=True)
        self._pending[entry.client_msg_id] = entry
        self.floor = max(self.floor, entry.client_msg_id)

    def remove(self, client_msg_id: int) -> None:
        """Marks a send finished (acknowledged or refused); not fsynced."""
        if self._pending.pop(client_msg_id, None) is None:
            return
        self._append({"op": "done", "id": client_msg_id}, sync=False)
        self._finished += 1
        if self._finished >= self.COMPACT_AFTER:
            self._compact()

    def close(self) -> None:
        """Flushes the file to disk (the last ``done`` lines included)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    # --- internals ---

    def _load(self) -> None:
        self._file = None
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                op, cid = line["op"], int(line["id"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line
            self.floor = max(self.floor, cid)
            if op == "send":
                self._pending[cid] = OutboxEntry(cid, line.get("to", ""), line.get("group", ""),
                                                 base64.b64decode(line.get("payload", "")))
            elif op == "done":
                self._pending.pop(cid, None)

    def _compact(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps({"op": "floor", "id": self.floor}) + "\n")
            for e in self._pending.values():
                f.write(json.dumps({"op": "send", "id": e.client_msg_id, "to": e.to, "group": e.group,
                                    "payload": base64.b64encode(e.payload).decode("ascii")}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        _fsync_dir(os.path.dirname(os.path.abspath(self.path)))
        self._finished = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def _append(self, line: dict, sync: bool) -> None:
        assert self._file is not None, "the outbox is closed"
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
