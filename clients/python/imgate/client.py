"""The asyncio imgate client (docs/clients-python.md).

One :class:`Client` is one uid's session that logs in, keeps itself alive
(heartbeats, reconnects with backoff) and comes back by itself until
:meth:`Client.close`. It behaves as the JavaScript client does
(docs/clients-js.md): the same backoff, the same refusals and KICKs that end
it, the same client_msg_id scheme, sends resent with the same client_msg_id
after a reconnect, deliveries deduplicated by msg_id and acknowledged only
once the application is done with them.
"""
from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import random
import ssl
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, List, Optional, Set, Union

from .errors import FrameError, ImgateError, KickedError
from .frame import (DEFAULT_MAX_BODY_SIZE, Cmd, FrameDecoder, Frame, KickReason, Status, cmd_name,
                    encode_frame, kick_reason_name, pb)
from .message import Backoff, HistoryPage, Kick, Message, SendAck, Session
from .outbox import OutboxEntry, OutboxFile
from . import websocket

__all__ = ["Client", "CLIENT_VERSION", "ACKED_MEMORY"]

CLIENT_VERSION = "imgate-python/0.1.0"
#: How many acknowledged msg_ids the client remembers to suppress repeats.
ACKED_MEMORY = 4096

_log = logging.getLogger("imgate")

# A LOGIN refused with one of these ends the client (as the JS client); the
# others (RATE_LIMITED, SERVER_BUSY, SHUTTING_DOWN, DEVICE_LIMIT, INTERNAL,
# ...) are retried with backoff. AUTH_FAILED is retried once at once with a
# refreshed token when a token_provider is given.
_PERMANENT_LOGIN_FAILURES = {Status.BAD_REQUEST, Status.UNSUPPORTED_VERSION, Status.AUTH_FAILED,
                             Status.BANNED, Status.ALREADY_LOGGED_IN}
_FINAL_KICKS = {KickReason.DUPLICATE_LOGIN, KickReason.BANNED}
_MAX_CLIENT_MSG_ID = 2 ** 64 - 1
_ACK_BATCH = 256
_END = object()

TokenProvider = Callable[[bool], Union[str, Awaitable[str]]]


class _Request:
    """A request that waits for its response: MSG_SEND or HISTORY."""
    __slots__ = ("cmd", "body", "resend", "future", "seq", "map", "client_msg_id", "key")

    def __init__(self, cmd: int, body: bytes, resend: bool, future: "asyncio.Future[Any]",
                 map_: Callable[[Any], Any], client_msg_id: int = 0) -> None:
        self.cmd = cmd
        self.body = body
        self.resend = resend
        self.future = future
        self.seq = 0  # 0: not sent on the current connection
        self.map = map_
        self.client_msg_id = client_msg_id
        self.key = 0  # its place in Client._pending


class _Connection:
    """One TCP or TLS connection: coalesces the frames written in one
    event-loop turn into one write. (:class:`imgate.websocket.WebSocketConnection`
    has the same interface for a WebSocket.)"""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_body_size: int) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder(max_body_size)
        self._out: List[bytes] = []
        self._flush_handle: Optional[asyncio.Handle] = None
        self.drop_reason: Optional[str] = None

    async def read(self) -> bytes:
        """The next bytes of the frame stream; b"" at the end of the connection."""
        return await self.reader.read(65536)

    def write(self, frame: bytes) -> None:
        if self.writer.is_closing():
            return
        self._out.append(frame)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        if self._out and not self.writer.is_closing():
            self.writer.write(b"".join(self._out))
        self._out.clear()

    def abort(self, reason: str) -> None:
        """Drops the connection at once (RST, no close handshake)."""
        if self.drop_reason is None:
            self.drop_reason = reason
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._out.clear()
        self.writer.transport.abort()


_AnyConnection = Union[_Connection, websocket.WebSocketConnection]


