// chat.js: the imgate chat page (web/index.html), on the JavaScript client
// of clients/js (./imgate.js, docs/clients-js.md). Plain DOM, no framework.
//
// A conversation is a peer uid ('u:bob') or a group ('g:team'). Each keeps
// its messages by msg_id (deliveries, HISTORY pages and acknowledged sends
// meet there without duplicates) and its sends still waiting for their ack.
// sessionStorage remembers the uid, device, URL and open conversation of this
// tab across a reload; the token is never stored.
import { connect, defaultUrl } from './imgate.js';

const $ = (id) => document.getElementById(id);
const HISTORY_PAGE = 30;
const STORAGE_KEY = 'imgate-chat';

const ui = {
	loginView: $('login-view'),
	loginForm: $('login-form'),
	loginError: $('login-error'),
	uid: $('uid'),
	token: $('token'),
	device: $('device'),
	url: $('url'),
	loginButton: $('login'),
	chatView: $('chat-view'),
	whoami: $('whoami'),
	connection: $('connection'),
	logout: $('logout'),
	openForm: $('open-form'),
	kind: $('kind'),
	peer: $('peer'),
	conversations: $('conversations'),
	title: $('title'),
	scroller: $('scroller'),
	older: $('older'),
	historyError: $('history-error'),
	messages: $('messages'),
	sendForm: $('send-form'),
	text: $('text'),
	send: $('send'),
};

let client = null;
let me = '';
let current = null;
const conversations = new Map();

function remembered() {
	try {
		return JSON.parse(sessionStorage.getItem(STORAGE_KEY)) || {};
	} catch (e) {
		return {};
	}
}

function remember(changes) {
	sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ ...remembered(), ...changes }));
}

function el(tag, className, text) {
	const node = document.createElement(tag);
	if (className) node.className = className;
	if (text !== undefined) node.textContent = text;
	return node;
}

