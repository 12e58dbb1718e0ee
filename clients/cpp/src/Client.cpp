//
// Client.cpp
//
// The client's core: one thread (its own or the caller's of runOnce())
// owns the connection, the outbox and the protocol state; other threads
// only queue sends and the close request, under _mutex, and wake it
// through an eventfd.
//

#include "imgate/client/Client.h"
#include "clients/cpp/src/Backoff.h"
#include "clients/cpp/src/OutboxFile.h"
#include "clients/cpp/src/SeenIds.h"
#include "clients/cpp/src/Transport.h"
#include "server/protocol/Command.h"
#include "server/protocol/FrameDecoder.h"
#include "server/protocol/FrameEncoder.h"
#include "tools/imgate-cli/ClientTlsContext.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Clock.h"
#include "Poco/Exception.h"
#include "Poco/Timestamp.h"
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace imgate {
namespace client {

using protocol::Command;
using protocol::FrameDecoder;
using protocol::FrameEncoder;

namespace {

struct Pending
	/// A send in the outbox.
{
	Client::Outgoing message;
	Client::SendCallback callback;
	Poco::UInt32 seq = 0; /// On the wire on this connection; 0: not (yet, or again).
};

struct HistoryRequest
	/// A HISTORY query waiting for its page.
{
	HistoryQuery query;
	std::function<void(const HistoryPage&)> callback;
	Poco::UInt32 seq = 0; /// On the wire on this connection; 0: not (yet, or again).
};


Message toMessage(const imgate::v1::MessageDeliver& deliver, const std::string& ownUid)
{
	Message message;
	message.msgId = deliver.msg_id();
	message.fromUid = deliver.from_uid();
	message.toUid = deliver.to_uid();
	message.groupId = deliver.group_id();
	message.payload = deliver.payload();
	message.timestampMs = deliver.timestamp_ms();
	message.transient = deliver.transient();
	// Sent by this uid, and not a 1:1 message to itself (contract 6).
	message.carbon = deliver.from_uid() == ownUid && !(deliver.to_uid() == ownUid && deliver.group_id().empty());
	return message;
}

} // namespace


class Client::Core
{
public:
	explicit Core(const ClientOptions& options);
	~Core();

	// Any thread.
	void queue(Pending&& pending);
	void queue(HistoryRequest&& request);
	void requestClose(Poco::Timespan wait);
	void requestAcknowledge(Poco::UInt64 msgId);
	void wake();
		/// Makes the client's thread take the requests: its poll() returns.
	State state() const;
	bool waitState(State state, Poco::Timespan timeout) const;
	std::size_t outboxSize() const;
	bool flush(Poco::Timespan timeout) const;
	int endStatus(std::string& why) const;
	Poco::UInt64 newClientMsgId();
	std::size_t maxSendBody() const { return _options.maxSendBody; }

	// The client's thread.
	bool runOnce(Poco::Timespan maxWait);

	MessageHandler messageHandler;
	StateHandler stateHandler;
	KickHandler kickHandler;
	ErrorHandler errorHandler;
	SendCallback restoredHandler;
	std::thread thread;
	std::mutex joinMutex;

	void finish();
		/// Ends the client on the calling thread (no other thread runs it):
		/// what is queued resolves with CLOSED.

private:
	enum Phase
	{
		WAITING,    /// No connection; the next attempt at _nextAttempt.
		LOGGING_IN, /// Connected, LOGIN written.
		ONLINE,
		CLOSING,    /// LOGOUT written; reading the last answers.
		ENDED
	};

	void takeRequests();
	void connect();
	void handleFrame(const protocol::Frame& frame);
	void handleLoginResponse(const protocol::Frame& frame);
	void handleSendAck(const protocol::Frame& frame);
	void handleDelivery(const protocol::Frame& frame);
	void handleKick(const protocol::Frame& frame);
	void handleHistory(const protocol::Frame& frame);
	void handleError(const protocol::Frame& frame, const std::string& message);
	std::map<Poco::UInt64, Pending>::iterator takeInFlight(Poco::UInt32 seq);
		/// The unanswered send written with seq (no longer in flight), or _outbox.end().
	bool takeHistory(Poco::UInt32 seq, HistoryRequest& request);
		/// Moves the HISTORY request written with seq out of _history; false if none.
	void answerSend(std::map<Poco::UInt64, Pending>::iterator it, SendResult result);
		/// The server's answer to a send: out of the outbox (and its file), result to the application.
	void writeHistory();
	void answer(HistoryRequest& request, HistoryPage page);
	void readAvailable();
	void writeOutbox();
	void writeAcks();
	void write(const std::string& bytes);
	void drop(const std::string& why, bool atOnce = false);
	void end(int status, const std::string& why);
	void resolve(Pending& pending, SendResult result);
	void fail(Pending& pending, int status, const std::string& why);
	void setState(State state, const std::string& why);
	void report(const std::string& what);
	template <class F, class... Args>
	bool guarded(const std::string& what, const F& callback, Args&&... args);
		/// Calls an application callback; what it throws is reported, never
		/// let through. False if it threw.
	void syncFile();
	Poco::Clock::ClockDiff nextDeadline() const;

	const ClientOptions _options;
	std::unique_ptr<ClientTlsContext> _pTls;
	std::unique_ptr<OutboxFile> _pFile;
	bool _fileFailing = false;
	bool _started = false;

	// Shared with other threads, under _mutex.
	mutable std::mutex _mutex;
	mutable std::condition_variable _stateChanged;
	std::deque<Pending> _incoming;
	std::deque<HistoryRequest> _incomingHistory;
	std::vector<Poco::UInt64> _incomingAcks;  /// acknowledge() calls not yet taken.
	bool _closeRequested = false;
	Poco::Timespan _closeWait;
	State _state = State::IDLE;
	int _endStatus = StatusCode::CLOSED; /// Once CLOSED: what later sends get at once.
	std::string _endWhy;
	std::size_t _outboxSize = 0;
	Poco::UInt64 _lastClientMsgId = 0;
	std::minstd_rand _random;
	int _wakeFd;

	// The client's thread only.
	Phase _phase = WAITING;
	std::unique_ptr<Transport> _pTransport;
	std::unique_ptr<FrameDecoder> _pDecoder;
	std::map<Poco::UInt64, Pending> _outbox;                 /// By order of send().
	Poco::UInt64 _nextOrder = 1;
	std::unordered_map<Poco::UInt32, Poco::UInt64> _inFlight; /// seq -> order.
	Poco::UInt64 _writeFrom = 0;                              /// Orders below are on the wire on this connection.
	std::vector<Poco::UInt64> _acks;
	std::deque<HistoryRequest> _history;      /// In the order asked.
	SeenIds _seen;
	std::unordered_set<Poco::UInt64> _unacknowledged; /// Handed over, waiting for acknowledge() (acknowledgeAfterHandler false).
	Backoff _backoff;
	Poco::UInt32 _seq = 0;
	Poco::UInt32 _loginSeq = 0;
	bool _refreshToken = false;
	bool _everOnline = false;
	Poco::Clock _nextAttempt;
	Poco::Clock _deadline;        /// LOGGING_IN and CLOSING: give up then.
	Poco::Clock _lastReceived;
	Poco::Clock _nextHeartbeat;
	Poco::Timespan _heartbeatInterval = Poco::Timespan(30, 0);
	std::vector<char> _buffer;
	bool _moreToWrite = false;    /// writeOutbox() stopped at MAX_WRITE_PER_TURN.

	enum
	{
		MAX_WRITE_PER_TURN = 256 * 1024
	};
};


template <class F, class... Args>
bool Client::Core::guarded(const std::string& what, const F& callback, Args&&... args)
{
	if (!callback) return true;
	try
	{
		callback(std::forward<Args>(args)...);
		return true;
	}
	catch (std::exception& exc)
	{
		report(what + " threw: " + exc.what());
	}
	catch (...)
	{
		report(what + " threw");
	}
	return false;
}


Client::Core::Core(const ClientOptions& options):
	_options(options),
	_random(std::random_device()()),
	_wakeFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
	_backoff(options.reconnectDelay, options.maxReconnectDelay),
	_buffer(64 * 1024)
{
	if (_wakeFd < 0) throw Poco::SystemException("eventfd", std::strerror(errno));
	try
	{
		if (_options.tls)
		{
			TlsOptions tls;
			tls.caFile = _options.caFile;
			tls.useSystemCAs = _options.caFile.empty();
			tls.serverName = _options.serverName;
			_pTls.reset(new ClientTlsContext(tls));
		}
		if (!_options.outboxFile.empty())
		{
			_pFile.reset(new OutboxFile(_options.outboxFile));
			for (const Outgoing& message: _pFile->restoredSends())
			{
				Pending pending;
				pending.message = message;
				_outbox.emplace(_nextOrder++, std::move(pending));
				++_outboxSize;
				if (message.clientMsgId > _lastClientMsgId) _lastClientMsgId = message.clientMsgId;
			}
			for (Poco::UInt64 id: _pFile->restoredIds()) _seen.add(id);
		}
	}
	catch (...)
	{
		::close(_wakeFd);
		throw;
	}
}


Client::Core::~Core()
{
	::close(_wakeFd);
}


void Client::Core::queue(Pending&& pending)
{
	SendResult result;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		if (_state != State::CLOSED)
		{
			_incoming.push_back(std::move(pending));
			++_outboxSize;
			wake();
			return;
		}
		result.status = _endStatus;
		result.message = _endWhy;
	}
	// The client has ended: nothing would ever send it.
	result.clientMsgId = pending.message.clientMsgId;
	if (pending.callback) pending.callback(result);
}


void Client::Core::requestClose(Poco::Timespan wait)
{
	{
		std::lock_guard<std::mutex> lock(_mutex);
		if (_closeRequested) return;
		_closeRequested = true;
		_closeWait = wait;
	}
	wake();
}


void Client::Core::queue(HistoryRequest&& request)
{
	HistoryPage page;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		if (_state != State::CLOSED)
		{
			_incomingHistory.push_back(std::move(request));
			wake();
			return;
		}
		page.status = _endStatus;
		page.message = _endWhy;
	}
	if (request.callback) request.callback(page);
}


