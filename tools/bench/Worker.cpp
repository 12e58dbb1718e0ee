//
// Worker.cpp
//
// imgate-bench: one load-generator thread.
//

#include "tools/bench/Worker.h"
#include "server/protocol/FrameEncoder.h"
#include "tools/imgate-cli/WebSocketFramer.h"
#include "imgate/v1/imgate.pb.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace imgate {
namespace bench {

using protocol::Command;
using protocol::FrameEncoder;
using protocol::Status;

namespace {

constexpr unsigned MAX_PENDING = 512;          /// Connects and logins in flight per worker.
constexpr std::size_t READ_BUFFER = 64 * 1024;
constexpr std::uint32_t MAX_BODY = 1024 * 1024;
constexpr std::size_t PAYLOAD_HEADER = 24;     /// Sender index, sequence, send time: 8 bytes each.
constexpr std::size_t MIX_HEADER = 32;         /// mix: and the receiver's index.
constexpr std::size_t MAX_UPGRADE_ANSWER = 8192;

sockaddr_in ipv4(const std::string& address, unsigned port)
{
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_port = htons(static_cast<std::uint16_t>(port));
	if (inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
		throw std::invalid_argument("not an IPv4 address: " + address);
	return a;
}

void put64(char* to, std::uint64_t v)
{
	std::memcpy(to, &v, sizeof(v));
}

std::uint64_t get64(const char* from)
{
	std::uint64_t v;
	std::memcpy(&v, from, sizeof(v));
	return v;
}

} // namespace


void SslFree::operator () (ssl_st* pSsl) const
{
	SSL_free(pSsl);
}


Worker::Worker(Run& run, unsigned number, Counters& counters):
	_run(run),
	_counters(counters),
	_epoll(epoll_create1(EPOLL_CLOEXEC)),
	_server(ipv4(run.options.host, run.options.port)),
	_splitServer(ipv4(run.options.host, run.options.splitPort ? run.options.splitPort : run.options.port)),
	_random(0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(nowNs()) + number)),
	_tls(run.options.secure()),
	_ws(!run.options.ws.empty()),
	_mqtt(run.options.protocol == "mqtt"),
	_group(run.options.scenario == "group"),
	_fanIn(_group || run.options.scenario == "history"),
	_rated(_group && run.options.rate > 0),
	_mix(run.options.scenario == "mix")
{
	if (_epoll < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
	// msg: both sessions of a pair on one worker (at MQTT QoS 0 the
	// receiver frees its sender's window). group: a group's members spread
	// over every worker, and so do mix's sessions.
	for (unsigned i = 0; i < run.sessions.size(); ++i)
	{
		if ((_fanIn || _mix ? i : i / 2) % run.options.threads != number) continue;
		_mine.push_back(i);
		if (run.sessions[i].slot >= 0) _senders.push_back(i);
	}
	if (_rated) _intervalNs = static_cast<std::int64_t>(1e9 * run.options.senders / run.options.rate);
	for (const auto& source: run.options.sources) _sources.push_back(ipv4(source, 0));
}


Worker::~Worker()
{
	::close(_epoll);
}


void Worker::operator () ()
{
	std::vector<epoll_event> events(256);
	bool sending = false;
	while (true)
	{
		const Phase phase = _run.current();
		if (phase == Phase::STOP) break;
		const std::int64_t now = nowNs();
		if (phase == Phase::CONNECT) openMore(now);
		const bool sendPhase = phase == Phase::WARMUP || phase == Phase::MEASURE;
		if (!sending && sendPhase)
		{
			sending = true;
			if (_mix) startMix(now);
			else for (unsigned i: _mine) fillWindow(_run.sessions[i]);
		}
		if (_rated && sending) for (unsigned i: _senders) fillWindow(_run.sessions[i]);
		if (_mix && sendPhase) sendDue(now);
		heartbeats(now);
		for (unsigned i: _dirty) flush(_run.sessions[i]);
		_dirty.clear();
		// On a schedule, wake every millisecond for the sends that fall
		// due; mix: when the next one is due.
		const int n = epoll_wait(_epoll, events.data(), static_cast<int>(events.size()), waitMs(_mix && sendPhase));
		_turnNs = nowNs();
		for (int k = 0; k < n; ++k) onEvent(_run.sessions[events[k].data.u32], events[k].events);
		for (unsigned i: _dirty) flush(_run.sessions[i]);
		_dirty.clear();
	}
	for (unsigned i: _mine) closeSession(_run.sessions[i]);
}


void Worker::closeSession(BenchSession& s)
{
	s.pSsl.reset();
	if (s.fd >= 0) ::close(s.fd); // also leaves the epoll set
	s.fd = -1;
	s.out.clear();
	s.wsIn.clear();
	s.wsIn.shrink_to_fit();
}


void Worker::openMore(std::int64_t now)
{
	std::size_t allowed = _mine.size();
	if (_run.options.rate > 0 && _run.options.scenario == "conn") // group: --rate is messages
	{
		const double seconds = static_cast<double>(now - _run.startNs) / 1e9;
		const double share = _run.options.rate / _run.options.threads;
		allowed = std::min(allowed, static_cast<std::size_t>(share * seconds) + 1);
	}
	while (_nextToOpen < allowed && _pending < MAX_PENDING) open(_run.sessions[_mine[_nextToOpen++]]);
}


void Worker::open(BenchSession& s)
{
	s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s.fd < 0)
	{
		++_counters.connectFailed;
		s.state = BenchSession::GONE;
		return;
	}
	int one = 1;
	::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	// The source address only; the port is picked at connect() (a plain
	// bind() looks for a port unique to the address alone: slow, and it
	// runs out at 28,000).
	::setsockopt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	const sockaddr_in& source = _sources[s.index % _sources.size()];
	::bind(s.fd, reinterpret_cast<const sockaddr*>(&source), sizeof(source));
	s.pDecoder.reset(new protocol::FrameDecoder(MAX_BODY));
	++_pending;
	s.state = BenchSession::CONNECTING;
	epoll_event e{};
	e.events = EPOLLIN | EPOLLOUT;
	e.data.u32 = s.index;
	s.wantWrite = true;
	::epoll_ctl(_epoll, EPOLL_CTL_ADD, s.fd, &e);
	// --split-port: a pair's second session on another node of a cluster.
	const sockaddr_in& server = s.index % 2 == 1 && _run.options.scenario == "msg" ? _splitServer : _server;
	if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0 && errno != EINPROGRESS)
		fail(s, false);
}


