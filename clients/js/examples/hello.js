// hello.js: alice sends bob a message over WebSocket; bob prints it, and
// then reads his conversation with alice from HISTORY.
//
//   tools/dev.sh run                              # terminal 1: imgated, WebSocket on 7800
//   node clients/js/examples/hello.js             # terminal 2
//   node clients/js/examples/hello.js ws://127.0.0.1:7800/imgate
//
// It uses the client as the build made it (build/clients/js/dist, or the
// folder IMGATE_JS_DIST names) and, where Node has no WebSocket of its own
// (before Node 22), the ws package of the build's npm ci.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = process.env.IMGATE_JS_DIST || resolve(fileURLToPath(import.meta.url), '../../../../build/clients/js/dist');
const { connect } = await import(pathToFileURL(join(dist, 'imgate.js')).href);
const WebSocket = globalThis.WebSocket || createRequire(join(dist, '../npm/package.json'))('ws');
const url = process.argv[2] || 'ws://127.0.0.1:7800/imgate';

const text = `Hello from Node, ${new Date().toISOString()}`;
const bob = connect(url, { WebSocket });
const received = new Promise((done) => {
	// Acknowledged to the server when this returns.
	bob.on('message', (m) => {
		console.log(`bob: msg_id ${m.msgId} from ${m.fromUid}: ${m.text}`);
		if (m.text === text) done();
	});
});
await bob.login({ uid: 'bob' });

const alice = connect(url, { WebSocket });
const session = await alice.login({ uid: 'alice' });
console.log(`alice: logged in, protocol ${session.protocol}, heartbeat every ${session.heartbeatIntervalS} s`);
const ack = await alice.send('bob', text);
console.log(`alice: stored as msg_id ${ack.msgId}`);
await received;

const page = await bob.history({ withUid: 'alice', limit: 3 });
console.log(`bob: newest ${page.messages.length} of the conversation with alice${page.more ? ' (more before)' : ''}:`);
for (const m of page.messages) console.log(`  ${m.msgId} ${m.fromUid} -> ${m.toUid}: ${m.text}`);
await Promise.all([alice.close(), bob.close()]);