void Client::Core::wake()
{
	const Poco::UInt64 one = 1;
	(void) !::write(_wakeFd, &one, sizeof(one));
}


void Client::Core::requestAcknowledge(Poco::UInt64 msgId)
{
	std::lock_guard<std::mutex> lock(_mutex);
	if (_state == State::CLOSED) return;
	_incomingAcks.push_back(msgId);
	wake();
}


State Client::Core::state() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return _state;
}


bool Client::Core::waitState(State state, Poco::Timespan timeout) const
{
	std::unique_lock<std::mutex> lock(_mutex);
	_stateChanged.wait_for(lock, std::chrono::microseconds(timeout.totalMicroseconds()),
		[&]() { return _state == state || _state == State::CLOSED; });
	return _state == state;
}


int Client::Core::endStatus(std::string& why) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	why = _state == State::CLOSED ? _endWhy : std::string();
	return _state == State::CLOSED ? _endStatus : StatusCode::OK;
}


bool Client::Core::flush(Poco::Timespan timeout) const
{
	std::unique_lock<std::mutex> lock(_mutex);
	return _stateChanged.wait_for(lock, std::chrono::microseconds(timeout.totalMicroseconds()), [&]() { return _outboxSize == 0; });
}


std::size_t Client::Core::outboxSize() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return _outboxSize;
}