void Worker::onEvent(BenchSession& s, unsigned events)
{
	if (s.state == BenchSession::GONE) return;
	if (s.state == BenchSession::CONNECTING)
	{
		onConnected(s);
		return;
	}
	if (s.state == BenchSession::HANDSHAKING)
	{
		onHandshake(s);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) onReadable(s);
	if (s.state != BenchSession::GONE && (events & EPOLLOUT)) flush(s);
}


void Worker::onConnected(BenchSession& s)
{
	int error = 0;
	socklen_t length = sizeof(error);
	if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
	{
		fail(s, false);
		return;
	}
	if (_tls)
	{
		try
		{
			s.pSsl.reset(_run.pTls->newSsl(_run.options.host));
		}
		catch (std::exception&)
		{
			fail(s, false);
			return;
		}
		SSL_set_fd(s.pSsl.get(), s.fd);
		s.state = BenchSession::HANDSHAKING;
		onHandshake(s);
		return;
	}
	onTransportReady(s);
}


void Worker::onHandshake(BenchSession& s)
{
	ERR_clear_error();
	const int r = SSL_connect(s.pSsl.get());
	if (r == 1)
	{
		onTransportReady(s);
		return;
	}
	switch (SSL_get_error(s.pSsl.get(), r))
	{
	case SSL_ERROR_WANT_READ:
		watch(s, false);
		return;
	case SSL_ERROR_WANT_WRITE:
		watch(s, true);
		return;
	default:
		ERR_clear_error();
		fail(s, false);
	}
}


void Worker::onTransportReady(BenchSession& s)
{
	watch(s, false);
	if (_ws)
	{
		s.state = BenchSession::UPGRADING;
		s.maskKey = static_cast<std::uint32_t>(random64() >> 16);
		append(s);
		s.out += _run.upgradeRequest;
		s.lastSendNs = nowNs();
		return;
	}
	startLogin(s);
}


