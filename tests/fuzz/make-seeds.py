#!/usr/bin/env python3
# Writes the seed inputs of the fuzz targets frame-decoder, jwt-verifier,
# ban-list, settings and admin-api into corpus/TARGET/seed-* (the session
# target has make-session-seeds.py). Each target's .cpp says its input
# format. Inputs that once found a bug live beside them as
# corpus/TARGET/regression-* and are never rewritten here.
# Rerun after a format change: python3 tests/fuzz/make-seeds.py
import base64
import hashlib
import hmac
import json
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))


def write(target, seeds):
    folder = os.path.join(here, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for name, data in seeds.items():
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())


# frame-decoder: two bytes of maximum body size, then chunks (a length
# byte, then that many bytes; 0 = the rest).
def frame(cmd, seq, body=b"", flags=0, status=0, version=1, magic=0x494D):
    return struct.pack(">HBBHHII", magic, version, flags, cmd, status, seq, len(body)) + body

def decoder_input(stream, chunk=0, max_body=4096):
    out = bytearray(struct.pack(">H", max_body))
    if chunk == 0:
        return bytes(out + b"\x00" + stream)
    for i in range(0, len(stream), chunk):
        part = stream[i:i + chunk]
        out += bytes([len(part)]) + part
    return bytes(out)

login = frame(0x0001, 1, b"\x0a\x05alice\x1a\x05phone")
heartbeat = frame(0x0003, 2)
send = frame(0x0010, 3, b"\x0a\x03bob\x10\x01\x1a\x05hello")
write("frame-decoder", {
    "one-frame": decoder_input(heartbeat),
    "pipelined": decoder_input(login + heartbeat + send),
    "byte-by-byte": decoder_input(login + send, chunk=1),
    "split-across-frames": decoder_input(login + heartbeat + send, chunk=7),
    "partial-tail": decoder_input(login + send[:20], chunk=13),
    "bad-magic": decoder_input(heartbeat + frame(0x0003, 3, magic=0x4242)),
    "bad-version": decoder_input(frame(0x0003, 1, version=2)),
    "too-large": decoder_input(login + frame(0x0010, 2, b"x" * 64), max_body=32),
    "maximum-body": decoder_input(frame(0x0010, 1, b"y" * 32), chunk=5, max_body=32),
    "zero-maximum": decoder_input(heartbeat + heartbeat, max_body=0),
})


# jwt-verifier: a mode byte, then the token (mode bit 0 clear) or
# "HEADER\nPAYLOAD" to be signed (bit 0 set); bits 1-2: the verifier
# (bit 1: exp optional, bit 2: issuer imgate-fuzz and audience imgate,
# no leeway); bit 3: the RS256 verifier. Now is 1700000000.
SECRET = b"fuzz-secret-0123456789abcdef0123456789"
NOW = 1700000000

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")

def token(payload, header=None, secret=SECRET):
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing = b64(json.dumps(header).encode()) + b"." + b64(json.dumps(payload).encode())
    return signing + b"." + b64(hmac.new(secret, signing, hashlib.sha256).digest())

def signed(payload, mode=1, header='{"alg":"HS256","typ":"JWT"}'):
    return bytes([mode]) + header.encode() + b"\n" + json.dumps(payload).encode()

write("jwt-verifier", {
    "valid": b"\x00" + token({"sub": "alice", "exp": NOW + 600}),
    "expired": b"\x00" + token({"sub": "alice", "exp": NOW - 600}),
    "other-secret": b"\x00" + token({"sub": "alice", "exp": NOW + 600}, secret=b"another-secret-of-at-least-32-bytes!!"),
    "alg-none": b"\x00" + b64(b'{"alg":"none","typ":"JWT"}') + b"." + b64(b'{"sub":"alice"}') + b".",
    "not-a-jwt": b"\x00a.b.c",
    "empty": b"\x00",
    "signed-valid": signed({"sub": "alice", "exp": NOW + 60, "nbf": NOW - 60}),
    "signed-wrong-subject": signed({"sub": "mallory", "exp": NOW + 60}),
    "signed-no-exp": signed({"sub": "alice"}, mode=3),
    "signed-exp-text": signed({"sub": "alice", "exp": "soon"}),
    "signed-exp-huge": signed({"sub": "alice", "exp": 1e308}),
    "signed-sub-number": signed({"sub": 42, "exp": NOW + 60}),
    "signed-issuer-audience": signed({"sub": "alice", "exp": NOW + 60, "iss": "imgate-fuzz", "aud": ["x", "imgate"]}, mode=5),
    "signed-audience-text": signed({"sub": "alice", "exp": NOW + 60, "iss": "imgate-fuzz", "aud": "imgate"}, mode=5),
    "signed-audience-object": signed({"sub": "alice", "exp": NOW + 60, "iss": "imgate-fuzz", "aud": {"a": 1}}, mode=5),
    "signed-payload-not-json": b"\x01" + b'{"alg":"HS256","typ":"JWT"}\n{"sub": "alice", "exp": ',
    "signed-header-other-alg": signed({"sub": "alice", "exp": NOW + 60}, header='{"alg":"RS256","typ":"JWT"}'),
    "rs256-garbage": b"\x08" + token({"sub": "alice", "exp": NOW + 600}, header={"alg": "RS256", "typ": "JWT"}),
})


