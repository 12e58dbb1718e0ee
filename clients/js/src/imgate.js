// imgate.js: the imgate client for browsers and Node, over WebSocket.
//
// One ES module, no dependency but the two generated beside it at build time
// (clients/js/tools/build.js): imgate_pb.js, the body messages generated from
// proto/imgate/v1/imgate.proto, and protobuf.js, protobufjs's runtime.
// Protocol: docs/protocol.md (v1 and 1.1); API: docs/clients-js.md.
//
// Every WebSocket message carries exactly one imgate frame: a 16-byte header
// (big-endian magic "IM", version 1, flags 0, cmd, status, seq, body_len)
// and a protobuf body.
import pb from './imgate_pb.js';

const v1 = pb.imgate.v1;

/** The generated body message classes (LoginRequest, MessageSend, ...). */
export const messages = v1;

export const MAGIC = 0x494d;
export const VERSION = 1;
export const HEADER_SIZE = 16;
/** The WebSocket subprotocol the server requires. */
export const SUBPROTOCOL = 'imgate.v1';
export const CLIENT_VERSION = 'imgate-js/0.1.0';

export const Cmd = Object.freeze({
	LOGIN: 0x0001,
	LOGIN_RESP: 0x0002,
	HEARTBEAT: 0x0003,
	HEARTBEAT_RESP: 0x0004,
	MSG_SEND: 0x0010,
	MSG_SEND_ACK: 0x0011,
	MSG_DELIVER: 0x0012,
	MSG_DELIVER_ACK: 0x0013,
	KICK: 0x0020,
	LOGOUT: 0x0021,
	HISTORY: 0x0030,
	HISTORY_RESP: 0x0031,
	ERROR: 0x00ff,
});

export const Status = Object.freeze({
	OK: 0,
	BAD_REQUEST: 1,
	UNSUPPORTED_VERSION: 2,
	UNKNOWN_COMMAND: 3,
	FRAME_TOO_LARGE: 4,
	AUTH_FAILED: 10,
	NOT_LOGGED_IN: 11,
	ALREADY_LOGGED_IN: 12,
	BANNED: 13,
	RATE_LIMITED: 14,
	DEVICE_LIMIT: 15,
	RECIPIENT_INVALID: 20,
	PAYLOAD_TOO_LARGE: 21,
	NOT_MEMBER: 22,
	SERVER_BUSY: 30,
	SHUTTING_DOWN: 31,
	INTERNAL: 50,
});

export const KickReason = Object.freeze({
	DUPLICATE_LOGIN: 1,
	ADMIN: 2,
	BANNED: 3,
	SHUTDOWN: 4,
});

function nameOf(table, code, prefix) {
	for (const [name, value] of Object.entries(table)) {
		if (value === code) return name;
	}
	return `${prefix}_${code}`;
}

/** 'SERVER_BUSY' for 30; 'STATUS_77' for a code this client does not know. */
export function statusName(code) {
	return nameOf(Status, code, 'STATUS');
}

/** 'MSG_SEND' for 0x10; 'CMD_119' for a code this client does not know. */
export function cmdName(code) {
	return nameOf(Cmd, code, 'CMD');
}

export function kickReasonName(code) {
	return nameOf(KickReason, code, 'REASON');
}

/**
 * A refusal: a non-OK status from the server (status is its number), or a
 * failure on this side (status null; statusName one of DISCONNECTED, OFFLINE,
 * CLOSED, KICKED, PROTOCOL).
 */
export class ImgateError extends Error {
	constructor(status, message, statusNameOverride) {
		const name = statusNameOverride || statusName(status);
		super(message ? `${name}: ${message}` : name);
		this.name = 'ImgateError';
		this.status = typeof status === 'number' ? status : null;
		this.statusName = name;
		this.serverMessage = message || '';
	}
}

/** A WebSocket message that is not exactly one well-formed frame. */
export class FrameError extends Error {
	constructor(message) {
		super(message);
		this.name = 'FrameError';
	}
}