void Worker::startLogin(BenchSession& s)
{
	s.state = BenchSession::LOGGING_IN;
	append(s);
	const std::size_t start = s.out.size();
	if (_mqtt)
	{
		// Logged in = CONNACK and then SUBACK for the session's own topic.
		mqtt::appendConnect(s.out, s.uid, static_cast<std::uint16_t>(std::min(65535u, 3 * _run.options.heartbeat)));
		const std::string topic = _group ? _run.groups[s.group].topic : "bench/" + s.uid;
		mqtt::appendSubscribe(s.out, 1, topic, static_cast<std::uint8_t>(_run.options.qos));
		seal(s, start);
	}
	else
	{
		imgate::v1::LoginRequest login;
		login.set_uid(s.uid);
		login.set_token(s.token);
		login.set_device("imgate-bench");
		FrameEncoder::append(s.out, Command::LOGIN, Status::OK, ++s.seq, login);
		seal(s, start);
	}
	s.lastSendNs = nowNs();
}


void Worker::onReadable(BenchSession& s)
{
	static thread_local std::vector<char> buffer(READ_BUFFER);
	std::vector<std::uint64_t> deliveredIds;
	for (int round = 0; round < 4 && s.state != BenchSession::GONE; ++round)
	{
		const ssize_t n = readBytes(s, buffer.data(), buffer.size());
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		{
			fail(s, s.state == BenchSession::LOGGED_IN);
			return;
		}
		if (n < 0) break;
		onInput(s, buffer.data(), static_cast<std::size_t>(n), deliveredIds);
		// TLS hands out one record (16 KiB at most) per read: read on.
		if (!_tls && static_cast<std::size_t>(n) < buffer.size()) break;
	}
	if (!deliveredIds.empty() && s.state != BenchSession::GONE)
	{
		// One MSG_DELIVER_ACK per read, for every delivery in it.
		imgate::v1::MessageDeliverAck ack;
		for (std::uint64_t id: deliveredIds) ack.add_msg_ids(id);
		append(s);
		const std::size_t start = s.out.size();
		FrameEncoder::append(s.out, Command::MSG_DELIVER_ACK, Status::OK, ++s.seq, ack);
		seal(s, start);
	}
}


ssize_t Worker::readBytes(BenchSession& s, char* buffer, std::size_t size)
{
	if (!s.pSsl) return ::recv(s.fd, buffer, size, 0);
	ERR_clear_error();
	const int n = SSL_read(s.pSsl.get(), buffer, static_cast<int>(size));
	if (n > 0) return n;
	switch (SSL_get_error(s.pSsl.get(), n))
	{
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE: // a TLS 1.3 key update's answer is waiting
		watch(s, true);
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		errno = ECONNRESET;
		return -1;
	}
}


void Worker::onInput(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds)
{
	if (s.state == BenchSession::UPGRADING) onUpgradeAnswer(s, data, size, deliveredIds);
	else if (_ws) onWebSocketInput(s, data, size, deliveredIds);
	else onProtocolInput(s, data, size, deliveredIds);
}


void Worker::onUpgradeAnswer(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds)
{
	s.wsIn.append(data, size);
	const std::string::size_type end = s.wsIn.find("\r\n\r\n");
	if (end == std::string::npos)
	{
		if (s.wsIn.size() > MAX_UPGRADE_ANSWER) fail(s, false);
		return;
	}
	// Only "101" counts; the tests check the rest of the answer (ImgateClient).
	if (s.wsIn.compare(0, 13, "HTTP/1.1 101 ") != 0)
	{
		refused(s);
		return;
	}
	std::string rest = s.wsIn.substr(end + 4);
	s.wsIn.clear();
	startLogin(s);
	if (!rest.empty()) onWebSocketInput(s, rest.data(), rest.size(), deliveredIds);
}