Poco::UInt64 Client::Core::newClientMsgId()
{
	std::lock_guard<std::mutex> lock(_mutex);
	const Poco::UInt64 nowMs = static_cast<Poco::UInt64>(Poco::Timestamp().epochMicroseconds() / 1000);
	Poco::UInt64 id = nowMs * 1024 + std::uniform_int_distribution<Poco::UInt64>(0, 511)(_random);
	if (id <= _lastClientMsgId) id = _lastClientMsgId + 1;
	_lastClientMsgId = id;
	return id;
}


bool Client::Core::runOnce(Poco::Timespan maxWait)
{
	if (_phase == ENDED) return false;
	if (!_started)
	{
		_started = true;
		if (_pFile && _pFile->droppedBytes() > 0)
			report(_pFile->path() + ": dropped a torn last record (" + std::to_string(_pFile->droppedBytes()) + " bytes) of an interrupted write");
	}
	try
	{
		takeRequests();
		if (_phase == ENDED) return false;
		Poco::Clock now;
		if (_phase == WAITING && now >= _nextAttempt) connect();

		// Wait for the socket, a request, or the next deadline.
		Poco::Clock::ClockDiff wait = maxWait.totalMicroseconds();
		const Poco::Clock::ClockDiff untilDeadline = nextDeadline();
		if (untilDeadline < wait) wait = untilDeadline;
		if (wait < 0) wait = 0;
		pollfd fds[2] = {{_wakeFd, POLLIN, 0}, {_pTransport ? _pTransport->fd() : -1, POLLIN, 0}};
		const int ready = ::poll(fds, _pTransport ? 2 : 1, static_cast<int>((wait + 999) / 1000));
		if (ready > 0 && (fds[0].revents & POLLIN))
		{
			Poco::UInt64 count;
			(void) !::read(_wakeFd, &count, sizeof(count));
		}
		takeRequests();
		if (_pTransport) readAvailable();
		syncFile(); // the sends are in the file before they go to the server

		now.update();
		if ((_phase == LOGGING_IN || _phase == CLOSING) && now >= _deadline)
		{
			if (_phase == CLOSING) end(StatusCode::CLOSED, "closed");
			else drop("no LOGIN_RESP within " + std::to_string(_options.connectTimeout.totalMilliseconds()) + " ms");
		}
		if (_phase == ONLINE)
		{
			// Two intervals and a second without a frame: the connection
			// (or the server) is gone, whatever TCP says.
			const Poco::Clock::ClockDiff silence = 2 * _heartbeatInterval.totalMicroseconds() + 1000000;
			if (now - _lastReceived > silence)
			{
				drop("no frame from the server for " + std::to_string(silence / 1000) + " ms");
			}
			else
			{
				if (now >= _nextHeartbeat)
				{
					std::string frame;
					FrameEncoder::append(frame, Command::HEARTBEAT, protocol::Status::OK, ++_seq);
					write(frame);
					_nextHeartbeat = now;
					_nextHeartbeat += _heartbeatInterval.totalMicroseconds();
				}
				if (_phase == ONLINE) writeOutbox();
				if (_phase == ONLINE) writeHistory();
			}
		}
		if (_phase == ONLINE || _phase == CLOSING) writeAcks();
		syncFile();
	}
	catch (Poco::Exception& exc)
	{
		drop(exc.displayText());
	}
	catch (std::exception& exc)
	{
		drop(exc.what());
	}
	catch (...)
	{
		drop("an unknown exception");
	}
	return _phase != ENDED;
}


