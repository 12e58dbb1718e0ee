// codec.test.js: frames and bodies of the JavaScript client, without a
// server. The bodies are checked against protoc (the compiler that makes the
// server's C++ code from the same imgate.proto) both ways, so a field number
// or type that differs from the server's would fail here.
//
// Environment (set by clients/js/CMakeLists.txt): IMGATE_JS_DIST, the folder
// tools/build.js made; IMGATE_SOURCE_DIR, the repository; IMGATE_PROTOC, protoc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.env.IMGATE_JS_DIST;
assert.ok(dist, 'IMGATE_JS_DIST must name the built client folder (clients/js/tools/build.js --out)');
const sourceDir = process.env.IMGATE_SOURCE_DIR;
assert.ok(sourceDir, 'IMGATE_SOURCE_DIR must name the repository');
const protoc = process.env.IMGATE_PROTOC || 'protoc';
const imgate = await import(pathToFileURL(join(dist, 'imgate.js')).href);
const { Cmd, Status, encodeFrame, decodeFrame, FrameError, Message, messages, statusName, cmdName, toNumber } = imgate;

const protoDir = join(sourceDir, 'proto');
const protoFile = join(protoDir, 'imgate/v1/imgate.proto');

function protocDecode(type, bytes) {
	return execFileSync(protoc, [`--decode=imgate.v1.${type}`, '-I', protoDir, protoFile], { input: Buffer.from(bytes) }).toString();
}

function protocEncode(type, text) {
	return new Uint8Array(execFileSync(protoc, [`--encode=imgate.v1.${type}`, '-I', protoDir, protoFile], { input: text }));
}

function hex(bytes) {
	return Buffer.from(bytes).toString('hex');
}

test('the header is 16 big-endian bytes as protocol-v1.md lays them out', () => {
	const frame = encodeFrame({ cmd: Cmd.MSG_SEND, seq: 0x01020304, body: { toUid: 'bob', clientMsgId: 1, payload: new Uint8Array([0x68, 0x69]) } });
	// magic "IM", version 1, flags 0, cmd 0x0010, status 0, seq, body_len 11
	assert.equal(hex(frame.subarray(0, 16)), '494d' + '01' + '00' + '0010' + '0000' + '01020304' + '0000000b');
	// field 1 (to_uid) "bob", field 2 (client_msg_id) 1, field 3 (payload) "hi"
	assert.equal(hex(frame.subarray(16)), '0a03626f62' + '1001' + '1a026869');
});

test('a frame with status and an empty body', () => {
	const frame = encodeFrame({ cmd: Cmd.HEARTBEAT_RESP, seq: 9, status: Status.SERVER_BUSY });
	assert.equal(hex(frame), '494d0100' + '0004' + '001e' + '00000009' + '00000000');
	const parsed = decodeFrame(frame.buffer);
	assert.equal(parsed.cmd, Cmd.HEARTBEAT_RESP);
	assert.equal(parsed.status, 30);
	assert.equal(parsed.seq, 9);
	assert.equal(parsed.body, null);
	assert.equal(parsed.bodyBytes.length, 0);
});

test('every body the client sends decodes with protoc as the server reads it', () => {
	const login = encodeFrame({ cmd: Cmd.LOGIN, seq: 1, body: { uid: 'alice', token: 't0k', device: 'web', clientVersion: 'imgate-js/0.1.0', carbons: true } });
	assert.equal(protocDecode('LoginRequest', login.subarray(16)),
		'uid: "alice"\ntoken: "t0k"\ndevice: "web"\nclient_version: "imgate-js/0.1.0"\ncarbons: true\n');

	const id = 2 ** 53 - 1;
	const send = encodeFrame({ cmd: Cmd.MSG_SEND, seq: 2, body: { toGroup: 'room.1', clientMsgId: id, payload: new TextEncoder().encode('héllo'), transient: true } });
	assert.equal(protocDecode('MessageSend', send.subarray(16)),
		`client_msg_id: ${id}\npayload: "h\\303\\251llo"\nto_group: "room.1"\ntransient: true\n`);

	const ack = encodeFrame({ cmd: Cmd.MSG_DELIVER_ACK, seq: 3, body: { msgIds: [1, 2 ** 40 + 5, id] } });
	assert.equal(protocDecode('MessageDeliverAck', ack.subarray(16)),
		`msg_ids: 1\nmsg_ids: ${2 ** 40 + 5}\nmsg_ids: ${id}\n`);

	const history = encodeFrame({ cmd: Cmd.HISTORY, seq: 4, body: { beforeMsgId: 1234567890123, limit: 20, withUid: 'bob' } });
	assert.equal(protocDecode('HistoryRequest', history.subarray(16)),
		'before_msg_id: 1234567890123\nlimit: 20\nwith_uid: "bob"\n');
});