void Worker::onWebSocketInput(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds)
{
	// As onMqttInput: parse in place while frames are whole; keep only a
	// trailing partial one.
	const bool buffered = !s.wsIn.empty();
	if (buffered)
	{
		s.wsIn.append(data, size);
		data = s.wsIn.data();
		size = s.wsIn.size();
	}
	std::size_t at = 0;
	while (s.state != BenchSession::GONE)
	{
		client::WebSocketFramer::Frame frame;
		const long used = client::WebSocketFramer::parse(data + at, size - at, frame, MAX_BODY + 64);
		if (used == 0) break;
		if (used < 0 || frame.masked)
		{
			fail(s, s.state == BenchSession::LOGGED_IN);
			return;
		}
		at += static_cast<std::size_t>(used);
		switch (frame.opcode)
		{
		case client::WebSocketFramer::BINARY:
		case client::WebSocketFramer::CONTINUATION:
			onProtocolInput(s, frame.payload, frame.length, deliveredIds);
			break;
		case client::WebSocketFramer::PING:
			{
				append(s);
				const std::size_t start = s.out.size();
				s.out.append(frame.payload, frame.length);
				seal(s, start, client::WebSocketFramer::PONG);
			}
			break;
		case client::WebSocketFramer::PONG:
			break;
		default: // CLOSE, TEXT
			fail(s, s.state == BenchSession::LOGGED_IN);
			return;
		}
	}
	if (s.state == BenchSession::GONE) return;
	if (buffered) s.wsIn.erase(0, at);
	else s.wsIn.assign(data + at, size - at);
}


void Worker::onProtocolInput(BenchSession& s, const char* data, std::size_t size, std::vector<std::uint64_t>& deliveredIds)
{
	if (_mqtt)
	{
		onMqttInput(s, data, size);
		return;
	}
	protocol::FrameDecoder::Result r = s.pDecoder->feed(data, size);
	while (r == protocol::FrameDecoder::FRAME)
	{
		onFrame(s, s.pDecoder->frame(), deliveredIds);
		if (s.state == BenchSession::GONE) return;
		r = s.pDecoder->next();
	}
	if (r != protocol::FrameDecoder::NEED_MORE) fail(s, true);
}


void Worker::seal(BenchSession& s, std::size_t start, unsigned opcode)
{
	if (!_ws) return;
	_sealScratch.assign(s.out, start, std::string::npos);
	s.out.resize(start);
	client::WebSocketFramer::appendMasked(s.out, opcode, _sealScratch.data(), _sealScratch.size(), s.maskKey);
}


void Worker::onFrame(BenchSession& s, const protocol::Frame& frame, std::vector<std::uint64_t>& deliveredIds)
{
	switch (static_cast<Command>(frame.cmd))
	{
	case Command::LOGIN_RESP:
		if (s.state != BenchSession::LOGGING_IN) return;
		if (frame.status != static_cast<std::uint16_t>(Status::OK)) refused(s);
		else loggedIn(s);
		return;
	case Command::MSG_SEND_ACK:
		{
			imgate::v1::MessageSendAck ack;
			if (!ack.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength))) return;
			accepted(s, ack.client_msg_id() - _run.clientIdBase, frame.status == static_cast<std::uint16_t>(Status::OK));
		}
		return;
	case Command::MSG_DELIVER:
		{
			imgate::v1::MessageDeliver deliver;
			if (!deliver.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength))) return;
			deliveredIds.push_back(deliver.msg_id());
			if (_group && deliver.group_id() != _run.groups[s.group].gid)
			{
				_counters.delivered.fetch_add(1, std::memory_order_relaxed);
				_counters.foreign.fetch_add(1, std::memory_order_relaxed);
				return;
			}
			onPayload(s, deliver.payload().data(), deliver.payload().size(), deliver.msg_id());
		}
		return;
	case Command::KICK:
	case Command::ERROR:
		fail(s, s.state == BenchSession::LOGGED_IN);
		return;
	default:
		return;
	}
}