void Client::Core::finish()
{
	takeRequests();
	end(StatusCode::CLOSED, "the client was destroyed");
}


Poco::Clock::ClockDiff Client::Core::nextDeadline() const
{
	Poco::Clock now;
	switch (_phase)
	{
	case WAITING:
		return _nextAttempt - now;
	case LOGGING_IN:
	case CLOSING:
		return _deadline - now;
	case ONLINE:
	{
		if (_moreToWrite) return 0;
		const Poco::Clock::ClockDiff silence = 2 * _heartbeatInterval.totalMicroseconds() + 1000000;
		const Poco::Clock::ClockDiff dead = (_lastReceived - now) + silence + 1000;
		const Poco::Clock::ClockDiff beat = _nextHeartbeat - now;
		return beat < dead ? beat : dead;
	}
	default:
		return 0;
	}
}


void Client::Core::takeRequests()
{
	std::deque<Pending> incoming;
	bool close = false;
	Poco::Timespan wait;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		incoming.swap(_incoming);
		for (HistoryRequest& request: _incomingHistory) _history.push_back(std::move(request));
		_incomingHistory.clear();
		for (Poco::UInt64 id: _incomingAcks)
		{
			if (_unacknowledged.erase(id) == 0) continue;
			_acks.push_back(id); // written at the end of this turn (if online; else its repeat is answered)
			if (_pFile) _pFile->addDelivered(id);
		}
		_incomingAcks.clear();
		close = _closeRequested;
		wait = _closeWait;
	}
	for (Pending& pending: incoming)
	{
		if (pending.message.transient && _phase != ONLINE)
		{
			fail(pending, StatusCode::OFFLINE, "not logged in");
			continue;
		}
		if (_pFile && !pending.message.transient) _pFile->addSend(pending.message);
		_outbox.emplace(_nextOrder++, std::move(pending));
	}
	if (close && _phase != CLOSING && _phase != ENDED)
	{
		// The server answers the sends written before LOGOUT, then closes;
		// it reads nothing after it, so acknowledgements go first.
		if (_phase == ONLINE) writeAcks();
		if (_phase == ONLINE)
		{
			std::string frame;
			FrameEncoder::append(frame, Command::LOGOUT, protocol::Status::OK, ++_seq);
			write(frame);
			_phase = CLOSING;
			_deadline.update();
			_deadline += wait.totalMicroseconds();
		}
		else
		{
			end(StatusCode::CLOSED, "closed");
		}
	}
}


void Client::Core::connect()
{
	setState(_everOnline ? State::RECONNECTING : State::CONNECTING, "connecting to " + _options.host + ":" + std::to_string(_options.port));
	try
	{
		_pTransport = Transport::connect(_options, _pTls.get());
	}
	catch (Poco::Exception& exc)
	{
		drop(exc.displayText());
		return;
	}
	_pDecoder.reset(new FrameDecoder(static_cast<Poco::UInt32>(_options.maxFrameBody)));
	_seq = 0;
	imgate::v1::LoginRequest login;
	login.set_uid(_options.uid);
	login.set_token(_options.tokenProvider ? _options.tokenProvider(_refreshToken) : _options.token);
	login.set_device(_options.device);
	login.set_client_version(_options.clientVersion);
	login.set_carbons(_options.carbons);
	_loginSeq = ++_seq;
	std::string frame;
	FrameEncoder::append(frame, Command::LOGIN, protocol::Status::OK, _loginSeq, login);
	_phase = LOGGING_IN;
	_deadline.update();
	_deadline += _options.connectTimeout.totalMicroseconds();
	write(frame);
}


void Client::Core::readAvailable()
{
	while (_pTransport)
	{
		const int n = _pTransport->receive(_buffer.data(), _buffer.size());
		if (n < 0) return;
		if (n == 0)
		{
			if (_phase == CLOSING) end(StatusCode::CLOSED, "closed");
			else drop("connection lost: " + _pTransport->lastError());
			return;
		}
		_lastReceived.update();
		FrameDecoder::Result result = _pDecoder->feed(_buffer.data(), static_cast<std::size_t>(n));
		while (result == FrameDecoder::FRAME)
		{
			handleFrame(_pDecoder->frame());
			if (!_pTransport) return; // the frame ended the connection
			result = _pDecoder->next();
		}
		if (result != FrameDecoder::NEED_MORE)
		{
			drop(result == FrameDecoder::TOO_LARGE ? "a frame from the server is above maxFrameBody" : "the server's stream is not imgate frames");
			return;
		}
	}
}


