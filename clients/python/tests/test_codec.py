"""Unit tests without a server: the frame codec, the outbox file, backoff
and client_msg_id generation."""
import asyncio
import os
import stat
import struct
import tempfile
import unittest

import imgate
from imgate.frame import Cmd, FrameDecoder, encode_frame, pb
from imgate.outbox import OutboxEntry, OutboxFile


class FrameTest(unittest.TestCase):
    def test_header_bytes(self):
        body = pb.MessageSend(to_uid="bob", client_msg_id=7, payload=b"hi")
        frame = encode_frame(Cmd.MSG_SEND, 0x01020304, body)
        data = body.SerializeToString()
        self.assertEqual(frame[:16], bytes([0x49, 0x4D, 1, 0, 0x00, 0x10, 0, 0, 1, 2, 3, 4]) + struct.pack(">I", len(data)))
        self.assertEqual(frame[16:], data)
        self.assertEqual(encode_frame(Cmd.HEARTBEAT, 5), bytes([0x49, 0x4D, 1, 0, 0, 3, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]))

    def test_decoder_reassembles_split_and_pipelined_frames(self):
        frames = [encode_frame(Cmd.MSG_DELIVER, 0, pb.MessageDeliver(msg_id=i, from_uid="a", payload=b"x" * i))
                  for i in range(1, 6)] + [encode_frame(Cmd.HEARTBEAT_RESP, 9)]
        stream = b"".join(frames)
        decoder = FrameDecoder()
        out = []
        for i in range(0, len(stream), 3):  # 3 bytes at a time
            out += decoder.feed(stream[i:i + 3])
        self.assertEqual([f.cmd for f in out], [Cmd.MSG_DELIVER] * 5 + [Cmd.HEARTBEAT_RESP])
        self.assertEqual([f.body.msg_id for f in out[:5]], [1, 2, 3, 4, 5])
        self.assertEqual(out[4].body.payload, b"xxxxx")
        self.assertIsNone(out[5].body)
        self.assertEqual(out[5].seq, 9)
        self.assertEqual(decoder.pending, 0)
        self.assertEqual(len(FrameDecoder().feed(stream)), 6)

    def test_decoder_refuses_a_body_above_the_limit_on_the_header(self):
        header = struct.pack(">HBBHHII", 0x494D, 1, 0, Cmd.MSG_DELIVER, 0, 0, 1024 * 1024 + 1)
        with self.assertRaises(imgate.FrameError) as cm:
            FrameDecoder().feed(header)  # no body byte needed to refuse it
        self.assertIn("above the limit", str(cm.exception))
        FrameDecoder(max_body_size=2 << 20).feed(header)  # a larger limit waits for the body

    def test_good_frames_before_a_bad_one_come_first(self):
        decoder = FrameDecoder()
        frames = decoder.feed(encode_frame(Cmd.HEARTBEAT_RESP, 1) + b"XX" + bytes(14))
        self.assertEqual([f.seq for f in frames], [1])
        with self.assertRaises(imgate.FrameError):
            decoder.check()
        with self.assertRaises(imgate.FrameError):
            decoder.feed(encode_frame(Cmd.HEARTBEAT_RESP, 2))  # the stream stays refused

    def test_decoder_refuses_bad_magic_version_flags_body(self):
        good = encode_frame(Cmd.HEARTBEAT_RESP, 1)
        for bad, what in [(b"XX" + good[2:], "magic"), (good[:2] + b"\x02" + good[3:], "version"),
                          (good[:3] + b"\x01" + good[4:], "flags"),
                          (encode_frame(Cmd.MSG_DELIVER, 0, b"\xff\xff\xff"), "parse")]:
            with self.assertRaises(imgate.FrameError, msg=what) as cm:
                FrameDecoder().feed(bad)
            self.assertEqual(cm.exception.status_name, "PROTOCOL")
            self.assertIn(what, str(cm.exception))

    def test_names(self):
        self.assertEqual(imgate.status_name(30), "SERVER_BUSY")
        self.assertEqual(imgate.status_name(77), "STATUS_77")
        self.assertEqual(imgate.kick_reason_name(1), "DUPLICATE_LOGIN")
        self.assertEqual(imgate.ImgateError(22).status_name, "NOT_MEMBER")
        kicked = imgate.KickedError(3, "bye")
        self.assertEqual((kicked.reason, kicked.reason_name, kicked.status_name), (3, "BANNED", "KICKED"))


class OutboxTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="imgate-outbox-")
        self.path = os.path.join(self.dir, "outbox")

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def test_keeps_unacknowledged_sends_in_order_and_the_floor(self):
        box = OutboxFile(self.path)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        for cid in (10, 11, 12, 13):
            box.add(OutboxEntry(cid, "bob", "", b"m%d\x00" % cid))
        box.remove(11)
        box.remove(99)  # unknown: nothing
        # No close(): as after a crash, only what add() fsynced counts.
        again = OutboxFile(self.path)
        self.assertEqual([e.client_msg_id for e in again.entries], [10, 12, 13])
        self.assertEqual(again.entries[0].payload, b"m10\x00")
        self.assertEqual(again.floor, 13)
        for e in again.entries:
            again.remove(e.client_msg_id)
        again.close()
        last = OutboxFile(self.path)
        self.assertEqual(last.entries, [])
        self.assertEqual(last.floor, 13)  # ids keep increasing after a restart
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        last.close()
        box.close()

    def test_torn_last_line_is_ignored(self):
        box = OutboxFile(self.path)
        box.add(OutboxEntry(5, "", "team", b"x"))
        box.close()
        with open(self.path, "a") as f:
            f.write('{"op": "send", "id": 6, "to": "b')
        again = OutboxFile(self.path)
        self.assertEqual([(e.client_msg_id, e.group) for e in again.entries], [(5, "team")])
        again.close()

    def test_client_restores_and_ids_stay_above_the_floor(self):
        box = OutboxFile(self.path)
        future_id = 2 ** 52  # an id above what the clock gives now
        box.add(OutboxEntry(future_id, "bob", "", b"queued"))
        box.close()

        async def run():
            client = imgate.Client("127.0.0.1", 1, "alice", outbox_path=self.path)
            client._restore_outbox()
            self.assertEqual(len(client.restored), 1)
            self.assertGreater(client.new_client_msg_id(), future_id)
            client._outbox.close()
        asyncio.run(run())


class ClientUnitTest(unittest.TestCase):
    def test_backoff_defaults_as_the_js_client(self):
        b = imgate.Backoff()
        for attempt, low, high in [(0, 0.25, 0.5), (1, 0.5, 1.0), (2, 1.0, 2.0), (10, 15.0, 30.0), (99, 15.0, 30.0)]:
            for _ in range(50):
                self.assertTrue(low <= b.delay(attempt) <= high, (attempt, b.delay(attempt)))

    def test_client_msg_ids_increase_below_2_53(self):
        client = imgate.Client("127.0.0.1", 1, "alice")
        ids = [client.new_client_msg_id() for _ in range(10000)]
        self.assertEqual(ids, sorted(set(ids)))
        self.assertLess(ids[-1], 2 ** 53)
        self.assertGreater(ids[0], 1_700_000_000_000 * 1024)

    def test_send_before_start_is_offline(self):
        async def run():
            client = imgate.Client("127.0.0.1", 1, "alice")
            with self.assertRaises(imgate.ImgateError) as cm:
                await client.send("bob", "x")
            self.assertEqual(cm.exception.status_name, "OFFLINE")
        asyncio.run(run())


class FakeServerTest(unittest.TestCase):
    """Against a fake server (asyncio.start_server on 127.0.0.1): what only a
    misbehaving server can make happen."""

    def test_body_above_the_limit_drops_the_connection_and_reconnects(self):
        async def run():
            logins = []
            ended = []

            async def handle(reader, writer):
                header = await reader.readexactly(16)
                _, _, _, cmd, _, seq, length = struct.unpack(">HBBHHII", header)
                login = pb.LoginRequest.FromString(await reader.readexactly(length))
                logins.append((cmd, login.uid, login.client_version))
                writer.write(encode_frame(Cmd.LOGIN_RESP, seq, pb.LoginResponse(heartbeat_interval_s=30, protocol="1.1")))
                # A MSG_DELIVER that announces 2 MiB: refused on its header.
                writer.write(struct.pack(">HBBHHII", 0x494D, 1, 0, Cmd.MSG_DELIVER, 0, 0, 2 << 20))
                try:
                    while await reader.read(65536):
                        pass
                except ConnectionError:
                    pass
                ended.append(True)
                writer.close()

            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            errors, states = [], []
            client = imgate.Client("127.0.0.1", port, "alice", backoff=imgate.Backoff(0.05, 2.0, 0.2),
                                   on_error=errors.append, on_state=lambda s, info: states.append((s, info)))
            try:
                await asyncio.wait_for(client.start(), 10)

                async def two_logins():
                    while len(logins) < 2 or not ended:
                        await asyncio.sleep(0.01)
                await asyncio.wait_for(two_logins(), 10)
            finally:
                await asyncio.wait_for(client.close(), 10)
                server.close()
                await server.wait_closed()
            self.assertEqual(logins[0], (Cmd.LOGIN, "alice", imgate.CLIENT_VERSION))
            self.assertIsInstance(errors[0], imgate.FrameError)
            self.assertIn("above the limit", str(errors[0]))
            reasons = [info["reason"] for s, info in states if s == "reconnecting"]
            self.assertTrue(reasons and reasons[0].startswith("protocol error"), reasons)
            self.assertEqual(client.closed_error.status_name, "CLOSED")
        asyncio.run(run())