void Worker::fillWindow(BenchSession& s)
{
	if (_mix) return; // sends on its schedule only (sendDue)
	const Phase phase = _run.current();
	if (phase != Phase::WARMUP && phase != Phase::MEASURE) return;
	if (s.state != BenchSession::LOGGED_IN) return;
	if (_fanIn && s.slot < 0) return;
	const Options& o = _run.options;
	if (s.inflight >= o.window) return;
	const std::int64_t now = nowNs();
	if (_rated && now < s.nextDueNs) return;
	if (s.quota && s.acceptedCount + s.inflight >= s.quota) return;
	append(s);
	imgate::v1::MessageSend m;
	std::string topic;
	if (_group)
	{
		const GroupInfo& g = _run.groups[s.group];
		topic = g.topic;
		m.set_to_group(g.gid);
	}
	else
	{
		const std::string& peer = _run.sessions[s.peer].uid;
		topic = "bench/" + peer;
		m.set_to_uid(peer);
	}
	_scratch.assign(o.payload, 'x');
	put64(&_scratch[0], s.index);
	std::size_t start = s.out.size();
	while (s.inflight < o.window)
	{
		if (_rated)
		{
			// Behind schedule (the window was full), the sends due go out
			// at once; the report says how far behind a sender ended.
			if (now < s.nextDueNs) break;
			s.nextDueNs += _intervalNs;
		}
		if (s.quota && s.acceptedCount + s.inflight >= s.quota) break;
		const std::uint64_t seq = s.nextMessage++;
		put64(&_scratch[8], seq);
		const std::int64_t sentNs = nowNs();
		put64(&_scratch[16], static_cast<std::uint64_t>(sentNs));
		if (_fanIn)
		{
			if (s.sentNs.size() <= seq) s.sentNs.resize(std::max<std::size_t>(seq + 1, s.sentNs.size() * 2), 0);
			s.sentNs[seq] = sentNs;
		}
		if (_mqtt)
		{
			// Packet ids cycle through 1..65535; the window (at most 4096)
			// keeps those in flight unique.
			mqtt::appendPublish(s.out, topic, o.qos, static_cast<std::uint16_t>((seq - 1) % 65535 + 1), _scratch);
		}
		else
		{
			m.set_client_msg_id(_run.clientIdBase + seq);
			m.set_payload(_scratch);
			FrameEncoder::append(s.out, Command::MSG_SEND, Status::OK, ++s.seq, m);
		}
		seal(s, start);
		start = s.out.size();
		if (s.ackedOk.size() <= seq) s.ackedOk.resize(std::max<std::size_t>(seq + 1, s.ackedOk.size() * 2), false);
		// QoS 0 has no acknowledgement: what was sent counts as accepted,
		// and is lost if the peer never receives it.
		if (_mqtt && o.qos == 0)
		{
			s.ackedOk[seq] = true;
			_counters.acceptedOk.fetch_add(1, std::memory_order_relaxed);
		}
		++s.inflight;
		_counters.sent.fetch_add(1, std::memory_order_relaxed);
	}
	s.lastSendNs = nowNs();
}


int Worker::waitMs(bool mixSending) const
{
	if (_rated) return 1;
	if (!mixSending || _due.empty()) return 5;
	const std::int64_t wait = _due.top().first - nowNs();
	if (wait <= 0) return 0;
	return static_cast<int>(std::min<std::int64_t>(5, (wait + 999999) / 1000000));
}


std::uint64_t Worker::random64()
{
	_random ^= _random << 13;
	_random ^= _random >> 7;
	_random ^= _random << 17;
	return _random;
}


void Worker::startMix(std::int64_t now)
{
	const std::uint64_t interval = static_cast<std::uint64_t>(_run.mixIntervalNs);
	for (unsigned i: _mine)
	{
		if (_run.sessions[i].state != BenchSession::LOGGED_IN) continue;
		_due.emplace(now + static_cast<std::int64_t>(random64() % interval), i);
	}
}


void Worker::sendDue(std::int64_t now)
{
	while (!_due.empty() && _due.top().first <= now)
	{
		const Due due = _due.top();
		_due.pop();
		BenchSession& s = _run.sessions[due.second];
		if (s.state != BenchSession::LOGGED_IN) continue; // gone: its schedule ends
		if (s.nextMessage > _run.mixCapacity) ++_counters.skipped;
		else sendMix(s, due.first);
		_due.emplace(due.first + _run.mixIntervalNs, due.second);
	}
}


