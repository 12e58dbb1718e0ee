"""The value types the client hands to the application."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["Message", "SendAck", "Session", "Kick", "HistoryPage", "Backoff"]


class Message:
    """A delivered message (``MSG_DELIVER``) or an entry of a HISTORY page.

    ``msg_id`` is 0 for a transient message. ``carbon`` is true for a
    message this uid sent from another session (protocol 1.1 carbons).
    Delivered messages are acknowledged as described in :class:`imgate.Client`
    (``async for`` acknowledges the previous message when it asks for the next
    one); :meth:`ack` acknowledges at once. History entries have no
    acknowledgement (``ack()`` does nothing).
    """

    __slots__ = ("msg_id", "from_uid", "to_uid", "group_id", "payload", "timestamp_ms", "transient",
                 "carbon", "_client", "_acked")

    def __init__(self, deliver: Any, own_uid: str, client: "Optional[Client]" = None) -> None:
        self.msg_id: int = int(deliver.msg_id)
        self.from_uid: str = deliver.from_uid
        self.to_uid: str = deliver.to_uid
        self.group_id: str = deliver.group_id
        self.payload: bytes = bytes(deliver.payload)
        self.timestamp_ms: int = int(deliver.timestamp_ms)
        self.transient: bool = bool(deliver.transient)
        self.carbon: bool = bool(own_uid) and self.from_uid == own_uid and self.to_uid != own_uid
        self._client = client
        self._acked = client is None or self.transient or self.msg_id == 0

    @property
    def text(self) -> str:
        """The payload read as UTF-8 (invalid bytes replaced)."""
        return self.payload.decode("utf-8", errors="replace")

    @property
    def acked(self) -> bool:
        """True once this message is acknowledged (always for transient ones)."""
        return self._acked

    def ack(self) -> None:
        """Acknowledges this delivery now (batched into one MSG_DELIVER_ACK
        with the others of this event-loop turn). Idempotent; nothing for a
        transient message or a history entry."""
        if not self._acked and self._client is not None:
            self._client._ack(self)

    def __repr__(self) -> str:
        where = f"group {self.group_id}" if self.group_id else f"to {self.to_uid}"
        flags = "".join([" transient" if self.transient else "", " carbon" if self.carbon else ""])
        return f"<Message {self.msg_id} from {self.from_uid} {where}{flags}: {self.payload[:40]!r}>"


@dataclass(frozen=True)
class SendAck:
    """A ``MSG_SEND_ACK`` OK: the message is stored (durably with the sqlite
    store) under ``msg_id`` (0 for a transient send)."""
    client_msg_id: int
    msg_id: int
    timestamp_ms: int


@dataclass(frozen=True)
class Session:
    """A successful LOGIN (``LOGIN_RESP`` OK)."""
    uid: str
    device: str
    session_id: str
    server_time_ms: int
    heartbeat_interval_s: int
    protocol: str
    message: str = ""


@dataclass(frozen=True)
class Kick:
    """A ``KICK`` from the server: ``reason`` 1 DUPLICATE_LOGIN, 2 ADMIN,
    3 BANNED, 4 SHUTDOWN."""
    reason: int
    reason_name: str
    message: str


@dataclass(frozen=True)
class HistoryPage:
    """One HISTORY page, newest first; ``more``: older messages exist."""
    messages: List[Message]
    more: bool


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: the n-th attempt in a row (n from 0) waits
    ``min(max_s, initial_s * factor**n) * (1 - jitter * random())`` seconds
    (with the defaults 0.25-0.5 s, 0.5-1 s, 1-2 s, ... at most 30 s)."""
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        base = min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * self.rng.random())