void Client::Core::handleFrame(const protocol::Frame& frame)
{
	switch (static_cast<Command>(frame.cmd))
	{
	case Command::LOGIN_RESP:
		if (frame.seq == _loginSeq && _phase == LOGGING_IN) handleLoginResponse(frame);
		break;
	case Command::MSG_SEND_ACK:
		handleSendAck(frame);
		break;
	case Command::MSG_DELIVER:
		handleDelivery(frame);
		break;
	case Command::KICK:
		handleKick(frame);
		break;
	case Command::HISTORY_RESP:
		handleHistory(frame);
		break;
	case Command::ERROR:
	{
		imgate::v1::Error error;
		error.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength));
		report("ERROR " + statusName(frame.status) + " from the server: " + error.message());
		handleError(frame, error.message());
		break;
	}
	default:
		break; // HEARTBEAT_RESP: being read is all it is for.
	}
}


void Client::Core::handleLoginResponse(const protocol::Frame& frame)
{
	imgate::v1::LoginResponse response;
	response.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength));
	const int status = frame.status;
	const std::string why = "LOGIN refused: " + statusName(status) + (response.message().empty() ? "" : " (" + response.message() + ")");
	switch (status)
	{
	case StatusCode::OK:
		_phase = ONLINE;
		_everOnline = true;
		_refreshToken = false;
		_backoff.reset();
		_heartbeatInterval = Poco::Timespan(response.heartbeat_interval_s() > 0 ? response.heartbeat_interval_s() : 30, 0);
		_nextHeartbeat.update();
		_nextHeartbeat += _heartbeatInterval.totalMicroseconds();
		_writeFrom = 0;
		setState(State::ONLINE, "logged in as " + _options.uid);
		break;
	case StatusCode::AUTH_FAILED:
		if (_options.tokenProvider && !_refreshToken)
		{
			_refreshToken = true;
			drop(why + "; asking for a new token", true);
		}
		else
		{
			end(status, why);
		}
		break;
	case StatusCode::RATE_LIMITED:
	case StatusCode::SERVER_BUSY:
	case StatusCode::SHUTTING_DOWN:
	case StatusCode::DEVICE_LIMIT:
	case StatusCode::INTERNAL:
		if (_options.reconnect) drop(why);
		else end(status, why); // a one-shot tool reports the refusal, not a lost connection
		break;
	default:
		end(status, why);
		break;
	}
}


void Client::Core::handleSendAck(const protocol::Frame& frame)
{
	auto it = takeInFlight(frame.seq);
	if (it == _outbox.end()) return;
	imgate::v1::MessageSendAck ack;
	ack.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength));
	SendResult result;
	result.status = frame.status;
	if (result.ok())
	{
		result.msgId = ack.msg_id();
		result.timestampMs = ack.timestamp_ms();
	}
	else
	{
		result.message = "refused by the server: " + statusName(frame.status);
	}
	answerSend(it, std::move(result));
}


void Client::Core::handleError(const protocol::Frame& frame, const std::string& message)
{
	// An ERROR that echoes a request's seq answers it (a server that does
	// not know HISTORY, say); FRAME_TOO_LARGE comes with seq 0, after the
	// answers to every send before the frame it refused (protocol.md), so
	// it refuses the oldest send still unanswered: resending it would only
	// be refused again, for ever.
	const std::string why = "refused by the server: " + statusName(frame.status) + (message.empty() ? "" : " (" + message + ")");
	Poco::UInt32 seq = frame.seq;
	if (seq == 0)
	{
		if (frame.status != static_cast<Poco::UInt16>(protocol::Status::FRAME_TOO_LARGE)) return;
		Poco::UInt64 oldest = 0;
		for (const auto& entry: _inFlight)
		{
			if (seq == 0 || entry.second < oldest)
			{
				seq = entry.first;
				oldest = entry.second;
			}
		}
		if (seq == 0) return;
	}
	SendResult result;
	result.status = frame.status;
	result.message = why;
	auto it = takeInFlight(seq);
	if (it != _outbox.end())
	{
		answerSend(it, std::move(result));
		return;
	}
	HistoryRequest request;
	if (!takeHistory(seq, request)) return;
	HistoryPage page;
	page.status = frame.status;
	page.message = why;
	answer(request, std::move(page));
}


std::map<Poco::UInt64, Pending>::iterator Client::Core::takeInFlight(Poco::UInt32 seq)
{
	auto inFlight = _inFlight.find(seq);
	if (inFlight == _inFlight.end()) return _outbox.end();
	auto it = _outbox.find(inFlight->second);
	_inFlight.erase(inFlight);
	return it;
}