// The body message of each command (null: the body is empty).
const BODY = new Map([
	[Cmd.LOGIN, v1.LoginRequest],
	[Cmd.LOGIN_RESP, v1.LoginResponse],
	[Cmd.HEARTBEAT, null],
	[Cmd.HEARTBEAT_RESP, null],
	[Cmd.MSG_SEND, v1.MessageSend],
	[Cmd.MSG_SEND_ACK, v1.MessageSendAck],
	[Cmd.MSG_DELIVER, v1.MessageDeliver],
	[Cmd.MSG_DELIVER_ACK, v1.MessageDeliverAck],
	[Cmd.KICK, v1.Kick],
	[Cmd.LOGOUT, null],
	[Cmd.HISTORY, v1.HistoryRequest],
	[Cmd.HISTORY_RESP, v1.HistoryResponse],
	[Cmd.ERROR, v1.Error],
]);

// The response command of each request.
const RESPONSE = new Map([
	[Cmd.LOGIN, Cmd.LOGIN_RESP],
	[Cmd.HEARTBEAT, Cmd.HEARTBEAT_RESP],
	[Cmd.MSG_SEND, Cmd.MSG_SEND_ACK],
	[Cmd.HISTORY, Cmd.HISTORY_RESP],
]);

function checkUint(value, bits, what) {
	if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
		throw new RangeError(`${what} must be an integer from 0 to 2^${bits}-1, got ${value}`);
	}
}

/**
 * One frame as bytes: header and body. body is a Uint8Array (sent as it is),
 * a plain object (encoded with the command's message class) or absent.
 */
export function encodeFrame({ cmd, seq = 0, status = 0, body = null, flags = 0 }) {
	checkUint(cmd, 16, 'cmd');
	checkUint(status, 16, 'status');
	checkUint(seq, 32, 'seq');
	checkUint(flags, 8, 'flags');
	let bytes;
	if (body instanceof Uint8Array) {
		bytes = body;
	} else if (body == null) {
		bytes = new Uint8Array(0);
	} else {
		const type = BODY.get(cmd);
		if (!type) throw new TypeError(`${cmdName(cmd)} has no body message`);
		bytes = type.encode(body).finish();
	}
	const frame = new Uint8Array(HEADER_SIZE + bytes.length);
	const view = new DataView(frame.buffer);
	view.setUint16(0, MAGIC);
	view.setUint8(2, VERSION);
	view.setUint8(3, flags);
	view.setUint16(4, cmd);
	view.setUint16(6, status);
	view.setUint32(8, seq);
	view.setUint32(12, bytes.length);
	frame.set(bytes, HEADER_SIZE);
	return frame;
}

function asBytes(data) {
	if (data instanceof Uint8Array) return data;
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
	throw new FrameError(`expected binary data, got ${typeof data}`);
}

/**
 * Parses one WebSocket message that must hold exactly one frame. Returns
 * { cmd, status, seq, flags, bodyBytes, body }: body is the decoded message
 * of a known command (an instance of its class, whose unset fields read as
 * their defaults), null for an empty-body command or an unknown command.
 * Throws FrameError for a short message, bad magic, another version, flags
 * set, a length that does not match, or a body that does not parse.
 */
export function decodeFrame(data) {
	const bytes = asBytes(data);
	if (bytes.length < HEADER_SIZE) {
		throw new FrameError(`frame of ${bytes.length} bytes is shorter than the ${HEADER_SIZE}-byte header`);
	}
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const magic = view.getUint16(0);
	if (magic !== MAGIC) throw new FrameError(`bad magic 0x${magic.toString(16).padStart(4, '0')} (expected 0x494d)`);
	const version = view.getUint8(2);
	if (version !== VERSION) throw new FrameError(`unsupported version ${version} (expected ${VERSION})`);
	const flags = view.getUint8(3);
	if (flags !== 0) throw new FrameError(`flags 0x${flags.toString(16)} set (expected 0)`);
	const cmd = view.getUint16(4);
	const status = view.getUint16(6);
	const seq = view.getUint32(8);
	const length = view.getUint32(12);
	if (length !== bytes.length - HEADER_SIZE) {
		throw new FrameError(`body_len ${length} does not match the ${bytes.length - HEADER_SIZE} body bytes of the message`);
	}
	const bodyBytes = bytes.subarray(HEADER_SIZE);
	const type = BODY.get(cmd);
	let body = null;
	if (type) {
		try {
			body = type.decode(bodyBytes);
		} catch (e) {
			throw new FrameError(`${cmdName(cmd)} body does not parse: ${e.message}`);
		}
	}
	return { cmd, status, seq, flags, bodyBytes, body };
}

