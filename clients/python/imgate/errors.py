"""Exceptions of the imgate client.

Every failure the application sees is an :class:`ImgateError` (or a
subclass): ``status`` is the protocol's status number when the server refused
something, ``None`` when the failure is on the client's side; ``status_name``
is a name of the status table of docs/protocol.md or one of the client's own
(``OFFLINE``, ``DISCONNECTED``, ``CLOSED``, ``KICKED``, ``PROTOCOL``).
"""
from __future__ import annotations

from typing import Optional

from .frame import KickReason, kick_reason_name, status_name

__all__ = ["ImgateError", "KickedError", "FrameError"]


class ImgateError(Exception):
    """A refusal by the server, or a failure on this side (status ``None``)."""

    def __init__(self, status: Optional[int], message: str = "", name: Optional[str] = None) -> None:
        self.status: Optional[int] = status
        self.status_name: str = name or (status_name(status) if status is not None else "ERROR")
        self.server_message: str = message or ""
        super().__init__(f"{self.status_name}: {message}" if message else self.status_name)


class KickedError(ImgateError):
    """The server ended the session with a KICK that forbids reconnecting
    (``DUPLICATE_LOGIN`` or ``BANNED``). ``reason`` is the KICK's number,
    ``reason_name`` its name, ``server_message`` the KICK's text."""

    def __init__(self, reason: int, message: str = "") -> None:
        self.reason: int = reason
        self.reason_name: str = kick_reason_name(reason)
        text = self.reason_name + (f" ({message})" if message else "")
        super().__init__(None, text, "KICKED")
        self.server_message = message

    @property
    def duplicate_login(self) -> bool:
        return self.reason == KickReason.DUPLICATE_LOGIN


class FrameError(ImgateError):
    """Bytes from the server that are not a well-formed frame (bad magic,
    another version, flags set, a body above the client's limit, a body that
    does not parse). The connection is dropped and made again."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message, "PROTOCOL")
