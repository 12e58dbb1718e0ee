// client.test.js: the JavaScript client against a real imgated over ws:// and
// wss:// (WebSocket from the ws package, as Node 18 to 21 have none built in).
//
// Environment (set by clients/js/CMakeLists.txt): IMGATE_JS_DIST, the folder
// tools/build.js made; IMGATED, the server; IMGATE_SOURCE_DIR, the repository;
// NODE_PATH, the node_modules of the build tree's npm ci (for ws).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createServer, connect as netConnect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, waitFor, makeCertificates } from './server.js';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const dist = process.env.IMGATE_JS_DIST;
assert.ok(dist, 'IMGATE_JS_DIST must name the built client folder');
const { connect, ImgateError, KickReason, Status } = await import(pathToFileURL(join(dist, 'imgate.js')).href);

const cleanups = [];
after(async () => {
	for (const fn of cleanups.reverse()) await fn();
});

async function server(settings, options) {
	const s = await Server.start(settings, options);
	cleanups.push(() => s.dispose());
	return s;
}

// A client that records its states, deliveries, kicks and errors.
function client(url, options = {}) {
	const c = connect(url, { WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 400 }, ...options });
	c.states = [];
	c.received = [];
	c.kicks = [];
	c.errors = [];
	c.on('state', (state, info) => c.states.push({ state, info }));
	c.on('kick', (kick) => c.kicks.push(kick));
	c.on('error', (e) => c.errors.push(e));
	if (options.handler !== null) c.on('message', options.handler || ((m) => { c.received.push(m); }));
	cleanups.push(() => c.close());
	return c;
}

async function session(s, uid) {
	const answer = await s.admin('GET', `/v1/sessions/${uid}`);
	return answer.status === 200 ? answer.body : null;
}