bool Client::Core::takeHistory(Poco::UInt32 seq, HistoryRequest& request)
{
	if (seq == 0) return false;
	for (auto it = _history.begin(); it != _history.end(); ++it)
	{
		if (it->seq != seq) continue;
		request = std::move(*it);
		_history.erase(it);
		return true;
	}
	return false;
}


void Client::Core::answerSend(std::map<Poco::UInt64, Pending>::iterator it, SendResult result)
{
	Pending pending = std::move(it->second);
	_outbox.erase(it);
	if (_pFile && !pending.message.transient) _pFile->addAnswered(pending.message.clientMsgId);
	result.clientMsgId = pending.message.clientMsgId;
	resolve(pending, std::move(result));
}


void Client::Core::handleDelivery(const protocol::Frame& frame)
{
	// After LOGOUT the server reads no acknowledgement: what arrives now is
	// left to the next session rather than handed over unacknowledged.
	if (_phase == CLOSING) return;
	imgate::v1::MessageDeliver deliver;
	if (!deliver.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength)))
	{
		report("a MSG_DELIVER that does not parse (left unacknowledged)");
		return;
	}
	if (!deliver.transient() && _seen.contains(deliver.msg_id()))
	{
		// A repeat: acknowledged again, not handed over; one the
		// application still has is acknowledged when it says so.
		if (_unacknowledged.count(deliver.msg_id()) == 0) _acks.push_back(deliver.msg_id());
		return;
	}
	const Message message = toMessage(deliver, _options.uid);
	if (!guarded("the message handler (msg_id " + std::to_string(message.msgId) + ", left unacknowledged)", messageHandler, message)) return;
	if (message.transient) return;
	_seen.add(message.msgId);
	if (!_options.acknowledgeAfterHandler)
	{
		_unacknowledged.insert(message.msgId);
		return;
	}
	if (_pFile) _pFile->addDelivered(message.msgId);
	_acks.push_back(message.msgId);
}


void Client::Core::handleKick(const protocol::Frame& frame)
{
	imgate::v1::Kick body;
	body.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength));
	Kick kick;
	kick.reason = static_cast<KickReason>(body.reason());
	kick.message = body.message();
	guarded("the kick handler", kickHandler, kick); // the KICK takes effect whatever it did
	const std::string why = "KICK " + kickReasonName(kick.reason) + (kick.message.empty() ? "" : " (" + kick.message + ")");
	if (kick.reason == KickReason::DUPLICATE_LOGIN || kick.reason == KickReason::BANNED) end(StatusCode::KICKED, why);
	else drop(why); // the server closes next; reconnect after a delay
}


void Client::Core::writeOutbox()
{
	// At most MAX_WRITE_PER_TURN bytes, then a turn that reads: a server
	// that stops reading a client which does not read its own output
	// (protocol.md, contract 7) must not find this thread stuck in a write.
	std::string frames;
	_moreToWrite = false;
	for (auto it = _outbox.lower_bound(_writeFrom); it != _outbox.end() && _inFlight.size() < _options.maxInFlight; ++it)
	{
		if (frames.size() >= MAX_WRITE_PER_TURN)
		{
			_moreToWrite = true;
			break;
		}
		Pending& pending = it->second;
		if (pending.message.clientMsgId == 0) pending.message.clientMsgId = newClientMsgId();
		imgate::v1::MessageSend send;
		send.set_to_uid(pending.message.toUid);
		send.set_to_group(pending.message.toGroup);
		send.set_client_msg_id(pending.message.clientMsgId);
		send.set_payload(pending.message.payload);
		send.set_transient(pending.message.transient);
		pending.seq = ++_seq;
		FrameEncoder::append(frames, Command::MSG_SEND, protocol::Status::OK, pending.seq, send);
		_inFlight.emplace(pending.seq, it->first);
		_writeFrom = it->first + 1;
	}
	if (!frames.empty()) write(frames);
}


void Client::Core::handleHistory(const protocol::Frame& frame)
{
	HistoryRequest request;
	if (!takeHistory(frame.seq, request)) return;
	HistoryPage page;
	page.status = frame.status;
	imgate::v1::HistoryResponse response;
	if (!response.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength)))
	{
		page.status = StatusCode::BAD_REQUEST;
		page.message = "a HISTORY_RESP that does not parse";
	}
	else if (page.ok())
	{
		for (const auto& deliver: response.messages()) page.messages.push_back(toMessage(deliver, _options.uid));
		page.more = response.more();
	}
	else
	{
		page.message = "refused by the server: " + statusName(frame.status);
	}
	answer(request, std::move(page));
}