test('every body the server sends, encoded by protoc, decodes in the client', () => {
	const id = 2 ** 53 - 7;
	const deliver = protocEncode('MessageDeliver',
		`msg_id: ${id} from_uid: "alice" payload: "hi \\360\\237\\221\\213" timestamp_ms: 1764790000123 group_id: "g1" transient: false`);
	const frame = decodeFrame(concat(header(Cmd.MSG_DELIVER, 0, 0, deliver.length), deliver));
	assert.equal(frame.cmd, Cmd.MSG_DELIVER);
	const message = new Message(frame.body, 'bob');
	assert.equal(message.msgId, id);
	assert.equal(message.fromUid, 'alice');
	assert.equal(message.groupId, 'g1');
	assert.equal(message.toUid, '');
	assert.equal(message.text, 'hi 👋');
	assert.equal(message.timestampMs, 1764790000123);
	assert.equal(message.transient, false);
	assert.equal(message.carbon, false);

	const login = protocEncode('LoginResponse', 'server_time_ms: 1764790000999 heartbeat_interval_s: 30 session_id: "00000000000000a1" protocol: "1.1"');
	const parsedLogin = decodeFrame(concat(header(Cmd.LOGIN_RESP, 0, 1, login.length), login)).body;
	assert.equal(toNumber(parsedLogin.serverTimeMs), 1764790000999);
	assert.equal(parsedLogin.heartbeatIntervalS, 30);
	assert.equal(parsedLogin.sessionId, '00000000000000a1');
	assert.equal(parsedLogin.protocol, '1.1');
	assert.equal(parsedLogin.message, '');

	const sendAck = protocEncode('MessageSendAck', `client_msg_id: 77 msg_id: ${id} timestamp_ms: 5`);
	const parsedAck = decodeFrame(concat(header(Cmd.MSG_SEND_ACK, 0, 2, sendAck.length), sendAck)).body;
	assert.equal(toNumber(parsedAck.clientMsgId), 77);
	assert.equal(toNumber(parsedAck.msgId), id);

	const history = protocEncode('HistoryResponse',
		'messages { msg_id: 12 from_uid: "bob" to_uid: "alice" payload: "b" } ' +
		'messages { msg_id: 11 from_uid: "alice" to_uid: "bob" payload: "a" } more: true');
	const page = decodeFrame(concat(header(Cmd.HISTORY_RESP, 0, 3, history.length), history)).body;
	assert.equal(page.more, true);
	const entries = page.messages.map((m) => new Message(m, 'alice'));
	assert.deepEqual(entries.map((m) => [m.msgId, m.fromUid, m.toUid, m.text, m.carbon]),
		[[12, 'bob', 'alice', 'b', false], [11, 'alice', 'bob', 'a', true]]);

	const kick = protocEncode('Kick', 'reason: 1 message: "logged in elsewhere"');
	const parsedKick = decodeFrame(concat(header(Cmd.KICK, 0, 0, kick.length), kick)).body;
	assert.equal(parsedKick.reason, 1);
	assert.equal(parsedKick.message, 'logged in elsewhere');

	const error = protocEncode('Error', 'message: "login timeout"');
	const parsedError = decodeFrame(concat(header(Cmd.ERROR, Status.NOT_LOGGED_IN, 0, error.length), error));
	assert.equal(parsedError.status, Status.NOT_LOGGED_IN);
	assert.equal(parsedError.body.message, 'login timeout');
});

function header(cmd, status, seq, length, { magic = 0x494d, version = 1, flags = 0 } = {}) {
	const bytes = new Uint8Array(16);
	const view = new DataView(bytes.buffer);
	view.setUint16(0, magic);
	view.setUint8(2, version);
	view.setUint8(3, flags);
	view.setUint16(4, cmd);
	view.setUint16(6, status);
	view.setUint32(8, seq);
	view.setUint32(12, length);
	return bytes;
}

