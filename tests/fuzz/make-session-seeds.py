#!/usr/bin/env python3
# Writes the seed inputs of tests/fuzz/session.cpp into corpus/session/:
# well-formed protocol v1 streams (docs/protocol.md), in the target's input
# format (a length byte, then that many bytes, per chunk; 0 = the rest).
# Rerun after a protocol change: python3 tests/fuzz/make-session-seeds.py
import os
import struct

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data

def field_varint(number, value):
    return varint(number << 3) + varint(value)

def frame(cmd, seq, body=b"", flags=0, version=1, magic=0x494D):
    return struct.pack(">HBBHHII", magic, version, flags, cmd, 0, seq, len(body)) + body

LOGIN, HEARTBEAT, MSG_SEND, MSG_DELIVER_ACK, LOGOUT = 0x0001, 0x0003, 0x0010, 0x0013, 0x0021

def login(seq, uid=b"alice", device=b"phone"):
    return frame(LOGIN, seq, field_bytes(1, uid) + field_bytes(3, device))

def send(seq, to=b"alice", client_id=1, payload=b"hello"):
    return frame(MSG_SEND, seq, field_bytes(1, to) + field_varint(2, client_id) + field_bytes(3, payload))

def ack(seq, *ids):
    return frame(MSG_DELIVER_ACK, seq, b"".join(field_varint(1, i) for i in ids))

def whole(stream):
    return b"\x00" + stream  # one chunk: everything

def chunks(stream, size):
    out = bytearray()
    for i in range(0, len(stream), size):
        part = stream[i:i + size]
        out += bytes([len(part)]) + part
    return bytes(out)

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "session")
seeds = {
    "login-heartbeat-logout": whole(login(1) + frame(HEARTBEAT, 2) + frame(LOGOUT, 3)),
    "send-to-self-and-ack": chunks(login(1) + send(2) + send(3, client_id=2) + ack(4, 1, 2) + send(5, client_id=1), 7),
    "send-then-logout": whole(login(1) + send(2) + send(3, client_id=2) + frame(LOGOUT, 4)),
    "split-header": chunks(login(1) + send(2, payload=b"x" * 300), 1),
    "before-login": whole(send(1) + ack(2, 1) + frame(HEARTBEAT, 3) + login(4)),
    "bad-magic": whole(frame(HEARTBEAT, 1, magic=0x4242)),
    "bad-version": whole(frame(HEARTBEAT, 1, version=2)),
    "flags-and-unknown": whole(login(1) + frame(HEARTBEAT, 2, flags=1) + frame(0x7777, 3) + frame(0x0012, 4)),
    "too-large": whole(struct.pack(">HBBHHII", 0x494D, 1, 0, MSG_SEND, 0, 9, 1 << 20)),
    "bad-bodies": whole(frame(LOGIN, 1, b"\xff\xff\xff") + login(2, uid=b"") + login(3) + frame(MSG_SEND, 4, b"\x0a\xff") + ack(5, 999)),
}
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
