"""The Python client against a real imgated (tests/server_process.py):
every test starts its own server in a temp folder and kills it at the end.
Every wait is bounded (asyncio.wait_for)."""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import imgate
from server_process import PLUGIN_DIR, ServerProcess, free_port, make_test_certs

FAST = imgate.Backoff(initial_s=0.1, factor=2.0, max_s=1.0, jitter=0.5)
HERE = os.path.dirname(os.path.abspath(__file__))


class Recorder:
    """Callbacks that record states, kicks, logins and errors."""

    def __init__(self):
        self.states = []
        self.kicks = []
        self.logins = []
        self.errors = []

    def kwargs(self):
        return dict(on_state=lambda s, info: self.states.append((s, info)), on_kick=self.kicks.append,
                    on_login=self.logins.append, on_error=self.errors.append)


class ServerTest(unittest.IsolatedAsyncioTestCase):
    settings = {}

    def setUp(self):
        self.server = ServerProcess(dict(self.settings)).start()
        self.clients = []

    async def asyncTearDown(self):
        for c in self.clients:
            await asyncio.wait_for(c.close(timeout=0.5), 10)

    def tearDown(self):
        self.server.close()

    def client(self, uid, port=None, **kwargs):
        rec = Recorder()
        options = dict(backoff=FAST, login_timeout=3.0)
        options.update(rec.kwargs())
        options.update(kwargs)
        c = imgate.Client("127.0.0.1", port or self.server.port, uid, **options)
        c.rec = rec
        self.clients.append(c)
        return c

    async def next_message(self, client, timeout=10.0):
        return await asyncio.wait_for(client.__anext__(), timeout)


class ExchangeTest(ServerTest):
    settings = {"session.devicePolicy": "perDevice"}

    async def test_both_ways_history_and_transient(self):
        alice, bob = self.client("alice"), self.client("bob")
        session = await asyncio.wait_for(alice.start(), 10)
        self.assertEqual((session.uid, session.protocol), ("alice", "1.1"))
        await asyncio.wait_for(bob.start(), 10)

        ack = await asyncio.wait_for(alice.send("bob", "hello bob \u00e9"), 10)
        self.assertGreater(ack.msg_id, 0)
        m = await self.next_message(bob)
        self.assertEqual((m.msg_id, m.from_uid, m.to_uid, m.text, m.timestamp_ms, m.transient, m.carbon),
                         (ack.msg_id, "alice", "bob", "hello bob \u00e9", ack.timestamp_ms, False, False))

        ack2 = await asyncio.wait_for(bob.send("alice", b"\x00\x01 bytes", client_msg_id=12345), 10)
        self.assertEqual(ack2.client_msg_id, 12345)
        m2 = await self.next_message(alice)
        self.assertEqual((m2.msg_id, m2.from_uid, m2.payload), (ack2.msg_id, "bob", b"\x00\x01 bytes"))

        # A repeat of a client_msg_id: the original msg_id, no second delivery.
        again = await asyncio.wait_for(bob.send("alice", b"\x00\x01 bytes", client_msg_id=12345), 10)
        self.assertEqual(again.msg_id, ack2.msg_id)

        t = await asyncio.wait_for(alice.send("bob", "typing", transient=True), 10)
        self.assertEqual(t.msg_id, 0)
        mt = await self.next_message(bob)
        self.assertEqual((mt.msg_id, mt.transient, mt.text), (0, True, "typing"))
        after = await asyncio.wait_for(bob.send("alice", "after"), 10)
        self.assertEqual((await self.next_message(alice)).msg_id, after.msg_id)  # not the repeat

        page = await asyncio.wait_for(alice.history(with_uid="bob", limit=2), 10)
        self.assertEqual([x.msg_id for x in page.messages], [after.msg_id, ack2.msg_id])
        self.assertTrue(page.more)

        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(alice.send("not a uid!", "x"), 10)
        self.assertEqual(cm.exception.status_name, "RECIPIENT_INVALID")
        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(alice.send_to_group("nogroup", "x"), 10)
        self.assertEqual(cm.exception.status_name, "NOT_MEMBER")

    async def test_frame_too_large_fails_that_send_only(self):
        alice, bob = self.client("alice"), self.client("bob")
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        before = alice.send_nowait("bob", "before")
        too_big = alice.send_nowait("bob", b"x" * 70000)  # above protocol.maxBodySize (64 KiB)
        after = alice.send_nowait("bob", "after")  # not read by the server: sent again after the reconnect
        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(too_big, 10)
        self.assertEqual(cm.exception.status_name, "FRAME_TOO_LARGE")
        acks = [await asyncio.wait_for(f, 10) for f in (before, after)]
        got = [await self.next_message(bob) for _ in acks]
        self.assertEqual([(m.msg_id, m.text) for m in got], [(acks[0].msg_id, "before"), (acks[1].msg_id, "after")])
        self.assertEqual(len(alice.rec.logins), 2)

    async def test_carbons(self):
        phone = self.client("alice", device="phone", carbons=True)
        laptop = self.client("alice", device="laptop")
        bob = self.client("bob")
        for c in (phone, laptop, bob):
            await asyncio.wait_for(c.start(), 10)
        ack = await asyncio.wait_for(laptop.send("bob", "from the laptop"), 10)
        carbon = await self.next_message(phone)
        self.assertEqual((carbon.msg_id, carbon.from_uid, carbon.to_uid, carbon.carbon, carbon.text),
                         (ack.msg_id, "alice", "bob", True, "from the laptop"))
        self.assertEqual((await self.next_message(bob)).carbon, False)

    async def test_ack_only_when_the_next_is_asked_for(self):
        alice, bob = self.client("alice"), self.client("bob", device="one")
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        first = await asyncio.wait_for(alice.send("bob", "first"), 10)
        m = await self.next_message(bob)
        self.assertEqual(m.msg_id, first.msg_id)
        # Not acknowledged (the loop never asked for the next): a new bob gets it again.
        await asyncio.wait_for(bob.close(), 10)
        bob2 = self.client("bob", device="one")
        await asyncio.wait_for(bob2.start(), 10)
        again = await self.next_message(bob2)
        self.assertEqual(again.msg_id, first.msg_id)
        again.ack()
        self.assertTrue(again.acked)
        await asyncio.sleep(0)  # the batched MSG_DELIVER_ACK goes at the end of this turn
        await asyncio.wait_for(bob2.close(), 10)
        marker = await asyncio.wait_for(alice.send("bob", "marker"), 10)
        bob3 = self.client("bob", device="one")
        await asyncio.wait_for(bob3.start(), 10)
        self.assertEqual((await self.next_message(bob3)).msg_id, marker.msg_id)