function concat(a, b) {
	const out = new Uint8Array(a.length + b.length);
	out.set(a);
	out.set(b, a.length);
	return out;
}

test('a message that is not exactly one well-formed frame is refused, saying why', () => {
	const body = new Uint8Array([0x0a, 0x01, 0x78]);
	const cases = [
		[new Uint8Array(15), /shorter than the 16-byte header/],
		[concat(header(Cmd.ERROR, 0, 0, 3, { magic: 0x4d49 }), body), /bad magic 0x4d49/],
		[concat(header(Cmd.ERROR, 0, 0, 3, { version: 2 }), body), /unsupported version 2/],
		[concat(header(Cmd.ERROR, 0, 0, 3, { flags: 1 }), body), /flags 0x1 set/],
		[concat(header(Cmd.ERROR, 0, 0, 4), body), /body_len 4 does not match the 3 body bytes/],
		[concat(header(Cmd.ERROR, 0, 0, 2), body), /body_len 2 does not match the 3 body bytes/],
		// Two frames in one message.
		[concat(concat(header(Cmd.ERROR, 0, 0, 3), body), concat(header(Cmd.ERROR, 0, 0, 3), body)), /body_len 3 does not match the 22/],
		// A length-delimited field that runs past the end.
		[concat(header(Cmd.ERROR, 0, 0, 2), new Uint8Array([0x0a, 0x05])), /ERROR body does not parse/],
	];
	for (const [bytes, pattern] of cases) {
		assert.throws(() => decodeFrame(bytes), (e) => e instanceof FrameError && pattern.test(e.message), `expected ${pattern}`);
	}
	assert.throws(() => decodeFrame('text'), FrameError);
});

test('a frame inside a larger buffer (a Node Buffer slice) decodes from its own offset', () => {
	const frame = encodeFrame({ cmd: Cmd.ERROR, seq: 5, status: Status.UNKNOWN_COMMAND, body: { message: 'x' } });
	const big = new Uint8Array(100);
	big.set(frame, 40);
	const parsed = decodeFrame(big.subarray(40, 40 + frame.length));
	assert.equal(parsed.seq, 5);
	assert.equal(parsed.body.message, 'x');
});

test('an unknown command keeps its body bytes and has no decoded body', () => {
	const bytes = concat(header(0x0777, 0, 8, 2), new Uint8Array([1, 2]));
	const parsed = decodeFrame(bytes);
	assert.equal(parsed.cmd, 0x0777);
	assert.equal(parsed.body, null);
	assert.deepEqual([...parsed.bodyBytes], [1, 2]);
	assert.equal(cmdName(0x0777), 'CMD_1911');
});

test('header fields out of range are refused before anything is sent', () => {
	assert.throws(() => encodeFrame({ cmd: 0x10000 }), RangeError);
	assert.throws(() => encodeFrame({ cmd: Cmd.HEARTBEAT, seq: 2 ** 32 }), RangeError);
	assert.throws(() => encodeFrame({ cmd: Cmd.HEARTBEAT, seq: -1 }), RangeError);
	assert.throws(() => encodeFrame({ cmd: Cmd.HEARTBEAT, body: { x: 1 } }), /HEARTBEAT has no body message/);
});

test('status and command names follow the protocol tables', () => {
	assert.equal(statusName(0), 'OK');
	assert.equal(statusName(15), 'DEVICE_LIMIT');
	assert.equal(statusName(22), 'NOT_MEMBER');
	assert.equal(statusName(30), 'SERVER_BUSY');
	assert.equal(statusName(99), 'STATUS_99');
	assert.equal(cmdName(0x30), 'HISTORY');
	assert.equal(cmdName(0xff), 'ERROR');
});

test('the generated classes are those of imgate.proto, nothing hand-written', () => {
	assert.deepEqual(Object.keys(messages).sort(), ['Error', 'HistoryRequest', 'HistoryResponse', 'Kick', 'LoginRequest',
		'LoginResponse', 'MessageDeliver', 'MessageDeliverAck', 'MessageSend', 'MessageSendAck']);
});