void Worker::sendMix(BenchSession& s, std::int64_t dueNs)
{
	const Options& o = _run.options;
	// Uniform over the other sessions.
	const std::uint64_t others = _run.sessions.size() - 1;
	unsigned to = static_cast<unsigned>(random64() % others);
	if (to >= s.index) ++to;
	const BenchSession& receiver = _run.sessions[to]; // its uid only: set before the workers started
	const std::uint64_t seq = s.nextMessage++;
	s.sentTo[seq] = to;
	append(s);
	const std::size_t start = s.out.size();
	_scratch.assign(o.payload, 'x');
	put64(&_scratch[0], s.index);
	put64(&_scratch[8], seq);
	const std::int64_t sentNs = nowNs();
	put64(&_scratch[16], static_cast<std::uint64_t>(sentNs));
	put64(&_scratch[24], to);
	if (_mqtt)
	{
		mqtt::appendPublish(s.out, "bench/" + receiver.uid, o.qos, static_cast<std::uint16_t>((seq - 1) % 65535 + 1), _scratch);
	}
	else
	{
		imgate::v1::MessageSend m;
		m.set_to_uid(receiver.uid);
		m.set_client_msg_id(_run.clientIdBase + seq);
		m.set_payload(_scratch);
		FrameEncoder::append(s.out, Command::MSG_SEND, Status::OK, ++s.seq, m);
	}
	seal(s, start);
	if (_mqtt && o.qos == 0)
	{
		s.ackedOk[seq] = true;
		_counters.acceptedOk.fetch_add(1, std::memory_order_relaxed);
	}
	else ++s.inflight;
	_counters.sent.fetch_add(1, std::memory_order_relaxed);
	s.lastSendNs = sentNs;
	if (_run.current() == Phase::MEASURE) _counters.sendLagNs.push_back(sentNs - dueNs);
}