class ServeTest(ServerTest):
    settings = {"delivery.retransmitTimeout": "1"}

    async def test_handler_that_raises_gets_the_message_again(self):
        alice, bob = self.client("alice"), self.client("bob")
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        calls = []
        done = asyncio.Event()

        async def handler(message):
            calls.append(message.msg_id)
            if len(calls) == 1:
                raise RuntimeError("not now")
            done.set()

        serving = asyncio.ensure_future(bob.serve(handler))
        ack = await asyncio.wait_for(alice.send("bob", "twice"), 10)
        await asyncio.wait_for(done.wait(), 15)  # the server's retransmission, after 1 s
        self.assertEqual(calls, [ack.msg_id, ack.msg_id])
        self.assertEqual([type(e) for e in bob.rec.errors], [RuntimeError])
        await bob.close()
        await asyncio.wait_for(serving, 10)  # returns at close()


class RestartTest(ServerTest):
    async def test_1000_sends_across_a_server_kill(self):
        alice, bob = self.client("alice"), self.client("bob")
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        n = 1000
        transmitted = []  # the client_msg_id of every MSG_SEND alice writes
        write = alice._transmit
        alice._transmit = lambda request: (transmitted.append(request.client_msg_id), write(request))
        received = []
        acks = []
        killed = asyncio.Event()

        async def receive():
            async for m in bob:
                received.append(m)
                if m.text == "end":
                    return

        async def send():
            futures = []
            for i in range(n):
                futures.append(alice.send_nowait("bob", f"m{i}"))
                if i == 300:
                    # Killed with sends in flight (at least m300: not even
                    # written yet), sends going on while it is down.
                    killed.set()
                    self.server.kill()
                    self.assertFalse(futures[-1].done())
                    loop.call_later(0.3, lambda: restarted.append(asyncio.ensure_future(
                        asyncio.to_thread(self.server.start))))  # same port, same store file
                if len(futures) - len(acks) >= 50:  # a window of sends in flight
                    acks.append(await futures[len(acks)])
            for f in futures[len(acks):]:
                acks.append(await f)
            await alice.send("bob", "end")

        loop = asyncio.get_running_loop()
        restarted = []
        receiver = asyncio.ensure_future(receive())
        await asyncio.wait_for(send(), 60)
        await restarted[0]
        await asyncio.wait_for(receiver, 60)
        self.assertTrue(killed.is_set())
        self.assertTrue(any(s == "reconnecting" for s, _ in alice.rec.states), "alice saw the server go")
        self.assertTrue(any(s == "reconnecting" for s, _ in bob.rec.states), "bob saw the server go")
        self.assertEqual(len(acks), n)
        # Sends in flight at the kill went again, with their client_msg_ids.
        self.assertGreater(len(transmitted), len(set(transmitted)))
        self.assertEqual(set(transmitted), {a.client_msg_id for a in acks} | {transmitted[-1]})
        texts = [m.text for m in received[:-1]]
        self.assertEqual(texts, [f"m{i}" for i in range(n)])  # each once, in order
        ids = [m.msg_id for m in received[:-1]]
        self.assertEqual(ids, [a.msg_id for a in acks])
        self.assertEqual(ids, sorted(set(ids)))


