"""A minimal RFC 6455 client for the imgate WebSocket listener.

imgated's WebSocket port carries one imgate frame per binary message, both
ways, with the subprotocol ``imgate.v1`` (docs/protocol.md, "TLS and
WebSocket"). This module does the upgrade handshake over an asyncio stream
(plain or TLS) and wraps and unwraps messages; the imgate frames inside go
through the same :class:`imgate.frame.FrameDecoder` as on TCP.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from typing import List, Tuple

__all__ = ["SUBPROTOCOL", "handshake", "WebSocketReader", "encode_message", "WebSocketError"]

SUBPROTOCOL = "imgate.v1"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEAD = 16384

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocketError(ConnectionError):
    """A failed upgrade or a WebSocket protocol violation by the server (the
    connection is dropped and made again, like any lost connection)."""


async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int,
                    path: str) -> None:
    """Sends the upgrade request for ``path`` and checks the ``101`` answer:
    ``Sec-WebSocket-Accept`` of our key, subprotocol ``imgate.v1``. Raises
    :class:`WebSocketError` otherwise (with the status line)."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    host_header = f"[{host}]" if ":" in host else host
    request = (f"GET {path} HTTP/1.1\r\nHost: {host_header}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n")
    writer.write(request.encode("ascii"))
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise WebSocketError("WebSocket upgrade: answer head too long") from None
    except asyncio.IncompleteReadError:
        raise WebSocketError("WebSocket upgrade: the server closed the connection") from None
    if len(head) > _MAX_HEAD:
        raise WebSocketError("WebSocket upgrade: answer head too long")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0]
    parts = status.split(" ", 2)
    if len(parts) < 2 or parts[1] != "101":
        raise WebSocketError(f"WebSocket upgrade refused: {status}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    accept = base64.b64encode(hashlib.sha1((key + _GUID).encode("ascii")).digest()).decode("ascii")
    if headers.get("sec-websocket-accept") != accept:
        raise WebSocketError("WebSocket upgrade: wrong Sec-WebSocket-Accept")
    if headers.get("sec-websocket-protocol") != SUBPROTOCOL:
        raise WebSocketError(f"WebSocket upgrade: subprotocol {headers.get('sec-websocket-protocol')!r}, "
                             f"expected {SUBPROTOCOL}")


def encode_message(payload: bytes, opcode: int = OP_BINARY) -> bytes:
    """One unfragmented, masked (as RFC 6455 requires of a client) message."""
    n = len(payload)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
    mask = os.urandom(4)
    if n:
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        payload = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
    return head + mask + payload


class WebSocketReader:
    """Turns the bytes from the server into the payloads of its binary
    messages. :meth:`feed` returns ``(payloads, replies, closed)``: the
    binary messages completed (fragments reassembled), the frames to send
    back (a pong for each ping, the close echo), and whether the server
    closed. Raises :class:`WebSocketError` for a masked or malformed frame,
    a text message, or a message above ``max_message``."""

    def __init__(self, max_message: int) -> None:
        self.max_message = max_message
        self._buffer = bytearray()
        self._fragments: List[bytes] = []
        self._fragmented = False

    def feed(self, data: bytes) -> Tuple[List[bytes], List[bytes], bool]:
        buf = self._buffer
        buf += data
        payloads: List[bytes] = []
        replies: List[bytes] = []
        offset = 0
        try:
            while len(buf) - offset >= 2:
                b0, b1 = buf[offset], buf[offset + 1]
                fin, opcode, masked, length = b0 & 0x80, b0 & 0x0F, b1 & 0x80, b1 & 0x7F
                at = offset + 2
                if b0 & 0x70:
                    raise WebSocketError("WebSocket frame with reserved bits set")
                if masked:
                    raise WebSocketError("masked WebSocket frame from the server")
                if length == 126:
                    if len(buf) - at < 2:
                        break
                    (length,) = struct.unpack_from(">H", buf, at)
                    at += 2
                elif length == 127:
                    if len(buf) - at < 8:
                        break
                    (length,) = struct.unpack_from(">Q", buf, at)
                    at += 8
                if length > self.max_message:
                    raise WebSocketError(f"WebSocket message of {length} bytes is above the limit")
                if len(buf) - at < length:
                    break
                payload = bytes(buf[at:at + length])
                offset = at + length
                if opcode == OP_PING:
                    replies.append(encode_message(payload, OP_PONG))
                elif opcode == OP_PONG:
                    pass
                elif opcode == OP_CLOSE:
                    replies.append(encode_message(payload[:2], OP_CLOSE))
                    return payloads, replies, True
                elif opcode == OP_TEXT:
                    raise WebSocketError("text WebSocket message from the server")
                elif opcode in (OP_BINARY, OP_CONTINUATION):
                    if (opcode == OP_BINARY) == self._fragmented:
                        raise WebSocketError("WebSocket fragments out of order")
                    self._fragments.append(payload)
                    if sum(len(f) for f in self._fragments) > self.max_message:
                        raise WebSocketError("WebSocket message above the limit")
                    self._fragmented = not fin
                    if fin:
                        payloads.append(b"".join(self._fragments))
                        self._fragments = []
                else:
                    raise WebSocketError(f"WebSocket opcode {opcode}")
        finally:
            if offset:
                del buf[:offset]
        return payloads, replies, False