/** A 64-bit field as a Number (the server keeps ids below 2^53). */
export function toNumber(value) {
	if (typeof value === 'number') return value;
	if (typeof value === 'bigint') return Number(value);
	if (value && typeof value.low === 'number') return (value.high >>> 0) * 4294967296 + (value.low >>> 0);
	return 0;
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/**
 * A delivered message, or an entry of a HISTORY page. carbon: a message its
 * own uid sent from another session (protocol 1.1 carbons).
 */
export class Message {
	constructor(deliver, ownUid) {
		this.msgId = toNumber(deliver.msgId);
		this.fromUid = deliver.fromUid || '';
		this.toUid = deliver.toUid || '';
		this.groupId = deliver.groupId || '';
		this.payload = deliver.payload ? asBytes(deliver.payload) : new Uint8Array(0);
		this.timestampMs = toNumber(deliver.timestampMs);
		this.transient = !!deliver.transient;
		this.carbon = !!ownUid && this.fromUid === ownUid && this.toUid !== ownUid;
	}

	/** The payload read as UTF-8 text. */
	get text() {
		return utf8Decoder.decode(this.payload);
	}
}

function toPayload(payload) {
	if (typeof payload === 'string') return utf8Encoder.encode(payload);
	if (payload instanceof Uint8Array) return payload;
	if (payload instanceof ArrayBuffer || ArrayBuffer.isView(payload)) return asBytes(payload);
	throw new TypeError('payload must be a string, a Uint8Array or an ArrayBuffer');
}

function randomBelow(n) {
	const c = globalThis.crypto;
	if (c && typeof c.getRandomValues === 'function') {
		return c.getRandomValues(new Uint32Array(1))[0] % n;
	}
	return Math.floor(Math.random() * n);
}

// A refused LOGIN with one of these ends the client; others are retried.
const PERMANENT_LOGIN_FAILURES = new Set([
	Status.BAD_REQUEST, Status.UNSUPPORTED_VERSION, Status.AUTH_FAILED, Status.BANNED, Status.ALREADY_LOGGED_IN,
]);

const DEFAULT_RECONNECT = Object.freeze({ initialDelayMs: 500, maxDelayMs: 30000, factor: 2, jitter: 0.5 });
const ACKED_MEMORY = 4096;

/**
 * A client session that logs in, keeps itself alive and comes back by
 * itself. States: 'idle' → 'connecting' → 'online' → ('reconnecting' →
 * 'connecting' → 'online')* → 'closed'. Events (client.on(name, fn)):
 *   state (state, info)  every change; info.reason, info.delayMs, info.attempt
 *   login (info)         each successful LOGIN (also after a reconnect)
 *   message (msg)        a delivery, a Message; acknowledged when every
 *                        listener returned (or its promise resolved)
 *   kick ({reason, reasonName, message})
 *   error (err)          a listener threw, a frame did not parse, an ERROR frame
 *   closed (err)         the end: close(), a permanent refusal, a KICK that
 *                        forbids reconnecting, or reconnect disabled
 */
export class ImgateClient {
	constructor(url, options = {}) {
		this.url = url;
		this._WebSocket = options.WebSocket || globalThis.WebSocket;
		if (typeof this._WebSocket !== 'function') {
			throw new TypeError('no WebSocket class: pass options.WebSocket (in Node 18 to 21: the ws package)');
		}
		this._webSocketOptions = options.webSocketOptions;
		this._reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...(options.reconnect || {}) };
		this.loginTimeoutMs = options.loginTimeoutMs ?? 15000;
		this.clientVersion = options.clientVersion ?? CLIENT_VERSION;
		this.state = 'idle';
		this.session = null;
		this.uid = '';
		this._listeners = new Map();
		this._ws = null;
		this._seq = 0;
		this._lastClientMsgId = 0;
		this._requests = new Set();
		this._bySeq = new Map();
		this._acked = new Set();
		this._ackedOrder = [];
		this._inProgress = new Set();
		this._ackQueue = [];
		this._timers = { reconnect: null, login: null, heartbeat: null, ack: null };
		this._attempt = 0;
		this._loginWaiter = null;
		this._credentials = null;
		this._stopReason = null;
	}

	/** Adds a listener; returns a function that removes it. */
	on(event, fn) {
		if (!this._listeners.has(event)) this._listeners.set(event, new Set());
		this._listeners.get(event).add(fn);
		return () => this.off(event, fn);
	}

	off(event, fn) {
		const set = this._listeners.get(event);
		if (set) set.delete(fn);
	}

	get online() {
		return this.state === 'online';
	}

	/**
	 * Opens the connection and logs in; after that the client stays logged in
	 * (heartbeats, reconnects with the same credentials) until close(). Resolves
	 * with { uid, device, sessionId, serverTimeMs, heartbeatIntervalS, protocol }
	 * at the first successful LOGIN_RESP; rejects with an ImgateError when the
	 * server refuses for good (AUTH_FAILED, BANNED, BAD_REQUEST) or when
	 * close() comes first. Transport failures are retried with backoff.
	 */
	login({ uid, token = '', device = '', carbons = false } = {}) {
		if (this.state !== 'idle' && this.state !== 'closed') {
			return Promise.reject(new Error(`login: the client is already ${this.state}`));
		}
		if (typeof uid !== 'string' || uid === '') return Promise.reject(new TypeError('login: uid is required'));
		this._credentials = { uid, token, device, carbons: !!carbons };
		this.uid = uid;
		this._stopReason = null;
		this._attempt = 0;
		return new Promise((resolve, reject) => {
			this._loginWaiter = { resolve, reject };
			this._open();
		});
	}

	/**
	 * A new client_msg_id: milliseconds since 1970 × 1024 plus a random part,
	 * increasing within this client, below 2^53 until the year 2248. Unique
	 * per sender across page reloads and restarts, as the server's idempotency
	 * (7 days by default) needs, unless the clock goes back.
	 */
	newClientMsgId() {
		const candidate = Date.now() * 1024 + randomBelow(512);
		this._lastClientMsgId = Math.max(candidate, this._lastClientMsgId + 1);
		return this._lastClientMsgId;
	}

	/**
	 * Sends a 1:1 message. payload: a string (sent as UTF-8) or bytes.
	 * options: clientMsgId (default newClientMsgId(); pass the same one to
	 * retry a refused send), transient. Resolves with { clientMsgId, msgId,
	 * timestampMs } at MSG_SEND_ACK OK; rejects with an ImgateError for a
	 * refusal (RECIPIENT_INVALID, PAYLOAD_TOO_LARGE, SERVER_BUSY, ...). A send
	 * made while offline waits for the login; one in flight when the
	 * connection drops is sent again after the reconnect with the same
	 * client_msg_id (the server answers a repeat with the original msg_id).
	 * A transient send is neither queued nor repeated: it rejects with
	 * OFFLINE or DISCONNECTED instead.
	 */
	send(toUid, payload, options = {}) {
		return this._sendMessage({ toUid }, payload, options);
	}

	/** Like send(), to the members of a group (NOT_MEMBER if not one of them). */
	sendToGroup(groupId, payload, options = {}) {
		return this._sendMessage({ toGroup: groupId }, payload, options);
	}

	/**
	 * One HISTORY page, newest first: messages with msgId < beforeMsgId (0:
	 * from the newest), at most limit (0: the server's 50), of the 1:1
	 * conversation withUid or the group groupId when one is given. Resolves
	 * with { messages: Message[], more }. Waits for the login when offline;
	 * asked again after a reconnect.
	 */
	history({ beforeMsgId = 0, limit = 0, withUid = '', groupId = '' } = {}) {
		return this._request(Cmd.HISTORY, { beforeMsgId, limit, withUid, groupId }, {
			resend: true,
			map: (body) => ({
				messages: (body.messages || []).map((m) => new Message(m, this.uid)),
				more: !!body.more,
			}),
		});
	}

	/**
	 * Logs out (LOGOUT, then closes) and stops for good: no reconnect, and
	 * every open send or request rejects with CLOSED. Resolves when the socket
	 * has closed.
	 */
	close() {
		const ws = this._ws;
		if (ws && this.state === 'online') this._write(Cmd.LOGOUT, this._nextSeq(), null);
		const closed = new Promise((resolve) => {
			if (!ws || ws.readyState === 3) resolve();
			else ws.addEventListener('close', () => resolve());
		});
		this._stop(new ImgateError(null, 'closed by the application', 'CLOSED'), { keepSocket: true });
		if (ws) {
			try {
				ws.close(1000);
			} catch (e) {
				// Already closing.
			}
		}
		return closed;
	}

	// --- internals ---

	_emit(event, ...args) {
		const set = this._listeners.get(event);
		if (!set) return;
		for (const fn of [...set]) {
			try {
				fn(...args);
			} catch (e) {
				if (event !== 'error') this._emit('error', e);
			}
		}
	}

	_setState(state, info = {}) {
		this.state = state;
		this._emit('state', state, info);
	}

	_nextSeq() {
		this._seq = this._seq >= 0xffffffff ? 1 : this._seq + 1;
		return this._seq;
	}

	_clearTimer(name) {
		if (this._timers[name] !== null) {
			clearTimeout(this._timers[name]);
			clearInterval(this._timers[name]);
			this._timers[name] = null;
		}
	}

	_open() {
		this._clearTimer('reconnect');
		this._setState('connecting', { attempt: this._attempt });
		let ws;
		try {
			ws = this._webSocketOptions
				? new this._WebSocket(this.url, SUBPROTOCOL, this._webSocketOptions)
				: new this._WebSocket(this.url, SUBPROTOCOL);
		} catch (e) {
			// A malformed URL: retrying cannot help.
			this._stop(new ImgateError(null, `cannot open ${this.url}: ${e.message}`, 'DISCONNECTED'));
			return;
		}
		ws.binaryType = 'arraybuffer';
		this._ws = ws;
		ws.onopen = () => {
			if (this._ws === ws) this._onOpen();
		};
		ws.onmessage = (event) => {
			if (this._ws === ws) this._onData(event.data);
		};
		ws.onerror = () => {
			// A close event follows and says more.
		};
		ws.onclose = (event) => {
			if (this._ws === ws) {
				const why = event.reason ? `, ${event.reason}` : '';
				this._connectionLost(`connection closed (code ${event.code}${why})`);
			}
		};
		// Bounds the TCP, TLS and WebSocket handshakes and the LOGIN together.
		this._timers.login = setTimeout(() => {
			this._timers.login = null;
			if (this._ws === ws) this._abandon(`no LOGIN_RESP within ${this.loginTimeoutMs} ms`);
		}, this.loginTimeoutMs);
	}

	_write(cmd, seq, body) {
		const ws = this._ws;
		if (!ws || ws.readyState !== 1) return false;
		ws.send(encodeFrame({ cmd, seq, body }));
		return true;
	}

	_onOpen() {
		const c = this._credentials;
		this._write(Cmd.LOGIN, this._nextSeq(), {
			uid: c.uid, token: c.token, device: c.device, carbons: c.carbons, clientVersion: this.clientVersion,
		});
	}

	_onData(data) {
		let frame;
		try {
			if (typeof data === 'string') throw new FrameError('a text message from the server');
			frame = decodeFrame(data);
		} catch (e) {
			this._emit('error', e);
			this._abandon(`protocol error: ${e.message}`);
			return;
		}
		this._lastReceived = Date.now();
		switch (frame.cmd) {
		case Cmd.LOGIN_RESP: this._onLoginResp(frame); break;
		case Cmd.HEARTBEAT_RESP: break;
		case Cmd.MSG_SEND_ACK:
		case Cmd.HISTORY_RESP: this._onResponse(frame); break;
		case Cmd.MSG_DELIVER: this._onDeliver(frame.body); break;
		case Cmd.KICK: this._onKick(frame.body); break;
		case Cmd.ERROR: this._onError(frame); break;
		default:
			this._emit('error', new FrameError(`unexpected ${cmdName(frame.cmd)} from the server`));
		}
	}

	_onLoginResp(frame) {
		this._clearTimer('login');
		const body = frame.body;
		if (frame.status !== Status.OK) {
			const error = new ImgateError(frame.status, body.message);
			if (PERMANENT_LOGIN_FAILURES.has(frame.status)) {
				this._stop(error);
			} else {
				this._abandon(`LOGIN refused: ${error.message}`);
			}
			return;
		}
		const c = this._credentials;
		this.session = {
			uid: c.uid,
			device: c.device,
			sessionId: body.sessionId,
			serverTimeMs: toNumber(body.serverTimeMs),
			heartbeatIntervalS: body.heartbeatIntervalS || 30,
			protocol: body.protocol || '1.0',
			message: body.message || '',
		};
		this._attempt = 0;
		this._startHeartbeat(this.session.heartbeatIntervalS * 1000);
		this._setState('online', { session: this.session });
		if (this._loginWaiter) {
			this._loginWaiter.resolve(this.session);
			this._loginWaiter = null;
		}
		this._emit('login', this.session);
		// What waited, and what was in flight on the last connection, in order.
		for (const request of this._requests) {
			if (request.seq === 0) this._transmit(request);
		}
		this._flushAcks();
	}

	_startHeartbeat(intervalMs) {
		this._clearTimer('heartbeat');
		this._lastReceived = Date.now();
		this._timers.heartbeat = setInterval(() => {
			// Any frame counts as a sign of life; two intervals without one
			// (the server answers each HEARTBEAT at once) is a dead link.
			const silentMs = Date.now() - this._lastReceived;
			if (silentMs > 2 * intervalMs + 1000) {
				this._abandon(`no frame from the server for ${Math.round(silentMs / 1000)} s`);
				return;
			}
			this._write(Cmd.HEARTBEAT, this._nextSeq(), null);
		}, intervalMs);
	}

	_sendMessage(target, payload, options) {
		if (this.state === 'idle' || this.state === 'closed') {
			return Promise.reject(new ImgateError(null, 'not logged in', this.state === 'idle' ? 'OFFLINE' : 'CLOSED'));
		}
		const transient = !!options.transient;
		if (transient && !this.online) {
			return Promise.reject(new ImgateError(null, 'transient messages are not queued while offline', 'OFFLINE'));
		}
		let bytes;
		try {
			bytes = toPayload(payload);
		} catch (e) {
			return Promise.reject(e);
		}
		const clientMsgId = options.clientMsgId ?? this.newClientMsgId();
		return this._request(Cmd.MSG_SEND, { ...target, clientMsgId, payload: bytes, transient }, {
			resend: !transient,
			map: (body) => ({ clientMsgId, msgId: toNumber(body.msgId), timestampMs: toNumber(body.timestampMs) }),
		});
	}

	_request(cmd, body, { resend, map }) {
		if (this.state === 'idle' || this.state === 'closed') {
			return Promise.reject(new ImgateError(null, 'not logged in', this.state === 'idle' ? 'OFFLINE' : 'CLOSED'));
		}
		return new Promise((resolve, reject) => {
			const request = { cmd, body, resend, map, resolve, reject, seq: 0 };
			this._requests.add(request);
			if (this.online) this._transmit(request);
		});
	}

	_transmit(request) {
		request.seq = this._nextSeq();
		this._bySeq.set(request.seq, request);
		this._write(request.cmd, request.seq, request.body);
	}

	_onResponse(frame) {
		const request = this._bySeq.get(frame.seq);
		if (!request || RESPONSE.get(request.cmd) !== frame.cmd) {
			this._emit('error', new FrameError(`${cmdName(frame.cmd)} with seq ${frame.seq} answers no open request`));
			return;
		}
		this._finish(request);
		if (frame.status === Status.OK) {
			request.resolve(request.map(frame.body));
		} else {
			request.reject(new ImgateError(frame.status, frame.body && frame.body.message));
		}
	}

	_finish(request) {
		this._bySeq.delete(request.seq);
		this._requests.delete(request);
	}

	_onError(frame) {
		const error = new ImgateError(frame.status, frame.body.message);
		const request = this._bySeq.get(frame.seq);
		if (frame.seq !== 0 && request) {
			this._finish(request);
			request.reject(error);
		}
		this._emit('error', error);
	}

	_onDeliver(body) {
		const message = new Message(body, this.uid);
		if (message.transient || message.msgId === 0) {
			this._runHandlers(message).catch((e) => this._emit('error', e));
			return;
		}
		const id = message.msgId;
		if (this._acked.has(id)) {
			// A retransmission of one the application has: acknowledge again.
			this._queueAck(id);
			return;
		}
		if (this._inProgress.has(id)) return;
		if (!this._listeners.get('message') || this._listeners.get('message').size === 0) {
			// Nobody took it: the server delivers it again later.
			return;
		}
		this._inProgress.add(id);
		this._runHandlers(message).then(() => {
			this._inProgress.delete(id);
			this._remember(id);
			this._queueAck(id);
		}, (e) => {
			this._inProgress.delete(id);
			this._emit('error', e);
		});
	}

	async _runHandlers(message) {
		const set = this._listeners.get('message');
		if (!set) return;
		const results = [];
		for (const fn of [...set]) results.push(fn(message));
		await Promise.all(results);
	}

	_remember(id) {
		this._acked.add(id);
		this._ackedOrder.push(id);
		if (this._ackedOrder.length > ACKED_MEMORY) this._acked.delete(this._ackedOrder.shift());
	}

	_queueAck(id) {
		this._ackQueue.push(id);
		if (this._timers.ack === null) {
			// One MSG_DELIVER_ACK for what the handlers finished in one turn.
			this._timers.ack = setTimeout(() => {
				this._timers.ack = null;
				this._flushAcks();
			}, 0);
		}
	}

	_flushAcks() {
		if (!this.online || this._ackQueue.length === 0) return;
		const msgIds = this._ackQueue;
		this._ackQueue = [];
		// Ids delivered on an earlier connection are ignored by the server; it
		// delivers them again on this one, and they are acknowledged again.
		this._write(Cmd.MSG_DELIVER_ACK, this._nextSeq(), { msgIds });
	}

	_onKick(body) {
		const reason = body.reason;
		const kick = { reason, reasonName: kickReasonName(reason), message: body.message || '' };
		this._emit('kick', kick);
		if (reason === KickReason.DUPLICATE_LOGIN || reason === KickReason.BANNED) {
			const error = new ImgateError(null, `${kick.reasonName}${kick.message ? ` (${kick.message})` : ''}`, 'KICKED');
			error.kick = kick;
			this._stop(error);
		}
		// Otherwise the server closes, and the close brings the reconnect.
	}

	// Drops the current socket without waiting for its close handshake.
	_abandon(reason) {
		const ws = this._ws;
		if (!ws) return;
		this._connectionLost(reason);
		try {
			ws.close();
		} catch (e) {
			// Not open yet or already closing.
		}
	}

	_connectionLost(reason) {
		this._ws = null;
		this._clearTimer('login');
		this._clearTimer('heartbeat');
		// Requests that were sent wait to be sent again; transient ones fail.
		this._bySeq.clear();
		for (const request of this._requests) {
			if (request.seq !== 0 && !request.resend) {
				this._requests.delete(request);
				request.reject(new ImgateError(null, reason, 'DISCONNECTED'));
			} else {
				request.seq = 0;
			}
		}
		if (this._stopReason) return;
		if (!this._reconnect) {
			this._stop(new ImgateError(null, reason, 'DISCONNECTED'));
			return;
		}
		const r = this._reconnect;
		const base = Math.min(r.maxDelayMs, r.initialDelayMs * r.factor ** this._attempt);
		const delayMs = Math.round(base * (1 - r.jitter * Math.random()));
		this._attempt++;
		this._setState('reconnecting', { reason, delayMs, attempt: this._attempt });
		this._timers.reconnect = setTimeout(() => {
			this._timers.reconnect = null;
			this._open();
		}, delayMs);
	}

	_stop(error, { keepSocket = false } = {}) {
		if (this._stopReason) return;
		this._stopReason = error;
		for (const name of Object.keys(this._timers)) this._clearTimer(name);
		const ws = this._ws;
		this._ws = null;
		if (ws && !keepSocket) {
			try {
				ws.close();
			} catch (e) {
				// Already closing.
			}
		}
		this._bySeq.clear();
		const requests = [...this._requests];
		this._requests.clear();
		for (const request of requests) request.reject(error);
		this._ackQueue = [];
		if (this._loginWaiter) {
			this._loginWaiter.reject(error);
			this._loginWaiter = null;
		}
		this._setState('closed', { reason: error.message, error });
		this._emit('closed', error);
	}
}

/** new ImgateClient(url, options): call login() next. */
export function connect(url, options = {}) {
	return new ImgateClient(url, options);
}

/**
 * The WebSocket URL of a page's own server: ws(s)://host/imgate
 * (browsers; location is window.location).
 */
export function defaultUrl(location, path = '/imgate') {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${scheme}//${location.host}${path}`;
}