class DeadServerTest(ServerTest):
    settings = {"session.heartbeatInterval": "1"}

    async def test_stopped_server_detected_by_heartbeat_then_recovers(self):
        alice, bob = self.client("alice"), self.client("bob")
        session = await asyncio.wait_for(alice.start(), 10)
        self.assertEqual(session.heartbeat_interval_s, 1)
        await asyncio.wait_for(bob.start(), 10)
        self.server.signal(signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            info = await alice.wait_for_state("reconnecting", 10)
            detected = time.monotonic() - stopped
            self.assertIn("no frame from the server", info["reason"])
            self.assertGreaterEqual(detected, 1.5)  # after 2 intervals + 1 s of silence, not at once
            # Sent while the server sleeps: waits, then goes after the reconnect.
            pending = alice.send_nowait("bob", "while stopped")
        finally:
            self.server.signal(signal.SIGCONT)
        ack = await asyncio.wait_for(pending, 30)
        m = await self.next_message(bob, 30)
        self.assertEqual((m.msg_id, m.text), (ack.msg_id, "while stopped"))
        self.assertEqual(alice.state, "online")
        self.assertGreaterEqual(len(alice.rec.logins), 2)


class KickTest(ServerTest):
    async def test_duplicate_login_ends_the_first_client(self):
        first = self.client("alice")
        await asyncio.wait_for(first.start(), 10)
        second = self.client("alice")
        await asyncio.wait_for(second.start(), 10)
        error = await asyncio.wait_for(first.wait_closed(), 10)
        self.assertIsInstance(error, imgate.KickedError)
        self.assertEqual((error.reason, error.reason_name), (imgate.KickReason.DUPLICATE_LOGIN, "DUPLICATE_LOGIN"))
        self.assertEqual([k.reason for k in first.rec.kicks], [1])
        with self.assertRaises(imgate.KickedError):
            await self.next_message(first)
        with self.assertRaises(imgate.ImgateError) as cm:
            await first.send("bob", "x")
        self.assertEqual(cm.exception.status_name, "KICKED")
        # A few seconds: the first does not come back (it would kick the second).
        connects = sum(1 for s, _ in first.rec.states if s == "connecting")
        await asyncio.sleep(3)
        self.assertEqual(first.state, "closed")
        self.assertEqual(sum(1 for s, _ in first.rec.states if s == "connecting"), connects)
        self.assertEqual(second.state, "online")
        self.assertEqual(second.rec.kicks, [])
        self.assertEqual(len(second.rec.logins), 1)


SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(uid: str, secret: str = SECRET, ttl: int = 600) -> str:
    now = int(time.time())
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": uid, "iat": now, "exp": now + ttl}).encode())
    sig = hmac.new(secret.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
    return f"{head}.{claims}.{b64url(sig)}"


class AuthJwtTest(ServerTest):
    def setUp(self):
        self.secret_dir = tempfile.mkdtemp(prefix="imgate-jwt-")
        secret_file = os.path.join(self.secret_dir, "jwt.secret")
        with open(secret_file, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(secret_file, 0o600)
        plugin = os.path.join(PLUGIN_DIR, "auth-jwt.so")
        self.assertTrue(os.path.exists(plugin), f"{plugin} is not built")
        self.settings = {"auth.allowAnonymous": "false", "plugins.dir": PLUGIN_DIR, "plugins.load": "auth-jwt",
                         "plugins.auth-jwt.secretFile": secret_file}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        for name in os.listdir(self.secret_dir):
            os.unlink(os.path.join(self.secret_dir, name))
        os.rmdir(self.secret_dir)

    async def test_refreshed_token_after_auth_failed(self):
        calls = []

        async def provider(refresh):
            calls.append(refresh)
            return jwt_hs256("alice") if refresh else jwt_hs256("alice", secret="x" * 43)

        alice = self.client("alice", token_provider=provider)
        session = await asyncio.wait_for(alice.start(), 10)
        self.assertEqual(session.uid, "alice")
        self.assertEqual(calls, [False, True])
        bob = self.client("bob", token_provider=lambda refresh: jwt_hs256("bob"))
        await asyncio.wait_for(bob.start(), 10)
        ack = await asyncio.wait_for(alice.send("bob", "signed"), 10)
        self.assertEqual((await self.next_message(bob)).msg_id, ack.msg_id)

    async def test_second_auth_failed_in_a_row_ends_the_client(self):
        calls = []

        def provider(refresh):
            calls.append(refresh)
            return "not-a-jwt"

        mallory = self.client("mallory", token_provider=provider)
        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(mallory.start(), 10)
        self.assertEqual(cm.exception.status_name, "AUTH_FAILED")
        self.assertIn("malformed token", cm.exception.server_message)
        self.assertEqual(calls, [False, True])
        self.assertEqual(mallory.state, "closed")

    async def test_plain_token_auth_failed_ends_at_once(self):
        eve = self.client("eve", token=jwt_hs256("alice"))  # another uid's token
        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(eve.start(), 10)
        self.assertEqual(cm.exception.status, imgate.Status.AUTH_FAILED)
        self.assertEqual(sum(1 for s, _ in eve.rec.states if s == "connecting"), 1)


class TlsTest(ServerTest):
    def setUp(self):
        self.certs = make_test_certs(tempfile.mkdtemp(prefix="imgate-certs-"))
        self.settings = {"tls.port": str(free_port()),
                         "tls.certificateFile": os.path.join(self.certs, "server.pem"),
                         "tls.privateKeyFile": os.path.join(self.certs, "server.key"),
                         "websocket.port": str(free_port()), "websocket.tls": "true"}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        subprocess.run(["rm", "-rf", self.certs], check=False)

    async def test_tls_with_a_test_ca(self):
        self.assertGreater(self.server.tls_port, 0)
        alice = self.client("alice", port=self.server.tls_port, ca_file=os.path.join(self.certs, "ca.pem"))
        bob = self.client("bob")  # plain TCP: sessions of both transports talk
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        ack = await asyncio.wait_for(alice.send("bob", "over tls"), 10)
        self.assertEqual((await self.next_message(bob)).msg_id, ack.msg_id)
        back = await asyncio.wait_for(bob.send("alice", "back"), 10)
        self.assertEqual((await self.next_message(alice)).msg_id, back.msg_id)

    async def test_wss_with_a_test_ca(self):
        alice = self.client("alice", port=self.server.websocket_port, websocket_path="/imgate",
                            ca_file=os.path.join(self.certs, "ca.pem"))
        bob = self.client("bob")
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        ack = await asyncio.wait_for(alice.send("bob", "over wss"), 10)
        self.assertEqual((await self.next_message(bob)).msg_id, ack.msg_id)

    async def test_unknown_ca_is_refused(self):
        mallory = self.client("mallory", port=self.server.tls_port, tls=True, reconnect=False)
        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(mallory.start(), 10)
        self.assertEqual(cm.exception.status_name, "DISCONNECTED")
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))


class WebSocketTest(ServerTest):
    def setUp(self):
        self.settings = {"websocket.port": str(free_port())}
        super().setUp()

    async def test_websocket_both_ways(self):
        self.assertGreater(self.server.websocket_port, 0)
        alice = self.client("alice", port=self.server.websocket_port, websocket_path="/imgate")
        bob = self.client("bob")
        await asyncio.wait_for(alice.start(), 10)
        await asyncio.wait_for(bob.start(), 10)
        big = bytes(range(256)) * 117  # 29,952 bytes: a 16-bit WebSocket length
        ack = await asyncio.wait_for(alice.send("bob", big), 10)
        m = await self.next_message(bob)
        self.assertEqual((m.msg_id, m.payload), (ack.msg_id, big))
        back = await asyncio.wait_for(bob.send("alice", "back"), 10)
        m2 = await self.next_message(alice)
        self.assertEqual((m2.msg_id, m2.text), (back.msg_id, "back"))
        page = await asyncio.wait_for(alice.history(with_uid="bob"), 10)
        self.assertEqual([x.msg_id for x in page.messages], [back.msg_id, ack.msg_id])

    async def test_wrong_path_is_refused(self):
        mallory = self.client("mallory", port=self.server.websocket_port, websocket_path="/nope", reconnect=False)
        with self.assertRaises(imgate.ImgateError) as cm:
            await asyncio.wait_for(mallory.start(), 10)
        self.assertIn("WebSocket upgrade failed: server rejected WebSocket connection: HTTP 404", str(cm.exception))


class OutboxTest(ServerTest):
    async def test_unacknowledged_sends_survive_the_application(self):
        outbox_dir = tempfile.mkdtemp(prefix="imgate-outbox-")
        path = os.path.join(outbox_dir, "alice.outbox")
        try:
            bob = self.client("bob")
            await asyncio.wait_for(bob.start(), 10)
            first = self.client("alice", outbox_path=path)
            await asyncio.wait_for(first.start(), 10)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            self.server.signal(signal.SIGSTOP)
            try:
                futures = [first.send_nowait("bob", f"kept {i}") for i in range(3)]
                await asyncio.wait_for(first.close(timeout=0.3), 10)  # the app stops without acks
            finally:
                self.server.signal(signal.SIGCONT)
            for f in futures:
                with self.assertRaises(imgate.ImgateError):
                    f.result()
            second = self.client("alice", outbox_path=path)
            self.assertEqual(second.restored, [])  # restored at start()
            await asyncio.wait_for(second.start(), 10)
            self.assertEqual(len(second.restored), 3)
            acks = [await asyncio.wait_for(f, 10) for f in second.restored]
            marker = await asyncio.wait_for(second.send("bob", "marker"), 10)
            got = []
            while True:
                m = await self.next_message(bob)
                got.append((m.msg_id, m.text))
                if m.text == "marker":
                    break
            self.assertEqual(got, [(a.msg_id, f"kept {i}") for i, a in enumerate(acks)] + [(marker.msg_id, "marker")])
            await second.close()
            with open(path) as f:
                lines = [json.loads(x) for x in f if x.strip()]
            sends = {x["id"] for x in lines if x["op"] == "send"} - {x["id"] for x in lines if x["op"] == "done"}
            self.assertEqual(sends, set())  # nothing left to resend
        finally:
            subprocess.run(["rm", "-rf", outbox_dir], check=False)


class EchoBotTest(ServerTest):
    async def test_echo_bot_example(self):
        env = dict(os.environ)
        bot = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "examples", "echo_bot.py"),
                                "--port", str(self.server.port), "--uid", "echo"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            alice = self.client("alice")
            await asyncio.wait_for(alice.start(), 10)
            sent = [await asyncio.wait_for(alice.send("echo", f"ping {i}"), 10) for i in range(3)]
            answers = [await self.next_message(alice, 20) for _ in sent]
            self.assertEqual([(m.from_uid, m.text) for m in answers], [("echo", f"ping {i}") for i in range(3)])
            bot.send_signal(signal.SIGTERM)
            out = bot.communicate(timeout=10)[0].decode()
            self.assertEqual(bot.returncode, 0, out)
            self.assertIn("echo: logged in", out)
            self.assertEqual(out.count("echoed"), 3)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait(10)


if __name__ == "__main__":
    unittest.main()