// A TCP relay between a client and the server whose server-to-client
// direction can be held back, and whose connections can be cut: the way to
// lose a MSG_SEND_ACK that the server did send.
class Relay {
	static async start(port) {
		const relay = new Relay(port);
		await new Promise((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
		relay.port = relay.server.address().port;
		cleanups.push(() => relay.close());
		return relay;
	}

	constructor(port) {
		this.hold = false;
		this.connections = 0;
		this.sockets = new Set();
		this.server = createServer((down) => {
			this.connections++;
			const up = netConnect(port, '127.0.0.1');
			this.sockets.add(down);
			this.sockets.add(up);
			down.on('data', (d) => up.write(d));
			up.on('data', (d) => {
				if (!this.hold) down.write(d);
			});
			const end = () => {
				down.destroy();
				up.destroy();
				this.sockets.delete(down);
				this.sockets.delete(up);
			};
			down.on('close', end);
			up.on('close', end);
			down.on('error', end);
			up.on('error', end);
		});
	}

	cut() {
		for (const s of this.sockets) s.destroy();
		this.sockets.clear();
	}

	close() {
		this.cut();
		return new Promise((resolve) => this.server.close(() => resolve()));
	}
}

test('login, send and receive over ws://; the delivery is acknowledged once the handler is done', async () => {
	const s = await server({ 'delivery.retransmitTimeout': '1' });
	const alice = client(s.url);
	const bob = client(s.url);
	const info = await alice.login({ uid: 'alice', device: 'node' });
	assert.equal(info.uid, 'alice');
	assert.equal(info.protocol, '1.1');
	assert.match(info.sessionId, /^[0-9a-f]{16}$/);
	assert.ok(info.heartbeatIntervalS > 0);
	assert.equal(alice.state, 'online');
	await bob.login({ uid: 'bob' });

	const ack = await alice.send('bob', 'hello bob');
	assert.ok(ack.msgId > 0, `msg_id ${ack.msgId}`);
	assert.ok(ack.clientMsgId > 0);
	assert.ok(Math.abs(ack.timestampMs - Date.now()) < 60000);
	await waitFor(() => bob.received.length === 1, 5000, 'bob to receive the message');
	const m = bob.received[0];
	assert.equal(m.msgId, ack.msgId);
	assert.equal(m.fromUid, 'alice');
	assert.equal(m.toUid, 'bob');
	assert.equal(m.text, 'hello bob');
	assert.equal(m.timestampMs, ack.timestampMs);
	assert.equal(m.carbon, false);

	// The server forgets it once acknowledged, and shows the transport.
	await waitFor(async () => {
		const b = await session(s, 'bob');
		return b && b.in_flight === 0 && b.pending === 0;
	}, 5000, 'bob\'s delivery to be acknowledged (in_flight 0, pending 0)');
	const b = await session(s, 'bob');
	assert.equal(b.transport, 'ws');
	// Acknowledged: no retransmission after delivery.retransmitTimeout (1 s).
	await sleep(2500);
	assert.equal(bob.received.length, 1);
	assert.deepEqual(bob.errors, []);
});

test('a handler that fails leaves the delivery unacknowledged, and the server delivers it again', async () => {
	const s = await server({ 'delivery.retransmitTimeout': '1' });
	const calls = [];
	const carol = client(s.url, {
		handler: async (m) => {
			calls.push(m.msgId);
			if (calls.length === 1) throw new Error('the app could not store it');
		},
	});
	const dave = client(s.url);
	await carol.login({ uid: 'carol' });
	await dave.login({ uid: 'dave' });
	const ack = await dave.send('carol', 'again');
	await waitFor(() => calls.length === 2, 8000, 'the retransmission after a failed handler');
	assert.deepEqual(calls, [ack.msgId, ack.msgId]);
	assert.equal(carol.errors.length, 1);
	assert.match(carol.errors[0].message, /could not store it/);
	await waitFor(async () => {
		const c = await session(s, 'carol');
		return c && c.in_flight === 0 && c.pending === 0;
	}, 5000, 'the second delivery to be acknowledged');
	await sleep(2500);
	assert.equal(calls.length, 2);
});

test('a send whose ack was lost is sent again after the reconnect with the same client_msg_id, and stored once', async () => {
	const s = await server();
	const relay = await Relay.start(s.port);
	const erin = client(`ws://127.0.0.1:${relay.port}${s.path}`);
	const frank = client(s.url);
	await erin.login({ uid: 'erin' });
	await frank.login({ uid: 'frank' });
	assert.equal(relay.connections, 1);

	relay.hold = true;
	const clientMsgId = erin.newClientMsgId();
	const pending = erin.send('frank', 'exactly once', { clientMsgId });
	// Stored and delivered: the server sent its MSG_SEND_ACK, which the relay holds.
	await waitFor(() => frank.received.length === 1, 5000, 'frank to receive the message');
	relay.cut();
	relay.hold = false;
	const ack = await pending;
	assert.equal(ack.clientMsgId, clientMsgId);
	assert.equal(ack.msgId, frank.received[0].msgId, 'the repeat got the original msg_id');
	assert.equal(relay.connections, 2);
	assert.ok(erin.states.some((s) => s.state === 'reconnecting'));
	const page = await frank.history({ withUid: 'erin' });
	assert.deepEqual(page.messages.map((m) => m.text), ['exactly once']);
	await sleep(500);
	assert.equal(frank.received.length, 1);
});

test('heartbeats keep an idle session alive past the server\'s timeout', async () => {
	const s = await server({ 'session.heartbeatInterval': '1', 'session.heartbeatTimeout': '3' });
	const gina = client(s.url);
	const info = await gina.login({ uid: 'gina' });
	assert.equal(info.heartbeatIntervalS, 1);
	await sleep(5000);
	assert.equal(gina.state, 'online');
	assert.deepEqual(gina.states.map((x) => x.state), ['connecting', 'online']);
	const g = await session(s, 'gina');
	assert.ok(g, 'gina is still logged in');
});

test('KICK DUPLICATE_LOGIN ends the old client for good; KICK ADMIN and SHUTDOWN bring a reconnect', async () => {
	const s = await server();
	const first = client(s.url);
	const closed = new Promise((resolve) => first.on('closed', resolve));
	await first.login({ uid: 'hank', device: 'a' });
	const second = client(s.url);
	await second.login({ uid: 'hank', device: 'b' });
	const error = await closed;
	assert.equal(error.statusName, 'KICKED');
	assert.equal(first.kicks[0].reason, KickReason.DUPLICATE_LOGIN);
	assert.equal(first.kicks[0].reasonName, 'DUPLICATE_LOGIN');
	await sleep(1000);
	assert.equal(first.state, 'closed');
	assert.ok(!first.states.some((x) => x.state === 'reconnecting'), 'no reconnect after DUPLICATE_LOGIN');
	assert.equal(second.state, 'online');
	await assert.rejects(first.send('x', 'y'), (e) => e.statusName === 'CLOSED');

	const kicked = await s.admin('POST', '/v1/sessions/hank/kick', { message: 'test' });
	assert.equal(kicked.status, 200);
	await waitFor(() => second.kicks.length === 1 && second.state === 'online' && second.states.some((x) => x.state === 'reconnecting'),
		5000, 'the reconnect after KICK ADMIN');
	assert.equal(second.kicks[0].reason, KickReason.ADMIN);
	assert.equal(second.kicks[0].message, 'test');

	// A message sent while the server is down waits and goes after the reconnect.
	const ivy = client(s.url);
	await ivy.login({ uid: 'ivy' });
	await s.stop();
	await waitFor(() => second.state === 'reconnecting' && ivy.state !== 'online', 5000, 'both clients to notice the shutdown');
	assert.ok(second.kicks.some((k) => k.reason === KickReason.SHUTDOWN));
	const queued = second.send('ivy', 'after the restart');
	await s.restart();
	const ack = await queued;
	assert.ok(ack.msgId > 0);
	await waitFor(() => ivy.received.some((m) => m.text === 'after the restart'), 10000, 'ivy to receive the queued message');
	assert.equal(second.state, 'online');
});

test('the reconnect delay grows exponentially, with jitter, up to its maximum', async () => {
	// A port with nothing listening: every attempt is refused at once.
	const probe = createServer();
	await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
	const port = probe.address().port;
	await new Promise((resolve) => probe.close(resolve));
	const c = client(`ws://127.0.0.1:${port}/imgate`, { reconnect: { initialDelayMs: 40, maxDelayMs: 300, factor: 2, jitter: 0.5 } });
	const login = c.login({ uid: 'jack' });
	await waitFor(() => c.states.filter((x) => x.state === 'reconnecting').length >= 7, 10000, '7 reconnect attempts');
	const delays = c.states.filter((x) => x.state === 'reconnecting').map((x) => x.info.delayMs).slice(0, 7);
	const bases = [40, 80, 160, 300, 300, 300, 300];
	delays.forEach((d, i) => assert.ok(d >= bases[i] / 2 && d <= bases[i], `attempt ${i + 1}: ${d} ms not in [${bases[i] / 2}, ${bases[i]}]`));
	assert.ok(new Set(delays.slice(3)).size > 1, `jitter: ${delays}`);
	await c.close();
	await assert.rejects(login, (e) => e instanceof ImgateError && e.statusName === 'CLOSED');
});

test('HISTORY pages backwards through a conversation', async () => {
	const s = await server();
	const kim = client(s.url);
	const lee = client(s.url);
	await kim.login({ uid: 'kim' });
	await lee.login({ uid: 'lee' });
	const ids = [];
	for (let i = 1; i <= 5; i++) {
		const sender = i % 2 ? kim : lee;
		ids.push((await sender.send(i % 2 ? 'lee' : 'kim', `m${i}`)).msgId);
	}
	await kim.send('mo', 'another conversation');
	const first = await kim.history({ withUid: 'lee', limit: 2 });
	assert.deepEqual(first.messages.map((m) => m.text), ['m5', 'm4']);
	assert.deepEqual(first.messages.map((m) => m.msgId), [ids[4], ids[3]]);
	assert.equal(first.more, true);
	assert.equal(first.messages[0].fromUid, 'kim');
	assert.equal(first.messages[0].toUid, 'lee');
	assert.equal(first.messages[1].fromUid, 'lee');
	const second = await kim.history({ withUid: 'lee', limit: 2, beforeMsgId: first.messages[1].msgId });
	assert.deepEqual(second.messages.map((m) => m.text), ['m3', 'm2']);
	const last = await kim.history({ withUid: 'lee', limit: 2, beforeMsgId: second.messages[1].msgId });
	assert.deepEqual(last.messages.map((m) => m.text), ['m1']);
	assert.equal(last.more, false);
	const all = await kim.history();
	assert.deepEqual(all.messages.map((m) => m.text), ['another conversation', 'm5', 'm4', 'm3', 'm2', 'm1']);
	await assert.rejects(kim.history({ withUid: 'lee', groupId: 'g' }), (e) => e.status === Status.BAD_REQUEST);
});

test('groups: one msg_id for every member, group_id set, NOT_MEMBER for others; group HISTORY', async () => {
	const s = await server();
	const put = await s.admin('PUT', '/v1/groups/team', { members: ['nat', 'oli', 'pam'] });
	assert.equal(put.status, 200, put.text);
	const nat = client(s.url);
	const oli = client(s.url);
	const pam = client(s.url);
	const quinn = client(s.url);
	for (const [c, uid] of [[nat, 'nat'], [oli, 'oli'], [pam, 'pam'], [quinn, 'quinn']]) await c.login({ uid });
	const ack = await nat.sendToGroup('team', 'hello team');
	await waitFor(() => oli.received.length === 1 && pam.received.length === 1, 5000, 'both other members to receive');
	for (const m of [oli.received[0], pam.received[0]]) {
		assert.equal(m.msgId, ack.msgId);
		assert.equal(m.groupId, 'team');
		assert.equal(m.fromUid, 'nat');
		assert.equal(m.toUid, '');
		assert.equal(m.text, 'hello team');
	}
	assert.equal(nat.received.length, 0, 'the sender does not get its own group message');
	await assert.rejects(quinn.sendToGroup('team', 'let me in'), (e) => e.status === Status.NOT_MEMBER && e.statusName === 'NOT_MEMBER');
	const page = await pam.history({ groupId: 'team' });
	assert.deepEqual(page.messages.map((m) => [m.msgId, m.text]), [[ack.msgId, 'hello team']]);
	await assert.rejects(quinn.history({ groupId: 'team' }), (e) => e.statusName === 'NOT_MEMBER');
});

test('carbons: the sender\'s other device gets a copy of what it sent', async () => {
	const s = await server({ 'session.devicePolicy': 'perDevice' });
	const phone = client(s.url);
	const laptop = client(s.url);
	const rob = client(s.url);
	await phone.login({ uid: 'ray', device: 'phone', carbons: true });
	await laptop.login({ uid: 'ray', device: 'laptop' });
	await rob.login({ uid: 'rob' });
	const ack = await laptop.send('rob', 'from the laptop');
	await waitFor(() => phone.received.length === 1 && rob.received.length === 1, 5000, 'the carbon and the delivery');
	const carbon = phone.received[0];
	assert.equal(carbon.msgId, ack.msgId);
	assert.equal(carbon.fromUid, 'ray');
	assert.equal(carbon.toUid, 'rob');
	assert.equal(carbon.carbon, true);
	assert.equal(rob.received[0].carbon, false);
	assert.equal(laptop.received.length, 0, 'the sending session gets no copy');
});

test('transient messages: msg_id 0, delivered to who is online, never queued by the client', async () => {
	const s = await server();
	const sam = client(s.url);
	const tom = client(s.url);
	await sam.login({ uid: 'sam' });
	await tom.login({ uid: 'tom' });
	const ack = await sam.send('tom', 'typing', { transient: true });
	assert.equal(ack.msgId, 0);
	await waitFor(() => tom.received.length === 1, 5000, 'the transient delivery');
	assert.equal(tom.received[0].transient, true);
	assert.equal(tom.received[0].msgId, 0);
	assert.equal(tom.received[0].text, 'typing');
	const history = await tom.history({ withUid: 'sam' });
	assert.equal(history.messages.length, 0);

	const una = client(s.url);
	const login = una.login({ uid: 'una' });
	await assert.rejects(una.send('tom', 'typing', { transient: true }), (e) => e.statusName === 'OFFLINE');
	await login;
});

test('refusals name their status', async () => {
	const s = await server({ 'message.maxPayloadSize': '1000' });
	const vic = client(s.url);
	await vic.login({ uid: 'vic' });
	await assert.rejects(vic.send('not a uid!', 'x'), (e) => e.status === Status.RECIPIENT_INVALID && e.statusName === 'RECIPIENT_INVALID');
	await assert.rejects(vic.send('wes', new Uint8Array(1001)), (e) => e.statusName === 'PAYLOAD_TOO_LARGE');
	await assert.rejects(vic.send('wes', 42), TypeError);
	assert.ok((await vic.send('wes', new Uint8Array(1000))).msgId > 0);
	assert.equal(vic.state, 'online');

	const closed = await server({ 'auth.allowAnonymous': 'false' });
	const xena = client(closed.url);
	await assert.rejects(xena.login({ uid: 'xena', token: 'wrong' }), (e) => e.status === Status.AUTH_FAILED);
	await sleep(500);
	assert.equal(xena.state, 'closed');
	assert.ok(!xena.states.some((x) => x.state === 'reconnecting'), 'no reconnect after AUTH_FAILED');
});

test('wss:// with the test CA', async () => {
	const dir = mkdtempSync(join(tmpdir(), 'imgate-js-certs-'));
	cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
	const certs = makeCertificates(dir);
	const s = await server({
		'websocket.tls': 'true',
		'tls.certificateFile': join(certs, 'server.pem'),
		'tls.privateKeyFile': join(certs, 'server.key'),
	});
	assert.equal(s.scheme, 'wss');
	const ca = readFileSync(join(certs, 'ca.pem'));
	const yan = client(s.url, { webSocketOptions: { ca } });
	const zoe = client(s.url, { webSocketOptions: { ca } });
	await yan.login({ uid: 'yan' });
	await zoe.login({ uid: 'zoe' });
	const ack = await yan.send('zoe', 'over TLS');
	await waitFor(() => zoe.received.length === 1, 5000, 'zoe to receive over wss');
	assert.equal(zoe.received[0].msgId, ack.msgId);
	const z = await session(s, 'zoe');
	assert.equal(z.transport, 'wss');

	// Without the CA the certificate is refused, and the client keeps trying.
	const untrusting = client(s.url, { reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
	untrusting.login({ uid: 'nobody' }).catch(() => {});
	await waitFor(() => untrusting.states.filter((x) => x.state === 'reconnecting').length >= 2, 5000, 'refused TLS handshakes');
	assert.notEqual(untrusting.state, 'online');
	await untrusting.close();
});

test('examples/hello.js (docs/clients-js.md) runs as documented', async () => {
	const s = await server();
	const { execFile } = await import('node:child_process');
	const example = new URL('../examples/hello.js', import.meta.url).pathname;
	const output = await new Promise((resolve, reject) => {
		execFile(process.execPath, [example, s.url], { timeout: 20000, env: { ...process.env, IMGATE_JS_DIST: dist } }, (error, stdout, stderr) => {
			if (error) reject(new Error(`${error.message}\n${stderr}`));
			else resolve(stdout);
		});
	});
	assert.match(output, /^alice: logged in, protocol 1\.1, heartbeat every \d+ s$/m);
	const stored = /^alice: stored as msg_id (\d+)$/m.exec(output);
	assert.ok(stored, output);
	assert.match(output, new RegExp(`^bob: msg_id ${stored[1]} from alice: Hello from Node, `, 'm'));
	assert.match(output, new RegExp(`^  ${stored[1]} alice -> bob: Hello from Node, `, 'm'));
});