function timeOf(ms) {
	if (!ms) return '';
	const d = new Date(ms);
	const sameDay = d.toDateString() === new Date().toDateString();
	return sameDay
		? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
		: d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// --- conversations ---

function conversation(key) {
	let c = conversations.get(key);
	if (!c) {
		const [kind, id] = [key[0] === 'g' ? 'group' : 'user', key.slice(2)];
		c = { key, kind, id, byMsgId: new Map(), sending: [], unread: 0, loaded: false, more: false, loading: false };
		conversations.set(key, c);
		renderConversations();
	}
	return c;
}

function keyOf(message) {
	if (message.groupId) return `g:${message.groupId}`;
	return `u:${message.fromUid === me ? message.toUid : message.fromUid}`;
}

function addMessage(message, { fromHistory = false } = {}) {
	if (message.transient) return;
	const c = conversation(keyOf(message));
	if (c.byMsgId.has(message.msgId)) return;
	c.byMsgId.set(message.msgId, {
		msgId: message.msgId,
		fromUid: message.fromUid,
		text: message.text,
		timestampMs: message.timestampMs,
		status: message.fromUid === me ? 'acknowledged' : 'received',
	});
	if (!fromHistory && c !== current && message.fromUid !== me) c.unread++;
	if (c === current) renderMessages();
	else renderConversations();
}

function oldestMsgId(c) {
	let oldest = 0;
	for (const id of c.byMsgId.keys()) {
		if (oldest === 0 || id < oldest) oldest = id;
	}
	return oldest;
}

async function loadHistory(c, { older = false } = {}) {
	if (c.loading || !client) return;
	c.loading = true;
	ui.historyError.textContent = '';
	renderOlderButton();
	try {
		const page = await client.history({
			beforeMsgId: older ? oldestMsgId(c) : 0,
			limit: HISTORY_PAGE,
			withUid: c.kind === 'user' ? c.id : '',
			groupId: c.kind === 'group' ? c.id : '',
		});
		for (const m of page.messages) addMessage(m, { fromHistory: true });
		// The first page says whether older ones exist; later ones keep it current.
		if (older || !c.loaded) c.more = page.more;
		c.loaded = true;
	} catch (e) {
		if (c === current) ui.historyError.textContent = `History: ${e.statusName || e.message}`;
	} finally {
		c.loading = false;
		if (c === current) {
			const fromBottom = ui.scroller.scrollHeight - ui.scroller.scrollTop;
			renderMessages();
			// Older messages go on top without moving what is on screen.
			if (older) ui.scroller.scrollTop = ui.scroller.scrollHeight - fromBottom;
		}
	}
}

function open(kind, id) {
	const c = conversation(`${kind === 'group' ? 'g' : 'u'}:${id}`);
	current = c;
	c.unread = 0;
	remember({ conversation: c.key });
	ui.title.textContent = kind === 'group' ? `Group ${id}` : `Chat with ${id}`;
	ui.title.dataset.key = c.key;
	ui.text.disabled = false;
	ui.send.disabled = false;
	ui.historyError.textContent = '';
	renderConversations();
	renderMessages(true);
	if (!c.loaded) loadHistory(c);
	ui.text.focus();
}

// --- sending ---

function send(c, text, pending) {
	const entry = pending || { clientMsgId: client.newClientMsgId(), fromUid: me, text, timestampMs: Date.now() };
	entry.status = 'sending';
	entry.statusText = '';
	if (!pending) c.sending.push(entry);
	if (c === current) renderMessages(true);
	const sent = c.kind === 'group'
		? client.sendToGroup(c.id, text, { clientMsgId: entry.clientMsgId })
		: client.send(c.id, text, { clientMsgId: entry.clientMsgId });
	sent.then((ack) => {
		c.sending = c.sending.filter((e) => e !== entry);
		if (!c.byMsgId.has(ack.msgId)) {
			c.byMsgId.set(ack.msgId, { msgId: ack.msgId, fromUid: me, text, timestampMs: ack.timestampMs, status: 'acknowledged' });
		}
		if (c === current) renderMessages();
	}, (e) => {
		entry.status = 'failed';
		entry.statusText = e.statusName || e.message;
		if (c === current) renderMessages();
	});
}

// --- rendering ---

function renderConversations() {
	ui.conversations.replaceChildren(...[...conversations.values()].map((c) => {
		const li = el('li', c === current ? 'current' : '');
		li.dataset.key = c.key;
		const button = el('button', 'conversation-link', c.kind === 'group' ? `# ${c.id}` : c.id);
		button.type = 'button';
		button.addEventListener('click', () => open(c.kind, c.id));
		li.append(button);
		if (c.unread > 0) li.append(el('span', 'unread', String(c.unread)));
		return li;
	}));
}

function renderEntry(entry, pending) {
	const li = el('li', `message ${entry.fromUid === me ? 'mine' : 'theirs'}`);
	li.dataset.status = entry.status;
	li.dataset.from = entry.fromUid;
	if (entry.msgId) li.dataset.msgId = String(entry.msgId);
	if (entry.clientMsgId) li.dataset.clientMsgId = String(entry.clientMsgId);
	const meta = el('div', 'meta');
	meta.append(el('span', 'from', entry.fromUid === me ? 'you' : entry.fromUid), el('time', 'time', timeOf(entry.timestampMs)));
	li.append(meta, el('div', 'text', entry.text));
	const status = el('div', 'status');
	if (entry.status === 'sending') {
		status.textContent = client && client.online ? 'sending…' : 'waiting for the connection…';
	} else if (entry.status === 'failed') {
		status.textContent = `failed: ${entry.statusText}`;
		const retry = el('button', 'retry', 'Retry');
		retry.type = 'button';
		retry.addEventListener('click', () => send(current, entry.text, entry));
		status.append(' ', retry);
	} else if (entry.status === 'acknowledged') {
		status.textContent = `✓ stored, msg_id ${entry.msgId}`;
	} else {
		status.textContent = '';
	}
	li.append(status);
	return li;
}

function renderMessages(toBottom = false) {
	const c = current;
	if (!c) return;
	const atBottom = ui.scroller.scrollHeight - ui.scroller.scrollTop - ui.scroller.clientHeight < 40;
	const stored = [...c.byMsgId.values()].sort((a, b) => a.msgId - b.msgId);
	ui.messages.replaceChildren(...stored.map((e) => renderEntry(e)), ...c.sending.map((e) => renderEntry(e, true)));
	renderOlderButton();
	if (toBottom || atBottom) ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

function renderOlderButton() {
	const c = current;
	ui.older.hidden = !c || !c.more;
	ui.older.disabled = !!(c && c.loading);
	ui.older.textContent = c && c.loading ? 'Loading…' : 'Load older messages';
}

function showConnection(state, info) {
	ui.connection.dataset.state = state;
	switch (state) {
	case 'connecting':
		ui.connection.textContent = 'connecting…';
		break;
	case 'online':
		ui.connection.textContent = 'online';
		break;
	case 'reconnecting':
		ui.connection.textContent = `reconnecting in ${(info.delayMs / 1000).toFixed(1)} s`;
		ui.connection.title = info.reason || '';
		break;
	case 'closed':
		ui.connection.textContent = 'not connected';
		break;
	default:
		ui.connection.textContent = state;
	}
	if (current) renderMessages();
}

// --- login and logout ---

function showLogin(error) {
	ui.chatView.hidden = true;
	ui.loginView.hidden = false;
	ui.logout.hidden = true;
	ui.whoami.textContent = '';
	ui.loginButton.disabled = false;
	ui.loginError.textContent = error || '';
	conversations.clear();
	current = null;
	ui.messages.replaceChildren();
	ui.conversations.replaceChildren();
}

function showChat() {
	ui.loginView.hidden = true;
	ui.chatView.hidden = false;
	ui.logout.hidden = false;
	ui.whoami.textContent = me;
	ui.title.textContent = 'Pick a user or a group';
	delete ui.title.dataset.key;
	ui.text.disabled = true;
	ui.send.disabled = true;
}

function describeEnd(error) {
	if (error.kick) {
		if (error.kick.reasonName === 'DUPLICATE_LOGIN') return 'Logged out: this uid logged in somewhere else (DUPLICATE_LOGIN).';
		return `Logged out by the server: ${error.kick.reasonName}${error.kick.message ? ` (${error.kick.message})` : ''}.`;
	}
	if (error.statusName === 'CLOSED') return '';
	return `Login failed: ${error.message}`;
}

async function login(event) {
	event.preventDefault();
	if (client) return;
	const uid = ui.uid.value.trim();
	const device = ui.device.value.trim();
	const url = ui.url.value.trim() || defaultUrl(location);
	remember({ uid, device, url });
	ui.loginError.textContent = '';
	ui.loginButton.disabled = true;
	// Until the first login succeeds, the button cancels the attempts.
	ui.logout.hidden = false;
	me = uid;
	const c = connect(url);
	client = c;
	c.on('state', (state, info) => {
		if (client === c) showConnection(state, info);
	});
	c.on('message', (m) => {
		if (client === c) addMessage(m);
	});
	c.on('login', () => {
		// After a reconnect: what this tab sent elsewhere or missed is in HISTORY.
		if (client === c && current && current.loaded) loadHistory(current);
	});
	c.on('closed', (error) => {
		if (client !== c) return;
		client = null;
		showLogin(describeEnd(error));
	});
	try {
		await c.login({ uid, token: ui.token.value, device, carbons: true });
	} catch (e) {
		return;
	}
	showChat();
	const last = remembered().conversation;
	if (last) open(last[0] === 'g' ? 'group' : 'user', last.slice(2));
}

function logout() {
	if (client) client.close();
}

// --- wiring ---

ui.loginForm.addEventListener('submit', login);
ui.logout.addEventListener('click', logout);
ui.openForm.addEventListener('submit', (event) => {
	event.preventDefault();
	const id = ui.peer.value.trim();
	if (id) open(ui.kind.value, id);
	ui.peer.value = '';
});
ui.sendForm.addEventListener('submit', (event) => {
	event.preventDefault();
	const text = ui.text.value;
	if (!current || !client || text.trim() === '') return;
	ui.text.value = '';
	send(current, text);
});
ui.older.addEventListener('click', () => {
	if (current) loadHistory(current, { older: true });
});

const saved = remembered();
ui.uid.value = saved.uid || '';
ui.device.value = saved.device || '';
ui.url.value = saved.url || defaultUrl(location);
document.body.dataset.ready = 'true';
