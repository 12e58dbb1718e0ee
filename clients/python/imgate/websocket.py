"""The WebSocket transport, over the ``websockets`` library (Debian's
python3-websockets).

imgated's WebSocket port carries one imgate frame per binary message, both
ways, with the subprotocol ``imgate.v1`` (docs/protocol.md, "TLS and
WebSocket"). The library does the upgrade, the framing (masking, fragments,
ping/pong, the close handshake) and the limit on a message's size; this
module offers the connection the client needs: the payloads of the server's
binary messages as a byte stream for :class:`imgate.frame.FrameDecoder`, one
message per frame written, sent in order, and an abort.
"""
from __future__ import annotations

import asyncio
import collections
import ssl
from typing import Deque, Optional

import websockets
import websockets.exceptions

from .frame import HEADER_SIZE, FrameDecoder

__all__ = ["SUBPROTOCOL", "WebSocketError", "WebSocketConnection", "connect"]

SUBPROTOCOL = "imgate.v1"


class WebSocketError(ConnectionError):
    """A failed upgrade (e.g. ``HTTP 404`` for a wrong path), a connection
    lost without a close handshake, or a WebSocket protocol violation by the
    server (a text message, a message above the limit). Like any lost
    connection, the client makes it again."""


def _uri(host: str, port: int, path: str, secure: bool) -> str:
    netloc = f"[{host}]" if ":" in host else host
    return f"{'wss' if secure else 'ws'}://{netloc}:{port}{path}"


async def connect(host: str, port: int, path: str, max_body_size: int,
                  ssl_context: Optional[ssl.SSLContext] = None,
                  server_hostname: Optional[str] = None) -> "WebSocketConnection":
    """Connects to ``ws://host:port/path`` (``wss`` with ``ssl_context``) with
    the subprotocol ``imgate.v1`` and no ``Origin`` header. Messages from the
    server above ``max_body_size`` plus a frame header are refused (the
    library closes the connection with 1009). Raises :class:`WebSocketError`
    for a refused upgrade, ``OSError``/``ssl.SSLError`` for the TCP and TLS
    failures."""
    kwargs = {}
    if ssl_context is not None:
        kwargs["ssl"] = ssl_context
        kwargs["server_hostname"] = server_hostname or host
    try:
        ws = await websockets.connect(
            _uri(host, port, path, ssl_context is not None),
            subprotocols=[SUBPROTOCOL],
            origin=None,
            compression=None,      # imgated offers no permessage-deflate
            ping_interval=None,    # the imgate HEARTBEAT finds a dead link
            open_timeout=None,     # bounded by the client's login_timeout
            max_size=max_body_size + HEADER_SIZE,
            **kwargs)
    except websockets.exceptions.WebSocketException as e:
        raise WebSocketError(f"WebSocket upgrade failed: {e}") from None
    if ws.subprotocol != SUBPROTOCOL:
        ws.transport.abort()
        raise WebSocketError(f"WebSocket upgrade: subprotocol {ws.subprotocol!r}, expected {SUBPROTOCOL}")
    return WebSocketConnection(ws, max_body_size)


class WebSocketConnection:
    """One WebSocket to imgated, with the interface of the client's TCP
    connection: :meth:`read` (the bytes of the next binary message, ``b""``
    at the end), :meth:`write` (one frame, one message; messages go out in
    order from one task), :meth:`flush`, :meth:`abort`."""

    def __init__(self, ws, max_body_size: int) -> None:
        self.ws = ws
        self.decoder = FrameDecoder(max_body_size)
        self.drop_reason: Optional[str] = None
        self._out: Deque[bytes] = collections.deque()
        self._sender: Optional["asyncio.Task[None]"] = None

    async def read(self) -> bytes:
        if self.drop_reason is not None:
            return b""
        try:
            message = await self.ws.recv()
        except websockets.exceptions.ConnectionClosedOK:
            return b""
        except websockets.exceptions.ConnectionClosed as e:
            if self.drop_reason is not None:
                return b""
            raise WebSocketError(f"WebSocket closed: {e}") from None
        if isinstance(message, str):
            raise WebSocketError("text WebSocket message from the server")
        return message

    def write(self, frame: bytes) -> None:
        if self.drop_reason is not None:
            return
        self._out.append(frame)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())

    def flush(self) -> None:
        """Nothing to do: the sender task writes each frame as its own message
        as soon as the event loop runs it."""

    async def _send_queued(self) -> None:
        try:
            while self._out:
                await self.ws.send(self._out.popleft())
        except websockets.exceptions.ConnectionClosed:
            self._out.clear()  # read() reports the end

    def abort(self, reason: str) -> None:
        """Drops the connection at once (RST, no close handshake)."""
        if self.drop_reason is None:
            self.drop_reason = reason
        self._out.clear()
        if self._sender is not None and not self._sender.done():
            self._sender.cancel()
        transport = self.ws.transport
        if transport is not None:
            transport.abort()