# ban-list: the file's text.
with open(os.path.join(root, "etc", "blacklist.txt"), "rb") as f:
    shipped = f.read()
write("ban-list", {
    "shipped": shipped,
    "entries": "ip 203.0.113.7\nip 198.51.100.0/24\nip 2001:db8::/32\nuid mallory\n# comment\n\nip 10.1.2.3/8 # host bits\n",
    "ipv6": "ip ::1\nip fe80::1%eth0\nip fe80::/10\nip ::ffff:198.51.100.0/120\nip ::/0\nip 2001:db8:ffff::/127\n",
    "bad-lines": "ip\nip 1.2.3.4 extra\nip 1.2.3.4/33\nip ::/129\nip 1.2.3.4/\nip 1.2.3.4/-1\nuid a b\nuid not!valid\nhost 1.2.3.4\nip 999.1.1.1\n",
    "crlf-and-tabs": "ip\t203.0.113.8\r\nuid\talice\r\n  uid bob  \n",
    "long-uid": "uid " + "a" * 64 + "\nuid " + "b" * 65 + "\n",
    "byte-order-mark": "\ufeffip 203.0.113.7\r\nuid mallory\r\n",
    "two-byte-order-marks": "\ufeff\ufeffip 203.0.113.7\nuid mallory\n",
    "whole-families": "ip 0.0.0.0/0\nip ::/0\nip ::ffff:0:0/96\nip 0.0.0.0/00\nip ::/1\n\ufeffuid bob\nip 1.2.3.4\u200b\n",
})


# settings: the properties file.
def read(name):
    with open(os.path.join(root, "etc", name), "rb") as f:
        return f.read()
write("settings", {
    "imgate": read("imgate.properties"),
    "dev": read("imgate.dev.properties"),
    "dev-plugins": read("imgate.dev-plugins.properties"),
    "bad-value": "server.port = 70000\nsession.heartbeatInterval = abc\n",
    "unknown-key": "server.prot = 7700\n",
    "plugin-not-loaded": "plugins.load = blacklist\nplugins.ratelimit.rate = 5\n",
    "continuation-and-escapes": "server.host = 127.0.\\\n  0.1\nlogging.loggers.root.level = \\u0069nformation\nstore.path = data/\\tdb\n! comment\n",
    "empty": "",
})


# admin-api: a mode byte, then text. 0: POST /v1/bans body; 1: DELETE
# /v1/bans query; 2: "UID\nBODY" of a kick; 3: "METHOD PATH\nBODY"; 4: an
# address.
write("admin-api", {
    "ban-uid": b"\x00" + b'{"uid": "mallory", "seconds": 3600}',
    "ban-block": b"\x00" + b'{"address": "10.0.0.0/8", "reason": "abuse"}',
    "ban-ipv6-timed": b"\x00" + b'{"address": "2001:db8::7", "seconds": 60}',
    "ban-both": b"\x00" + b'{"address": "203.0.113.7", "uid": "eve", "seconds": 0}',
    "ban-bad": b"\x00" + b'{"address": "10.0.0.1/8", "seconds": true, "extra": []}',
    "ban-not-object": b"\x00" + b'["uid", "mallory"]',
    "unban-address": b"\x01address=10.0.0.0/8",
    "unban-uid": b"\x01uid=mallory",
    "unban-both": b"\x01uid=mallory&address=::1",
    "kick": b"\x02alice\n" + b'{"message": "bye"}',
    "kick-bad-uid": b"\x02al ice\n",
    "metrics": b"\x03GET /metrics\n",
    "stats": b"\x03GET /v1/stats\n",
    "list-bans": b"\x03GET /v1/bans\n",
    "put-bans": b"\x03PUT /v1/bans\n{}",
    "readyz": b"\x03HEAD /readyz\n",
    "unknown": b"\x03GET /v2/x\n",
    "group-put": b"\x03PUT /v1/groups/team\n" + b'{"members": ["alice", "bob", "alice"]}',
    "group-members": b"\x03POST /v1/groups/team/members\n" + b'{"add": ["carol"], "remove": ["bob"]}',
    "group-get": b"\x03GET /v1/groups/team\n",
    "group-delete": b"\x03DELETE /v1/groups/team\n",
    "group-list": b"\x03GET /v1/groups\n",
    "group-bad-member": b"\x03PUT /v1/groups/g\n" + b'{"members": ["ok", 5, "no way"]}',
    "address-v4-block": b"\x0410.0.0.0/8",
    "address-v6": b"\x042001:0db8:0000::0001",
    "address-mapped": b"\x04::ffff:1.2.3.4",
    "address-host-bits": b"\x04192.168.1.1/24",
})