void Worker::onMixPayload(BenchSession& s, const char* payload, std::size_t size)
{
	_counters.delivered.fetch_add(1, std::memory_order_relaxed);
	const std::uint64_t sender = size >= MIX_HEADER ? get64(payload) : _run.sessions.size();
	const std::uint64_t seq = size >= MIX_HEADER ? get64(payload + 8) : 0;
	// Only for this session, from another, within the sender's sequences:
	// then this worker alone writes that arrivalOrder element.
	if (sender >= _run.sessions.size() || sender == s.index || get64(payload + 24) != s.index || seq == 0 || seq > _run.mixCapacity)
	{
		_counters.foreign.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	std::uint32_t& order = _run.sessions[sender].arrivalOrder[seq];
	if (order != 0)
	{
		_counters.duplicated.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	order = ++s.arrivals;
	if (_run.current() == Phase::MEASURE)
	{
		++_counters.deliveredMeasured;
		_counters.latencyNs.push_back(nowNs() - static_cast<std::int64_t>(get64(payload + 16)));
	}
}


void Worker::heartbeats(std::int64_t now)
{
	if (now - _lastHeartbeatScan < 1000000000LL) return;
	_lastHeartbeatScan = now;
	const std::int64_t interval = static_cast<std::int64_t>(_run.options.heartbeat) * 1000000000LL;
	for (unsigned i: _mine)
	{
		BenchSession& s = _run.sessions[i];
		if (s.state != BenchSession::LOGGED_IN || now - s.lastSendNs < interval) continue;
		append(s);
		const std::size_t start = s.out.size();
		if (_mqtt) mqtt::appendPingreq(s.out);
		else FrameEncoder::append(s.out, Command::HEARTBEAT, Status::OK, ++s.seq);
		seal(s, start);
		s.lastSendNs = now;
	}
}


void Worker::flush(BenchSession& s)
{
	if (s.fd < 0 || s.out.empty() || s.state == BenchSession::CONNECTING || s.state == BenchSession::HANDSHAKING) return;
	ssize_t n;
	if (s.pSsl)
	{
		ERR_clear_error();
		const int w = SSL_write(s.pSsl.get(), s.out.data(), static_cast<int>(s.out.size()));
		if (w <= 0)
		{
			const int error = SSL_get_error(s.pSsl.get(), w);
			// Retried with the same bytes first (s.out only grows at its end).
			if (error == SSL_ERROR_WANT_WRITE) watch(s, true);
			else if (error == SSL_ERROR_WANT_READ) watch(s, false);
			else
			{
				ERR_clear_error();
				fail(s, s.state == BenchSession::LOGGED_IN);
			}
			return;
		}
		n = w;
	}
	else
	{
		n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
		if (n < 0)
		{
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) watch(s, true);
			else fail(s, s.state == BenchSession::LOGGED_IN);
			return;
		}
	}
	s.out.erase(0, static_cast<std::size_t>(n));
	watch(s, !s.out.empty());
}


void Worker::fail(BenchSession& s, bool afterLogin)
{
	if (s.state == BenchSession::GONE) return;
	if (s.state != BenchSession::LOGGED_IN && s.state != BenchSession::IDLE)
	{
		--_pending;
		++_counters.connectFailed;
	}
	else if (afterLogin && _run.current() != Phase::STOP) ++_counters.disconnected;
	s.state = BenchSession::GONE;
	closeSession(s);
}


void Worker::onMqttInput(BenchSession& s, const char* data, std::size_t size)
{
	// Parse in place while packets are whole; keep only a trailing partial one.
	const bool buffered = !s.in.empty();
	if (buffered)
	{
		s.in.append(data, size);
		data = s.in.data();
		size = s.in.size();
	}
	std::size_t at = 0;
	while (s.state != BenchSession::GONE)
	{
		mqtt::Packet packet;
		const int used = mqtt::parse(data + at, size - at, packet);
		if (used < 0)
		{
			fail(s, true);
			return;
		}
		if (used == 0) break;
		at += static_cast<std::size_t>(used);
		onMqttPacket(s, packet);
	}
	if (s.state == BenchSession::GONE) return;
	if (buffered) s.in.erase(0, at);
	else s.in.assign(data + at, size - at);
}


void Worker::onMqttPacket(BenchSession& s, const mqtt::Packet& packet)
{
	switch (packet.type)
	{
	case mqtt::CONNACK:
		if (packet.length < 2 || packet.body[1] != 0) refused(s); // the return code is the second byte
		return;
	case mqtt::SUBACK:
		if (s.state != BenchSession::LOGGING_IN) return;
		if (packet.length < 3 || static_cast<std::uint8_t>(packet.body[2]) == 0x80) refused(s);
		else loggedIn(s);
		return;
	case mqtt::PUBACK:
		{
			if (packet.length < 2) return;
			// The newest sequence sent with this packet id.
			const std::int64_t top = static_cast<std::int64_t>(s.nextMessage) - 1;
			const std::int64_t id = mqtt::read16(packet.body);
			const std::int64_t back = ((top - id) % 65535 + 65535) % 65535;
			accepted(s, static_cast<std::uint64_t>(top - back), true);
		}
		return;
	case mqtt::PUBLISH:
		{
			if (packet.length < 2) return;
			const std::size_t topicLength = mqtt::read16(packet.body);
			std::size_t at = 2 + topicLength;
			const unsigned qos = (packet.flags >> 1) & 3;
			if (qos > 0)
			{
				if (at + 2 > packet.length) return;
				append(s);
				const std::size_t start = s.out.size();
				mqtt::appendPuback(s.out, mqtt::read16(packet.body + at));
				seal(s, start);
				at += 2;
			}
			if (at > packet.length) return;
			onPayload(s, packet.body + at, packet.length - at, 0);
		}
		return;
	default:
		return;
	}
}


void Worker::refused(BenchSession& s)
{
	--_pending;
	++_counters.loginRefused; // not a connect failure
	s.state = BenchSession::GONE;
	closeSession(s);
}


void Worker::loggedIn(BenchSession& s)
{
	--_pending;
	s.state = BenchSession::LOGGED_IN;
	_counters.lastLoginNs = nowNs();
	_counters.loggedIn.fetch_add(1, std::memory_order_relaxed);
	fillWindow(s);
}


void Worker::accepted(BenchSession& s, std::uint64_t seq, bool ok)
{
	if (s.inflight > 0) --s.inflight;
	if (ok)
	{
		if (seq < s.ackedOk.size()) s.ackedOk[seq] = true;
		++s.acceptedCount;
		_counters.acceptedOk.fetch_add(1, std::memory_order_relaxed);
	}
	else ++_counters.refused;
	fillWindow(s);
}


void Worker::onPayload(BenchSession& s, const char* payload, std::size_t size, std::uint64_t msgId)
{
	if (_mix)
	{
		onMixPayload(s, payload, size);
		return;
	}
	if (_fanIn)
	{
		onFanInPayload(s, payload, size, msgId);
		return;
	}
	_counters.delivered.fetch_add(1, std::memory_order_relaxed);
	if (size < PAYLOAD_HEADER || get64(payload) != s.peer)
	{
		_counters.foreign.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	const std::uint64_t seq = get64(payload + 8);
	const std::int64_t sentNs = static_cast<std::int64_t>(get64(payload + 16));
	if (seq >= s.received.size()) s.received.resize(std::max<std::size_t>(seq + 1, s.received.size() * 2), false);
	if (s.received[seq])
	{
		_counters.duplicated.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	s.received[seq] = true;
	if (seq < s.maxReceived) ++_counters.reordered;
	else s.maxReceived = seq;
	if (_mqtt && _run.options.qos == 0)
	{
		// The sender's window is end to end (it is on this worker).
		BenchSession& sender = _run.sessions[s.peer];
		if (sender.inflight > 0) --sender.inflight;
		fillWindow(sender);
	}
	if (_run.current() == Phase::MEASURE)
	{
		++_counters.deliveredMeasured;
		_counters.latencyNs.push_back(nowNs() - sentNs);
	}
}


void Worker::onFanInPayload(BenchSession& s, const char* payload, std::size_t size, std::uint64_t msgId)
{
	const std::uint64_t sender = size >= PAYLOAD_HEADER ? get64(payload) : _run.sessions.size();
	// MQTT has no "no local": a sending member gets its own PUBLISH back
	// (acknowledged above, not counted). imgate must never send it.
	if (_mqtt && sender == s.index) return;
	_counters.delivered.fetch_add(1, std::memory_order_relaxed);
	if (sender >= _run.sessions.size())
	{
		_counters.foreign.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	const BenchSession& from = _run.sessions[sender];
	const bool fits = _group ? from.group == s.group : s.slot < 0 && from.peer == s.index;
	if (from.slot < 0 || !fits || sender == s.index || static_cast<std::size_t>(from.slot) >= s.arrivalNs.size())
	{
		_counters.foreign.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	const std::uint64_t seq = get64(payload + 8);
	std::vector<std::int64_t>& arrivals = s.arrivalNs[static_cast<std::size_t>(from.slot)];
	if (seq >= arrivals.size()) arrivals.resize(std::max<std::size_t>(seq + 1, arrivals.size() * 2), 0);
	if (arrivals[seq] != 0)
	{
		_counters.duplicated.fetch_add(1, std::memory_order_relaxed);
		return;
	}
	// When epoll said the input was there: a delivery's time does not
	// include the generator's work on the deliveries before it in the
	// same turn (1,000 members get one message at once).
	arrivals[seq] = _turnNs;
	if (!_mqtt)
	{
		// The accepted order is the msg_id order: every member must see
		// its group's msg_ids increase (contract 4, and 1.1 section 4).
		if (msgId <= s.lastMsgId) ++_counters.reordered;
		else s.lastMsgId = msgId;
		if (s.firstMsgId == 0 || msgId < s.firstMsgId) s.firstMsgId = msgId;
	}
	else
	{
		// One publisher's messages on one topic keep its order (QoS 1).
		std::uint64_t& max = s.maxSeqBySlot[static_cast<std::size_t>(from.slot)];
		if (seq < max) ++_counters.reordered;
		else max = seq;
	}
}


void Worker::append(BenchSession& s)
{
	if (s.out.empty()) _dirty.push_back(s.index);
}


void Worker::watch(BenchSession& s, bool write)
{
	if (s.wantWrite == write || s.fd < 0) return;
	s.wantWrite = write;
	epoll_event e{};
	e.events = EPOLLIN | (write ? EPOLLOUT : 0u);
	e.data.u32 = s.index;
	::epoll_ctl(_epoll, EPOLL_CTL_MOD, s.fd, &e);
}

} } // namespace imgate::bench