class FakeWebSocketServerTest(unittest.TestCase):
    """The WebSocket transport (the websockets library) against a fake
    server (websockets.serve on 127.0.0.1): one frame per binary message both
    ways and in order, the subprotocol required, the limit on a message from
    the server, a text message refused."""

    async def serve(self, handler, subprotocols=("imgate.v1",)):
        import websockets
        return await websockets.serve(handler, "127.0.0.1", 0, subprotocols=list(subprotocols) or None,
                                      compression=None, ping_interval=None)

    @staticmethod
    async def login(ws, frames):
        message = await ws.recv()
        frame = FrameDecoder().feed(message)[0]
        frames.append(frame)
        await ws.send(encode_frame(Cmd.LOGIN_RESP, frame.seq, pb.LoginResponse(heartbeat_interval_s=30)))

    def test_frames_one_message_each_in_order(self):
        async def run():
            frames = []

            async def handler(ws, *_):
                await self.login(ws, frames)
                while len(frames) < 4:
                    message = await ws.recv()
                    decoded = FrameDecoder().feed(message)
                    self.assertEqual(len(decoded), 1)  # one frame, one whole message
                    frames.append(decoded[0])
                    await ws.send(encode_frame(Cmd.MSG_SEND_ACK, decoded[0].seq, pb.MessageSendAck(
                        client_msg_id=decoded[0].body.client_msg_id, msg_id=len(frames))))
                await ws.wait_closed()

            server = await self.serve(handler)
            port = server.sockets[0].getsockname()[1]
            client = imgate.Client("127.0.0.1", port, "alice", websocket_path="/imgate", reconnect=False)
            try:
                await asyncio.wait_for(client.start(), 10)
                sends = [client.send_nowait("bob", f"m{i}") for i in range(3)]
                acks = await asyncio.wait_for(asyncio.gather(*sends), 10)
            finally:
                await asyncio.wait_for(client.close(timeout=0.2), 10)  # the fake server ignores LOGOUT
                server.close()
                await server.wait_closed()
            self.assertEqual(frames[0].cmd, Cmd.LOGIN)
            self.assertEqual([f.body.payload for f in frames[1:]], [b"m0", b"m1", b"m2"])
            self.assertEqual([a.msg_id for a in acks], [2, 3, 4])
        asyncio.run(run())

    def test_subprotocol_required(self):
        async def run():
            server = await self.serve(lambda ws, *_: ws.wait_closed(), subprotocols=())
            port = server.sockets[0].getsockname()[1]
            client = imgate.Client("127.0.0.1", port, "alice", websocket_path="/imgate", reconnect=False)
            try:
                with self.assertRaises(imgate.ImgateError) as cm:
                    await asyncio.wait_for(client.start(), 10)
            finally:
                server.close()
                await server.wait_closed()
            self.assertEqual(cm.exception.status_name, "DISCONNECTED")
            self.assertIn("subprotocol None, expected imgate.v1", str(cm.exception))
        asyncio.run(run())

    def test_message_above_the_limit_and_text_drop_the_connection(self):
        async def run():
            frames = []

            async def handler(ws, *_):
                await self.login(ws, frames)
                if len(frames) == 1:  # 16 + 1000 is the limit of max_body_size=1000
                    await ws.send(encode_frame(Cmd.MSG_DELIVER, 0, b"x" * 1001))
                elif len(frames) == 2:
                    await ws.send("a text message")
                await ws.wait_closed()

            server = await self.serve(handler)
            port = server.sockets[0].getsockname()[1]
            states = []
            client = imgate.Client("127.0.0.1", port, "alice", websocket_path="/imgate", max_body_size=1000,
                                   backoff=imgate.Backoff(0.05, 2.0, 0.2),
                                   on_state=lambda s, info: states.append((s, info)))
            try:
                await asyncio.wait_for(client.start(), 10)

                async def three_logins():
                    while len(frames) < 3 or client.state != "online":
                        await asyncio.sleep(0.01)
                await asyncio.wait_for(three_logins(), 10)
            finally:
                await asyncio.wait_for(client.close(timeout=0.2), 10)  # the fake server ignores LOGOUT
                server.close()
                await server.wait_closed()
            reasons = [info["reason"] for s, info in states if s == "reconnecting"]
            self.assertEqual(len(reasons), 2, reasons)
            self.assertIn("1009", reasons[0])  # the library's "message too big"
            self.assertIn("text WebSocket message", reasons[1])
            self.assertEqual(client.closed_error.status_name, "CLOSED")
        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