class Client:
    """An imgate session for one uid over TCP or TLS.

    Construct, then ``await client.start()`` (or ``login()``): it connects,
    logs in and returns the :class:`Session` at the first ``LOGIN_RESP`` OK;
    from then on the client keeps itself logged in -- a ``HEARTBEAT`` every
    ``heartbeat_interval_s`` of the LOGIN_RESP, a connection with two
    intervals plus 1 s without any frame from the server is dropped, every
    lost connection is made again after a backoff (:class:`Backoff`) -- until
    ``await client.close()``.

    The client ends by itself (state ``closed``; :meth:`wait_closed` returns
    the error, ``async for`` raises it, open sends raise it) after a ``KICK``
    ``DUPLICATE_LOGIN`` or ``BANNED`` (:class:`KickedError`), and after a
    LOGIN refused with ``AUTH_FAILED`` (twice in a row with a
    ``token_provider``: the first one asks it for a fresh token with
    ``refresh=True`` and logs in again at once), ``BANNED``, ``BAD_REQUEST``,
    ``ALREADY_LOGGED_IN`` or ``UNSUPPORTED_VERSION``. ``KICK`` ``ADMIN`` and
    ``SHUTDOWN`` and every other LOGIN refusal reconnect.

    Arguments:
        host, port: the server (its TCP port, or its TLS port with ``tls``).
        uid: the user id (``[A-Za-z0-9_.@-]{1,64}``).
        token: the LOGIN token (``""`` for an anonymous server).
        token_provider: instead of ``token``, a function ``(refresh: bool)``
            returning the token (or an awaitable of it); called before every
            LOGIN, with ``refresh=True`` after an ``AUTH_FAILED``.
        device, carbons: ``LoginRequest.device`` and ``.carbons`` (1.1).
        tls: ``None``/``False`` plain TCP; ``True`` TLS with the system's CAs
            (or ``ca_file``); an ``ssl.SSLContext`` of your own.
        ca_file: a PEM file of the CA(s) to trust for TLS (implies TLS).
        server_hostname: the name the certificate must carry (default ``host``).
        websocket_path: connect to imgated's WebSocket port instead (``port``
            is then ``websocket.port``; ``tls``/``ca_file`` for ``wss``), with
            this request path, e.g. ``"/imgate"``.
        reconnect: ``False``: never reconnect, a lost connection ends the client.
        backoff: the reconnect delays (:class:`Backoff`).
        login_timeout: seconds for connecting (TCP and TLS) plus the LOGIN_RESP;
            then the attempt counts as failed (15).
        max_body_size: frames from the server with a larger ``body_len`` drop
            the connection (a protocol error), without reading the body (1 MiB).
        outbox_path: a file keeping the sends not yet acknowledged, and the
            client_msg_id floor, across restarts of the application
            (:class:`imgate.outbox.OutboxFile`); they are sent again at the
            next start (see :attr:`restored`).
        client_version: ``LoginRequest.client_version``.
        on_state(state, info), on_login(session), on_kick(kick), on_error(exc):
            callbacks (plain functions, called on the event loop; what they
            raise is logged and ignored).
    """

    def __init__(self, host: str, port: int, uid: str, token: Optional[str] = None, *,
                 token_provider: Optional[TokenProvider] = None, device: str = "", carbons: bool = False,
                 tls: Union[None, bool, ssl.SSLContext] = None, ca_file: Optional[str] = None,
                 server_hostname: Optional[str] = None, websocket_path: Optional[str] = None,
                 reconnect: bool = True, backoff: Optional[Backoff] = None,
                 login_timeout: float = 15.0, max_body_size: int = DEFAULT_MAX_BODY_SIZE,
                 outbox_path: Optional[str] = None, client_version: str = CLIENT_VERSION,
                 on_state: Optional[Callable[[str, Dict[str, Any]], None]] = None,
                 on_login: Optional[Callable[[Session], None]] = None,
                 on_kick: Optional[Callable[[Kick], None]] = None,
                 on_error: Optional[Callable[[BaseException], None]] = None) -> None:
        if not uid:
            raise ValueError("uid is required")
        if token is not None and token_provider is not None:
            raise ValueError("give token or token_provider, not both")
        self.host = host
        self.port = port
        self.uid = uid
        self.device = device
        self.carbons = carbons
        self._token = token or ""
        self._token_provider = token_provider
        if ca_file is not None and not isinstance(tls, ssl.SSLContext):
            tls = ssl.create_default_context(cafile=ca_file)
        elif tls is True:
            tls = ssl.create_default_context()
        self._ssl: Optional[ssl.SSLContext] = tls or None
        self._server_hostname = server_hostname
        self.websocket_path = websocket_path
        self._reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.login_timeout = login_timeout
        self.max_body_size = max_body_size
        self.client_version = client_version
        self.on_state = on_state
        self.on_login = on_login
        self.on_kick = on_kick
        self.on_error = on_error

        self.state = "idle"
        self.session: Optional[Session] = None
        self.last_kick: Optional[Kick] = None
        self._conn: Optional[_AnyConnection] = None
        self._seq = 0
        self._last_client_msg_id = 0
        self._pending: Dict[int, _Request] = {}  # key -> request, in the order they were made
        self._next_key = 0
        self._by_seq: Dict[int, _Request] = {}
        self._acked: Set[int] = set()
        self._acked_order: Deque[int] = collections.deque()
        self._in_progress: Set[int] = set()
        self._ack_queue: List[int] = []
        self._ack_handle: Optional[asyncio.Handle] = None
        self._inbox: "asyncio.Queue[Any]" = asyncio.Queue()
        self._yielded: Optional[Message] = None
        self._run_task: Optional[asyncio.Task[None]] = None
        self._login_future: Optional[asyncio.Future[Session]] = None
        self._end_error: Optional[ImgateError] = None
        self._ended: Optional[asyncio.Event] = None
        self._closing = False
        self._last_received = 0.0
        self._outbox: Optional[OutboxFile] = None
        #: Futures of the sends restored from ``outbox_path`` (in their order):
        #: each resolves with its :class:`SendAck` once the server acknowledges it.
        self.restored: List["asyncio.Future[SendAck]"] = []
        self._outbox_path = outbox_path
        self._state_waiters: List[Any] = []

    # --- public API ---

    @property
    def online(self) -> bool:
        """Logged in on a live connection now."""
        return self.state == "online"

    @property
    def closed_error(self) -> Optional[ImgateError]:
        """Why the client ended (``CLOSED`` after :meth:`close`), or None."""
        return self._end_error

    async def start(self) -> Session:
        """Connects and logs in; returns the first successful :class:`Session`.

        Connection failures and passing refusals are retried with backoff
        (so this waits for a server that is down). Raises the
        :class:`ImgateError` that ends the client when that comes before the
        first success (e.g. ``AUTH_FAILED``), or ``CLOSED`` if :meth:`close`
        comes first. May be called again after the client closed.
        """
        if self.state not in ("idle", "closed"):
            raise RuntimeError(f"start: the client is already {self.state}")
        loop = asyncio.get_running_loop()
        self._end_error = None
        self._closing = False
        self._ended = asyncio.Event()
        self._inbox = asyncio.Queue()
        if self._outbox_path is not None and self._outbox is None:
            self._restore_outbox()
        self._login_future = loop.create_future()
        self._set_state("connecting", attempt=0)
        self._run_task = loop.create_task(self._run())
        return await asyncio.shield(self._login_future)

    login = start

    async def close(self, timeout: float = 2.0) -> None:
        """Logs out and ends the client for good (no reconnect).

        Online, it sends ``LOGOUT`` and waits (at most ``timeout`` seconds)
        for the server to answer the sends written before it and close the
        connection. Then every request still open raises ``CLOSED`` (sends
        kept in the ``outbox_path`` file stay there for the next start), and
        ``async for`` ends. Idempotent.
        """
        if self.state == "closed" or self._closing:
            if self._run_task is not None:
                await asyncio.gather(self._run_task, return_exceptions=True)
            return
        self._closing = True
        conn = self._conn
        if conn is not None and self.state == "online":
            self._flush_acks()
            conn.write(encode_frame(Cmd.LOGOUT, self._next_seq()))
            conn.flush()
            if self._run_task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(self._run_task), timeout)
                except asyncio.TimeoutError:
                    pass
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
            await asyncio.gather(self._run_task, return_exceptions=True)
        self._stop(ImgateError(None, "closed by the application", "CLOSED"))

    async def wait_closed(self) -> Optional[ImgateError]:
        """Waits until the client ends; returns why (``CLOSED`` after close())."""
        if self._ended is None:
            return self._end_error
        await self._ended.wait()
        return self._end_error

    async def wait_for_state(self, state: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Waits until the client is in ``state`` (at once if it is now), or
        until it next enters it after passing through others; returns that
        change's ``info`` (as ``on_state`` gets it). Raises
        asyncio.TimeoutError after ``timeout`` seconds."""
        if self.state == state:
            return {}
        future: asyncio.Future[Dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._state_waiters.append((state, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._state_waiters = [w for w in self._state_waiters if w[1] is not future]

    async def __aenter__(self) -> "Client":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def new_client_msg_id(self) -> int:
        """A new client_msg_id: Unix milliseconds x 1024 plus a random part
        below 512, and above every id this client used before (also those in
        the ``outbox_path`` file); below 2^53 until the year 2248."""
        candidate = int(time.time() * 1000) * 1024 + random.randrange(512)
        self._last_client_msg_id = max(candidate, self._last_client_msg_id + 1)
        return self._last_client_msg_id

    async def send(self, to_uid: str, payload: Union[str, bytes], client_msg_id: Optional[int] = None,
                   transient: bool = False) -> SendAck:
        """Sends a 1:1 message; returns its :class:`SendAck` at ``MSG_SEND_ACK`` OK.

        ``payload``: str (sent as UTF-8) or bytes. Raises :class:`ImgateError`
        with the server's status name for a refusal (``RECIPIENT_INVALID``,
        ``PAYLOAD_TOO_LARGE``, ``SERVER_BUSY``, ...: nothing was stored; the
        same call with the same ``client_msg_id`` retries it). A send made
        while offline waits for the login; one in flight when the connection
        drops is sent again after the reconnect with the same client_msg_id,
        in the original order. A ``transient`` send is never queued nor
        repeated: ``OFFLINE`` when not online, ``DISCONNECTED`` when the
        connection drops before its ack (whose msg_id is 0).
        """
        return await self.send_nowait(to_uid, payload, client_msg_id=client_msg_id, transient=transient)

    async def send_to_group(self, group_id: str, payload: Union[str, bytes], client_msg_id: Optional[int] = None,
                            transient: bool = False) -> SendAck:
        """Like :meth:`send`, to the members of a group (``NOT_MEMBER`` if not one of them)."""
        return await self.send_to_group_nowait(group_id, payload, client_msg_id=client_msg_id, transient=transient)

    def send_nowait(self, to_uid: str, payload: Union[str, bytes], *, client_msg_id: Optional[int] = None,
                    transient: bool = False) -> "asyncio.Future[SendAck]":
        """Queues a send and returns the future of its :class:`SendAck`,
        without waiting: for pipelining many sends (they go in call order).
        When it returns, the send is queued (and, with ``outbox_path``,
        fsynced to the outbox file). Raises ``OFFLINE``/``CLOSED`` at once
        when the client is not started or has ended."""
        return self._queue_send(to_uid, "", payload, client_msg_id, transient)

    def send_to_group_nowait(self, group_id: str, payload: Union[str, bytes], *,
                             client_msg_id: Optional[int] = None, transient: bool = False) -> "asyncio.Future[SendAck]":
        """Like :meth:`send_nowait`, to a group."""
        return self._queue_send("", group_id, payload, client_msg_id, transient)

    async def history(self, before_msg_id: int = 0, limit: int = 0, with_uid: str = "",
                      group_id: str = "") -> HistoryPage:
        """One HISTORY page, newest first: messages with ``msg_id <
        before_msg_id`` (0: from the newest), at most ``limit`` (0: the
        server's 50; at most 200), of the conversation with ``with_uid`` or of
        the group ``group_id`` (at most one of them). Waits for the login
        when offline; asked again after a reconnect."""
        self._check_usable()
        body = pb.HistoryRequest(before_msg_id=before_msg_id, limit=limit, with_uid=with_uid, group_id=group_id)

        def page(resp: Any) -> HistoryPage:
            return HistoryPage([Message(m, self.uid) for m in resp.messages], bool(resp.more))

        return await self._request(Cmd.HISTORY, body.SerializeToString(), True, page)

    def ack(self, message: Message) -> None:
        """Acknowledges a delivered message now (same as ``message.ack()``)."""
        message.ack()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        """The next delivered message, in delivery order.

        Asking for the next message acknowledges the previous one this
        iterator returned (unless it was already acknowledged or released):
        ``async for m in client: handle(m)`` acknowledges each message once
        ``handle`` returned and the loop comes round. Repeats of a message
        already returned (retransmissions, redeliveries after a reconnect or
        a server restart) are not returned again. Transient messages are
        returned and never acknowledged. Ends (StopAsyncIteration) after
        :meth:`close`; raises the error that ended the client otherwise, and
        ``OFFLINE`` before :meth:`start`.
        """
        if self.state == "idle":
            raise ImgateError(None, "not started (call start() first)", "OFFLINE")
        previous = self._yielded
        self._yielded = None
        if previous is not None and not previous._acked:
            self._ack(previous)
        item = await self._inbox.get()
        if item is _END:
            self._inbox.put_nowait(_END)
            error = self._end_error
            if error is None or error.status_name == "CLOSED":
                raise StopAsyncIteration
            raise error
        self._yielded = item
        return item

    async def serve(self, handler: Callable[[Message], Any]) -> None:
        """Calls ``handler(message)`` (a function or a coroutine function) for
        each delivered message; acknowledges it when the handler returned.
        A handler that raises leaves the message unacknowledged (``on_error``
        gets the exception): the server delivers it again after its
        ``delivery.retransmitTimeout``, and it is handed to the handler
        again. Returns when the client closes; raises the error that ended it."""
        async for message in self:
            try:
                result = handler(message)
                if inspect.isawaitable(result):
                    await result
            except Exception as e:  # the application's failure
                self._release(message)
                self._emit_error(e)
                continue
            message.ack()

    # --- the connection loop ---

    async def _run(self) -> None:
        attempt = 0
        refresh = False
        auth_failures = 0
        try:
            while not self._closing and self._end_error is None:
                conn: Optional[_AnyConnection] = None
                reason = ""
                try:
                    if attempt > 0 or refresh:
                        self._set_state("connecting", attempt=attempt)
                    conn, resp, rest = await asyncio.wait_for(self._connect_and_login(refresh),
                                                              self.login_timeout)
                    login_resp = resp.cmd == Cmd.LOGIN_RESP
                    if login_resp and resp.status == Status.OK:
                        attempt, refresh, auth_failures = 0, False, 0
                        reason = await self._online(conn, resp, rest)
                    elif login_resp and resp.status == Status.AUTH_FAILED and self._token_provider is not None \
                            and auth_failures == 0:
                        auth_failures += 1
                        refresh = True
                        conn.abort("AUTH_FAILED")
                        continue  # at once, with a fresh token
                    elif resp.cmd == Cmd.KICK:  # e.g. SHUTDOWN before the LOGIN_RESP
                        reason = f"KICK {kick_reason_name(resp.body.reason)} before LOGIN_RESP"
                    else:  # a LOGIN_RESP refusal, or an ERROR (SERVER_BUSY at connect)
                        error = ImgateError(resp.status, resp.body.message)
                        if login_resp and resp.status in _PERMANENT_LOGIN_FAILURES:
                            self._stop(error)
                            return
                        reason = f"LOGIN refused: {error}"
                except asyncio.TimeoutError:
                    reason = f"no LOGIN_RESP within {self.login_timeout:g} s"
                except FrameError as e:
                    self._emit_error(e)
                    reason = f"protocol error: {e.server_message}"
                except (OSError, EOFError, ssl.SSLError) as e:
                    reason = f"connection failed: {e!r}"
                except _TokenError as e:
                    self._emit_error(e.__cause__ or e)
                    reason = f"token_provider failed: {e.__cause__!r}"
                finally:
                    if conn is not None:
                        conn.abort(reason or "closed")
                    self._connection_lost(reason or "closed")
                if self._closing or self._end_error is not None:
                    return
                if not self._reconnect:
                    self._stop(ImgateError(None, reason, "DISCONNECTED"))
                    return
                delay = self.backoff.delay(attempt)
                attempt += 1
                self._set_state("reconnecting", reason=reason, delay=delay, attempt=attempt)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # a bug: end visibly rather than hang
            _log.exception("imgate client loop failed")
            self._stop(ImgateError(None, f"internal client error: {e!r}", "DISCONNECTED"))

    async def _connect_and_login(self, refresh: bool):
        token = self._token
        if self._token_provider is not None:
            try:
                result = self._token_provider(refresh)
                token = await result if inspect.isawaitable(result) else result
            except Exception as e:
                raise _TokenError() from e
        conn: _AnyConnection
        if self.websocket_path is not None:
            conn = await websocket.connect(self.host, self.port, self.websocket_path, self.max_body_size,
                                           self._ssl, self._server_hostname)
        else:
            kwargs: Dict[str, Any] = {"limit": 1 << 20}
            if self._ssl is not None:
                kwargs["ssl"] = self._ssl
                kwargs["server_hostname"] = self._server_hostname or self.host
            reader, writer = await asyncio.open_connection(self.host, self.port, **kwargs)
            conn = _Connection(reader, writer, self.max_body_size)
        self._conn = conn
        try:
            login = pb.LoginRequest(uid=self.uid, token=token or "", device=self.device,
                                    client_version=self.client_version, carbons=self.carbons)
            conn.write(encode_frame(Cmd.LOGIN, self._next_seq(), login))
            conn.flush()
            while True:
                data = await conn.read()
                if not data:
                    raise EOFError("the server closed the connection before LOGIN_RESP")
                frames = conn.decoder.feed(data)
                for i, frame in enumerate(frames):
                    if frame.cmd in (Cmd.LOGIN_RESP, Cmd.ERROR, Cmd.KICK):
                        return conn, frame, frames[i + 1:]
        except BaseException:
            conn.abort("login failed")
            raise

    async def _online(self, conn: _AnyConnection, resp: Frame, rest: List[Frame]) -> str:
        """Runs one logged-in connection; returns why it ended."""
        body = resp.body
        interval = int(body.heartbeat_interval_s) or 30
        self.session = Session(self.uid, self.device, body.session_id, int(body.server_time_ms), interval,
                               body.protocol or "1.0", body.message)
        loop = asyncio.get_running_loop()
        self._last_received = loop.time()
        self._set_state("online", session=self.session)
        if self._login_future is not None and not self._login_future.done():
            self._login_future.set_result(self.session)
        self._call(self.on_login, self.session)
        # What waited, and what was in flight on the last connection, in order.
        for request in list(self._pending.values()):
            if request.seq == 0:
                self._transmit(request)
        self._flush_acks()
        heartbeat = loop.create_task(self._heartbeat(conn, interval))
        try:
            for frame in rest:
                self._dispatch(frame)
            conn.decoder.check()
            while conn.drop_reason is None and self._end_error is None:
                data = await conn.read()
                if not data:
                    break
                self._last_received = loop.time()
                for frame in conn.decoder.feed(data):
                    self._dispatch(frame)
                    if self._end_error is not None:
                        break
                conn.decoder.check()
        finally:
            heartbeat.cancel()
        return conn.drop_reason or ("logged out" if self._closing else "connection closed by the server")

    async def _heartbeat(self, conn: _AnyConnection, interval: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            # Any frame is a sign of life; the server answers each HEARTBEAT
            # at once, so two intervals (plus 1 s) of silence is a dead link.
            silent = loop.time() - self._last_received
            if silent > 2 * interval + 1:
                conn.abort(f"no frame from the server for {silent:.1f} s")
                return
            conn.write(encode_frame(Cmd.HEARTBEAT, self._next_seq()))

    def _connection_lost(self, reason: str) -> None:
        self._conn = None
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._ack_handle = None
        self._by_seq.clear()
        for key, request in list(self._pending.items()):
            if request.seq != 0 and not request.resend:
                del self._pending[key]
                _fail(request.future, ImgateError(None, reason, "DISCONNECTED"))
            else:
                request.seq = 0

    # --- frames from the server ---

    def _dispatch(self, frame: Frame) -> None:
        cmd = frame.cmd
        if cmd == Cmd.MSG_DELIVER:
            self._on_deliver(frame.body)
        elif cmd in (Cmd.MSG_SEND_ACK, Cmd.HISTORY_RESP):
            self._on_response(frame)
        elif cmd == Cmd.HEARTBEAT_RESP:
            pass
        elif cmd == Cmd.KICK:
            self._on_kick(frame.body)
        elif cmd == Cmd.ERROR:
            error = ImgateError(frame.status, frame.body.message)
            request = self._by_seq.get(frame.seq) if frame.seq else None
            if request is None and frame.status == Status.FRAME_TOO_LARGE:
                # The server answers every request read before the one too
                # large, then this ERROR (seq 0), then closes: the offender is
                # the oldest request still open on this connection. Failing
                # it keeps it from being sent again after every reconnect.
                request = next((r for r in self._pending.values() if r.seq != 0), None)
            if request is not None:
                self._finish(request)
                _fail(request.future, error)
            self._emit_error(error)
        else:
            self._emit_error(FrameError(f"unexpected {cmd_name(cmd)} from the server"))

    def _on_response(self, frame: Frame) -> None:
        request = self._by_seq.get(frame.seq)
        expected = Cmd.MSG_SEND_ACK if request is not None and request.cmd == Cmd.MSG_SEND else Cmd.HISTORY_RESP
        if request is None or frame.cmd != expected:
            self._emit_error(FrameError(f"{cmd_name(frame.cmd)} with seq {frame.seq} answers no open request"))
            return
        self._finish(request)
        if frame.status == Status.OK:
            if not request.future.done():
                request.future.set_result(request.map(frame.body))
        else:
            message = getattr(frame.body, "message", "") if frame.body is not None else ""
            _fail(request.future, ImgateError(frame.status, message))

    def _finish(self, request: _Request) -> None:
        self._by_seq.pop(request.seq, None)
        self._pending.pop(request.key, None)
        if request.client_msg_id and self._outbox is not None:
            self._outbox.remove(request.client_msg_id)

    def _on_deliver(self, body: Any) -> None:
        message = Message(body, self.uid, self)
        if message.transient or message.msg_id == 0:
            self._inbox.put_nowait(message)
            return
        msg_id = message.msg_id
        if msg_id in self._acked:
            self._queue_ack(msg_id)  # a repeat of one the application has: acknowledge again
            return
        if msg_id in self._in_progress:
            return  # queued or with the application: acknowledged when it is done
        self._in_progress.add(msg_id)
        self._inbox.put_nowait(message)

    def _on_kick(self, body: Any) -> None:
        reason = int(body.reason)
        kick = Kick(reason, kick_reason_name(reason), body.message)
        self.last_kick = kick
        self._call(self.on_kick, kick)
        if reason in _FINAL_KICKS:
            self._stop(KickedError(reason, body.message))
        # Otherwise the server closes, and the close brings the reconnect.

    # --- acknowledgements ---

    def _ack(self, message: Message) -> None:
        message._acked = True
        msg_id = message.msg_id
        self._in_progress.discard(msg_id)
        if msg_id in self._acked:
            return
        self._acked.add(msg_id)
        self._acked_order.append(msg_id)
        if len(self._acked_order) > ACKED_MEMORY:
            self._acked.discard(self._acked_order.popleft())
        self._queue_ack(msg_id)

    def _release(self, message: Message) -> None:
        """Gives a message back unacknowledged: its next delivery is handed out again."""
        message._acked = True  # nothing more to do for this copy
        self._in_progress.discard(message.msg_id)

    def _queue_ack(self, msg_id: int) -> None:
        self._ack_queue.append(msg_id)
        if len(self._ack_queue) >= _ACK_BATCH:
            self._flush_acks()
        elif self._ack_handle is None and self._conn is not None:
            self._ack_handle = asyncio.get_running_loop().call_soon(self._flush_acks)

    def _flush_acks(self) -> None:
        self._ack_handle = None
        conn = self._conn
        if conn is None or self.state != "online" or not self._ack_queue:
            return  # kept for the next login
        ids, self._ack_queue = self._ack_queue, []
        # Ids delivered on an earlier connection are ignored by the server; it
        # delivers them again on this one, and they are acknowledged again.
        conn.write(encode_frame(Cmd.MSG_DELIVER_ACK, self._next_seq(), pb.MessageDeliverAck(msg_ids=ids)))

    # --- requests ---

    def _check_usable(self) -> None:
        if self._end_error is not None:
            raise self._end_error  # CLOSED, KICKED, AUTH_FAILED, ...: why the client ended
        if self._closing:
            raise ImgateError(None, "the client is closed", "CLOSED")
        if self.state == "idle":
            raise ImgateError(None, "not started (call start() first)", "OFFLINE")

    def _queue_send(self, to_uid: str, group_id: str, payload: Union[str, bytes], client_msg_id: Optional[int],
                    transient: bool) -> "asyncio.Future[SendAck]":
        self._check_usable()
        if transient and not self.online:
            raise ImgateError(None, "transient messages are not queued while offline", "OFFLINE")
        if isinstance(payload, str):
            data = payload.encode("utf-8")
        elif isinstance(payload, (bytes, bytearray, memoryview)):
            data = bytes(payload)
        else:
            raise TypeError("payload must be str or bytes")
        if client_msg_id is None:
            client_msg_id = self.new_client_msg_id()
        elif not 0 < client_msg_id <= _MAX_CLIENT_MSG_ID:
            raise ValueError("client_msg_id must be from 1 to 2^64-1")
        else:
            self._last_client_msg_id = max(self._last_client_msg_id, client_msg_id)
        body = pb.MessageSend(to_uid=to_uid, to_group=group_id, client_msg_id=client_msg_id, payload=data,
                              transient=transient).SerializeToString()
        if self._outbox is not None and not transient:
            self._outbox.add(OutboxEntry(client_msg_id, to_uid, group_id, data))
        return self._enqueue(Cmd.MSG_SEND, body, not transient, _ack_mapper(client_msg_id), client_msg_id)

    def _request(self, cmd: int, body: bytes, resend: bool, map_: Callable[[Any], Any]) -> "asyncio.Future[Any]":
        return self._enqueue(cmd, body, resend, map_, 0)

    def _enqueue(self, cmd: int, body: bytes, resend: bool, map_: Callable[[Any], Any],
                 client_msg_id: int) -> "asyncio.Future[Any]":
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        request = _Request(cmd, body, resend, future, map_, client_msg_id)
        request.key = self._next_key
        self._next_key += 1
        self._pending[request.key] = request
        if self.online:
            self._transmit(request)
        return future

    def _transmit(self, request: _Request) -> None:
        request.seq = self._next_seq()
        self._by_seq[request.seq] = request
        assert self._conn is not None
        self._conn.write(encode_frame(request.cmd, request.seq, request.body))

    def _restore_outbox(self) -> None:
        assert self._outbox_path is not None
        self._outbox = OutboxFile(self._outbox_path)
        self.restored = []
        self._last_client_msg_id = max(self._last_client_msg_id, self._outbox.floor)
        for entry in self._outbox.entries:
            body = pb.MessageSend(to_uid=entry.to, to_group=entry.group, client_msg_id=entry.client_msg_id,
                                  payload=entry.payload).SerializeToString()
            future = self._enqueue(Cmd.MSG_SEND, body, True, _ack_mapper(entry.client_msg_id), entry.client_msg_id)
            future.add_done_callback(_retrieve)
            self.restored.append(future)

    # --- helpers ---

    def _next_seq(self) -> int:
        self._seq = 1 if self._seq >= 0xFFFFFFFF else self._seq + 1
        return self._seq

    def _stop(self, error: ImgateError) -> None:
        if self._end_error is not None:
            return
        self._end_error = error
        conn = self._conn
        if conn is not None:
            conn.abort(str(error))
        self._by_seq.clear()
        requests = list(self._pending.values())
        self._pending.clear()
        for request in requests:
            _fail(request.future, error)
        self._ack_queue = []
        self._in_progress.clear()
        self._yielded = None
        while not self._inbox.empty():  # not acknowledged: the server keeps them
            self._inbox.get_nowait()
        self._inbox.put_nowait(_END)
        if self._outbox is not None:
            self._outbox.close()
            self._outbox = None
        if self._login_future is not None and not self._login_future.done():
            self._login_future.set_exception(error)
            self._login_future.add_done_callback(_retrieve)
        self._set_state("closed", reason=str(error), error=error)
        if self._ended is not None:
            self._ended.set()

    def _set_state(self, state: str, **info: Any) -> None:
        self.state = state
        for wanted, future in self._state_waiters:
            if wanted == state and not future.done():
                future.set_result(info)
        self._call(self.on_state, state, info)

    def _emit_error(self, error: BaseException) -> None:
        if self.on_error is None:
            _log.warning("imgate %s: %s", self.uid, error)
        self._call(self.on_error, error)

    def _call(self, fn: Optional[Callable[..., Any]], *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            _log.exception("imgate callback %r failed", fn)


class _TokenError(Exception):
    """The token_provider raised (the cause)."""


def _ack_mapper(client_msg_id: int) -> Callable[[Any], SendAck]:
    return lambda body: SendAck(client_msg_id, int(body.msg_id), int(body.timestamp_ms))


def _fail(future: "asyncio.Future[Any]", error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _retrieve(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()