void Client::Core::writeHistory()
{
	std::string frames;
	for (HistoryRequest& request: _history)
	{
		if (request.seq != 0) continue;
		imgate::v1::HistoryRequest body;
		body.set_before_msg_id(request.query.beforeMsgId);
		body.set_limit(request.query.limit);
		body.set_with_uid(request.query.withUid);
		body.set_group_id(request.query.groupId);
		request.seq = ++_seq;
		FrameEncoder::append(frames, Command::HISTORY, protocol::Status::OK, request.seq, body);
	}
	if (!frames.empty()) write(frames);
}


void Client::Core::answer(HistoryRequest& request, HistoryPage page)
{
	guarded("a history callback", request.callback, page);
}


void Client::Core::writeAcks()
{
	if (_acks.empty() || !_pTransport) return;
	std::string frames;
	for (std::size_t i = 0; i < _acks.size(); i += 1024)
	{
		imgate::v1::MessageDeliverAck ack;
		for (std::size_t j = i; j < _acks.size() && j < i + 1024; ++j) ack.add_msg_ids(_acks[j]);
		FrameEncoder::append(frames, Command::MSG_DELIVER_ACK, protocol::Status::OK, ++_seq, ack);
	}
	_acks.clear();
	write(frames);
}


void Client::Core::write(const std::string& bytes)
{
	if (!_pTransport) return;
	try
	{
		_pTransport->send(bytes);
	}
	catch (Poco::Exception& exc)
	{
		drop("write failed: " + exc.displayText());
	}
}


void Client::Core::drop(const std::string& why, bool atOnce)
{
	if (_phase == ENDED) return;
	if (_phase == CLOSING)
	{
		end(StatusCode::CLOSED, "closed");
		return;
	}
	if (!_options.reconnect && !atOnce)
	{
		end(StatusCode::DISCONNECTED, why);
		return;
	}
	_pTransport.reset();
	_pDecoder.reset();
	_acks.clear(); // the server delivers them again; _seen answers the repeats
	_inFlight.clear();
	_writeFrom = 0;
	for (auto it = _outbox.begin(); it != _outbox.end();)
	{
		if (it->second.message.transient) // written or not: never repeated after a reconnect
		{
			Pending pending = std::move(it->second);
			it = _outbox.erase(it);
			fail(pending, StatusCode::DISCONNECTED, "the connection dropped before the ack: " + why);
		}
		else
		{
			it->second.seq = 0;
			++it;
		}
	}
	for (HistoryRequest& request: _history) request.seq = 0; // asked again after the login
	_phase = WAITING;
	_nextAttempt.update();
	Poco::Timespan delay = atOnce ? Poco::Timespan(0) : _backoff.next();
	_nextAttempt += delay.totalMicroseconds();
	report(why);
	setState(State::RECONNECTING, why + "; next attempt in " + std::to_string(delay.totalMilliseconds()) + " ms");
}


void Client::Core::end(int status, const std::string& why)
{
	if (_phase == ENDED) return;
	_phase = ENDED;
	_pTransport.reset();
	_pDecoder.reset();
	std::map<Poco::UInt64, Pending> outbox;
	outbox.swap(_outbox);
	for (auto& entry: outbox) fail(entry.second, status, why);
	// Sends taken in this last turn are in the file too (for the next run).
	syncFile();
	std::deque<HistoryRequest> history;
	history.swap(_history);
	// From here on queue() answers sends itself: take the last ones and
	// change the state under one lock, so that none is left behind.
	std::deque<Pending> incoming;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		incoming.swap(_incoming);
		for (HistoryRequest& request: _incomingHistory) history.push_back(std::move(request));
		_incomingHistory.clear();
		_endStatus = status;
		_endWhy = why;
		_state = State::CLOSED;
	}
	for (Pending& pending: incoming) fail(pending, status, why);
	for (HistoryRequest& request: history)
	{
		HistoryPage page;
		page.status = status;
		page.message = why;
		answer(request, std::move(page));
	}
	_stateChanged.notify_all();
	guarded("the state handler", stateHandler, State::CLOSED, why);
}


void Client::Core::resolve(Pending& pending, SendResult result)
{
	{
		std::lock_guard<std::mutex> lock(_mutex);
		--_outboxSize;
	}
	_stateChanged.notify_all(); // flush() waits on it too
	guarded("a send callback", pending.callback ? pending.callback : restoredHandler, result);
}


void Client::Core::fail(Pending& pending, int status, const std::string& why)
{
	SendResult result;
	result.status = status;
	result.clientMsgId = pending.message.clientMsgId;
	result.message = why;
	resolve(pending, std::move(result));
}


void Client::Core::setState(State state, const std::string& why)
{
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_state = state;
	}
	_stateChanged.notify_all();
	guarded("the state handler", stateHandler, state, why);
}


void Client::Core::report(const std::string& what)
{
	try
	{
		if (errorHandler) errorHandler(what);
	}
	catch (...)
	{
		// The error handler is where a failure would be said; nowhere is left.
	}
}


