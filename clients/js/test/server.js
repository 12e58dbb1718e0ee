// server.js: a real imgated for the JavaScript client's tests, on 127.0.0.1
// with ports picked by the kernel (port 0), read back from its start-up log.
//
// Environment: IMGATED, the server binary; IMGATE_SOURCE_DIR, the repository
// (for tests/support/make-test-certs.sh).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls predicate every 20 ms until it is truthy or timeoutMs passed. */
export async function waitFor(predicate, timeoutMs, what) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await predicate();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(20);
	}
}

/**
 * A port free on 127.0.0.1 a moment ago: imgated's websocket.port 0 means
 * "no WebSocket listener", so the test picks one (as the C++ tests do).
 */
export function freePort() {
	return new Promise((resolve, reject) => {
		const probe = createServer();
		probe.on('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address();
			probe.close(() => resolve(port));
		});
	});
}

/** Makes the test CA and server certificates in DIR/certs. */
export function makeCertificates(dir) {
	const certs = join(dir, 'certs');
	execFileSync('bash', [join(process.env.IMGATE_SOURCE_DIR, 'tests/support/make-test-certs.sh'), certs]);
	return certs;
}

export class Server {
	/**
	 * Starts imgated with the test defaults (anonymous login, WebSocket on,
	 * the admin API without a token) plus settings, which win. dir: reuse a
	 * folder (and its store) of an earlier server.
	 */
	static async start(settings = {}, { dir } = {}) {
		const server = new Server(dir || mkdtempSync(join(tmpdir(), 'imgate-js-test-')));
		server.ownsDir = !dir;
		// Another process may take the free port before imgated binds it: try again.
		for (let attempt = 1; ; attempt++) {
			try {
				await server._start({ 'websocket.port': String(await freePort()), ...settings });
				return server;
			} catch (e) {
				if (attempt < 3 && /in use/i.test(server.log())) continue;
				await server.dispose();
				throw e;
			}
		}
	}

	constructor(dir) {
		this.dir = dir;
		this.ownsDir = true;
		this.exited = true;
	}

	async _start(overrides) {
		const settings = {
			'server.address': '127.0.0.1',
			'server.port': '0',
			'server.ioThreads': '2',
			'auth.allowAnonymous': 'true',
			'admin.address': '127.0.0.1',
			'admin.port': '0',
			'admin.allowNoToken': 'true',
			'store.path': join(this.dir, 'imgate.db'),
			...overrides,
		};
		this.settings = settings;
		const config = join(this.dir, 'imgate.properties');
		writeFileSync(config, Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join(''));
		this.logPath = join(this.dir, `imgated-${Date.now()}.log`);
		const fd = openSync(this.logPath, 'w');
		const imgated = process.env.IMGATED;
		if (!imgated) throw new Error('IMGATED must name the imgated binary');
		this.process = spawn(imgated, [`--config=${config}`], { stdio: ['ignore', fd, fd] });
		closeSync(fd);
		this.exited = false;
		this.exitCode = null;
		this.process.on('exit', (code, signal) => {
			this.exited = true;
			this.exitCode = code === null ? 128 : code;
			this.exitSignal = signal;
		});
		const started = await waitFor(() => {
			const text = this.log();
			const ws = /WebSocket listening on 127\.0\.0\.1:(\d+) \((wss?), path ([^;)]+)/.exec(text);
			const admin = /admin: serving http:\/\/([^/]+)\//.exec(text);
			if (ws && admin) return { ws, admin };
			if (this.exited) throw new Error(`imgated exited (${this.exitCode}) before listening:\n${text}`);
			return null;
		}, 15000, `imgated to log "WebSocket listening on" (log: ${this.logPath})`);
		this.port = Number(started.ws[1]);
		this.scheme = started.ws[2];
		this.path = started.ws[3];
		this.url = `${this.scheme}://127.0.0.1:${this.port}${this.path}`;
		this.adminAddress = started.admin[1];
	}

	log() {
		try {
			return readFileSync(this.logPath, 'utf8');
		} catch (e) {
			return '';
		}
	}

	/** SIGTERM (the server drains: KICK SHUTDOWN), then waits for the exit. */
	async stop() {
		if (this.exited) return this.exitCode;
		this.process.kill('SIGTERM');
		try {
			await waitFor(() => this.exited, 15000, 'imgated to exit after SIGTERM');
		} catch (e) {
			this.process.kill('SIGKILL');
			await waitFor(() => this.exited, 5000, 'imgated to exit after SIGKILL');
			throw e;
		}
		return this.exitCode;
	}

	/** Another imgated on the same folder (store) and the same ports. */
	async restart(overrides = {}) {
		await this.stop();
		await this._start({ ...this.settings, 'websocket.port': String(this.port), ...overrides });
	}

	async dispose() {
		if (this.process && !this.exited) {
			this.process.kill('SIGKILL');
			await waitFor(() => this.exited, 5000, 'imgated to exit after SIGKILL');
		}
		if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
	}

	/** An admin API request; resolves with { status, body (parsed JSON or null) }. */
	admin(method, path, body) {
		const [host, port] = this.adminAddress.split(':');
		const data = body === undefined ? null : JSON.stringify(body);
		return new Promise((resolve, reject) => {
			const req = request({ host, port: Number(port), method, path, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {} }, (res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (chunk) => { text += chunk; });
				res.on('end', () => {
					let parsed = null;
					try {
						parsed = text ? JSON.parse(text) : null;
					} catch (e) {
						// Not JSON: leave null.
					}
					resolve({ status: res.statusCode, body: parsed, text });
				});
			});
			req.on('error', reject);
			if (data) req.write(data);
			req.end();
		});
	}
}