void Client::Core::syncFile()
{
	if (!_pFile) return;
	try
	{
		_pFile->sync();
		_fileFailing = false;
	}
	catch (Poco::Exception& exc)
	{
		// The records stay buffered and go with the next sync; say so once.
		if (!_fileFailing) report(exc.displayText());
		_fileFailing = true;
	}
}


Client::Client(const ClientOptions& options)
{
	if (options.uid.empty()) throw Poco::InvalidArgumentException("ClientOptions.uid is empty");
	_pCore.reset(new Core(options));
}


Client::~Client()
{
	if (_pCore->thread.joinable()) close(Poco::Timespan(1, 0));
	else _pCore->finish(); // never started, or runOnce() stopped being called
}


void Client::onMessage(MessageHandler handler)
{
	_pCore->messageHandler = std::move(handler);
}


void Client::onState(StateHandler handler)
{
	_pCore->stateHandler = std::move(handler);
}


void Client::onKick(KickHandler handler)
{
	_pCore->kickHandler = std::move(handler);
}


void Client::onError(ErrorHandler handler)
{
	_pCore->errorHandler = std::move(handler);
}


void Client::onRestoredResult(SendCallback handler)
{
	_pCore->restoredHandler = std::move(handler);
}


void Client::start()
{
	if (_pCore->thread.joinable()) throw Poco::InvalidAccessException("Client::start(): already started");
	Core* pCore = _pCore.get();
	_pCore->thread = std::thread([pCore]() { while (pCore->runOnce(Poco::Timespan(1, 0))) {} });
}


bool Client::runOnce(Poco::Timespan maxWait)
{
	return _pCore->runOnce(maxWait);
}


std::future<SendResult> Client::send(const Outgoing& message)
{
	auto pPromise = std::make_shared<std::promise<SendResult>>();
	std::future<SendResult> future = pPromise->get_future();
	send(message, [pPromise](const SendResult& result) { pPromise->set_value(result); });
	return future;
}


void Client::send(const Outgoing& message, SendCallback callback)
{
	Pending pending;
	pending.message = message;
	if (pending.message.clientMsgId == 0) pending.message.clientMsgId = newClientMsgId();
	imgate::v1::MessageSend body;
	body.set_to_uid(message.toUid);
	body.set_to_group(message.toGroup);
	body.set_client_msg_id(pending.message.clientMsgId);
	body.set_payload(message.payload);
	body.set_transient(message.transient);
	const std::size_t size = body.ByteSizeLong();
	if (size > _pCore->maxSendBody())
	{
		SendResult result;
		result.status = StatusCode::FRAME_TOO_LARGE;
		result.clientMsgId = pending.message.clientMsgId;
		result.message = "the MSG_SEND body would be " + std::to_string(size) + " bytes, above maxSendBody ("
			+ std::to_string(_pCore->maxSendBody()) + ", the server's protocol.maxBodySize)";
		if (callback) callback(result);
		return;
	}
	pending.callback = std::move(callback);
	_pCore->queue(std::move(pending));
}


std::future<SendResult> Client::send(const std::string& toUid, const std::string& payload)
{
	Outgoing message;
	message.toUid = toUid;
	message.payload = payload;
	return send(message);
}


std::future<SendResult> Client::sendToGroup(const std::string& groupId, const std::string& payload)
{
	Outgoing message;
	message.toGroup = groupId;
	message.payload = payload;
	return send(message);
}


std::future<HistoryPage> Client::history(const HistoryQuery& query)
{
	auto pPromise = std::make_shared<std::promise<HistoryPage>>();
	std::future<HistoryPage> future = pPromise->get_future();
	history(query, [pPromise](const HistoryPage& page) { pPromise->set_value(page); });
	return future;
}


void Client::history(const HistoryQuery& query, std::function<void(const HistoryPage&)> callback)
{
	HistoryRequest request;
	request.query = query;
	request.callback = std::move(callback);
	_pCore->queue(std::move(request));
}


void Client::acknowledge(Poco::UInt64 msgId)
{
	_pCore->requestAcknowledge(msgId);
}


Poco::UInt64 Client::newClientMsgId()
{
	return _pCore->newClientMsgId();
}


void Client::close(Poco::Timespan wait)
{
	_pCore->requestClose(wait);
	std::lock_guard<std::mutex> lock(_pCore->joinMutex); // two threads may close at once
	if (_pCore->thread.joinable() && _pCore->thread.get_id() != std::this_thread::get_id()) _pCore->thread.join();
}


State Client::state() const
{
	return _pCore->state();
}


std::size_t Client::outboxSize() const
{
	return _pCore->outboxSize();
}


bool Client::waitState(State state, Poco::Timespan timeout) const
{
	return _pCore->waitState(state, timeout);
}


bool Client::flush(Poco::Timespan timeout) const
{
	return _pCore->flush(timeout);
}


int Client::endStatus(std::string& why) const
{
	return _pCore->endStatus(why);
}

} } // namespace imgate::client
