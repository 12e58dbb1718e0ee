//
// Session.cpp
//
// Layer: session
//

#include "server/session/Session.h"
#include "server/session/SessionManager.h"
#include "server/net/EventLoop.h"
#include "server/protocol/FrameEncoder.h"
#include "server/protocol/LogText.h"
#include "server/protocol/Uid.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Bugcheck.h"
#include "Poco/NumberFormatter.h"
#include "Poco/Timestamp.h"
#include <algorithm>


namespace imgate {
namespace session {

// protocol::Status, not the plugin SDK's imgate::Status, unless named.
using net::EventLoop;
using protocol::Command;
using protocol::FrameDecoder;
using protocol::FrameEncoder;
using protocol::Status;

namespace {

constexpr std::size_t MAX_DEVICE_LENGTH = 128;
constexpr std::size_t MAX_CLIENT_VERSION_LENGTH = 128;

Poco::Int64 nowMs()
{
	return Poco::Timestamp().epochMicroseconds() / 1000;
}

bool before(Poco::UInt32 a, Poco::UInt32 b)
{
	return static_cast<Poco::Int32>(a - b) < 0;
}

bool reached(Poco::UInt32 now, Poco::UInt32 deadline)
{
	return static_cast<Poco::Int32>(now - deadline) >= 0;
}

} // namespace


// An idle session's memory budget (docs/architecture.md, "Memory per idle
// session"): 232 bytes are a 240-byte malloc chunk; 8 more cost 16 per
// session.
static_assert(sizeof(Session) <= 232, "Session outgrew its malloc chunk");


Session::Session(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, SessionManager& manager):
	net::Connection(loop, socket),
	_state(CONNECTED),
	_perDevice(false),
	_carbons(false),
	_historyReads(0),
	_inStep(false),
	_draining(false),
	_manager(manager),
	_since(loop.tick()),
	_peer(peer)
{
	rearm();
}


Session::~Session()
{
}


std::size_t Session::inFlight() const
{
	return _pDelivery ? _pDelivery->inFlight() : 0;
}


namespace {

class PartialFrame
	/// Lends a session's kept partial frame to a decoder for one read and
	/// takes back what is left: an idle session holds one null pointer
	/// instead of an empty vector.
{
public:
	explicit PartialFrame(std::unique_ptr<std::vector<char>>& kept):
		_kept(kept)
	{
		if (_kept) _bytes.swap(*_kept);
	}

	~PartialFrame()
	{
		if (_bytes.empty())
		{
			_kept.reset();
			return;
		}
		if (!_kept) _kept.reset(new std::vector<char>);
		_kept->swap(_bytes);
	}

	std::vector<char>& bytes()
	{
		return _bytes;
	}

private:
	std::unique_ptr<std::vector<char>>& _kept;
	std::vector<char> _bytes;
};

} // namespace


void Session::onData(const char* data, std::size_t length)
{
	poco_assert_dbg(loop().inLoopContext());
	PartialFrame partial(_pPartialFrame); // outlives the decoder, which refers to it
	FrameDecoder decoder(_manager.config().maxBodySize, partial.bytes());
	FrameDecoder::Result r = decoder.feed(data, length);
	while (r == FrameDecoder::FRAME)
	{
		handleFrame(decoder.frame());
		if (closing()) return;
		r = decoder.next();
	}
	if (r == FrameDecoder::NEED_MORE) return;
	switch (r)
	{
	case FrameDecoder::BAD_MAGIC:
		failAndClose(Status::BAD_REQUEST, 0, "bad frame magic: not an imgate v1 stream");
		break;
	case FrameDecoder::BAD_VERSION:
		failAndClose(Status::UNSUPPORTED_VERSION, 0, "unsupported protocol version; this server speaks version 1");
		break;
	default:
		failAndClose(Status::FRAME_TOO_LARGE, 0,
			"frame body above the maximum of " + std::to_string(_manager.config().maxBodySize) + " bytes");
		break;
	}
}


void Session::handleFrame(const protocol::Frame& frame)
{
	if (_state == LOGGED_IN && !_draining) _since = loop().tick();
	const Command cmd = static_cast<Command>(frame.cmd);
	countFrame(cmd);
	if (frame.flags != 0)
	{
		failRequest(frame, Status::BAD_REQUEST, "unknown flag bits set");
		return;
	}
	if (cmd == Command::MSG_SEND)
	{
		handleSend(frame); // parses before the filters see it
		return;
	}
	if (!_manager.filters().empty() && !filterFrame(frame, nullptr)) return;
	switch (cmd)
	{
	case Command::LOGIN:
		handleLogin(frame);
		break;
	case Command::HEARTBEAT:
		FrameEncoder::append(output(), Command::HEARTBEAT_RESP, Status::OK, frame.seq);
		break;
	case Command::LOGOUT:
		if (_state != LOGGED_IN)
		{
			failRequest(frame, Status::NOT_LOGGED_IN, "log in first");
			break;
		}
		_manager.logger().information("logout uid=%s peer=%s session=%Lx", _uid, _peer.toString(), id());
		closeAfterLinger(); // after the answers to the MSG_SENDs before it
		break;
	case Command::MSG_DELIVER_ACK:
		if (_state != LOGGED_IN) failRequest(frame, Status::NOT_LOGGED_IN, "log in first");
		else handleDeliverAck(frame);
		break;
	case Command::HISTORY:
		if (_state != LOGGED_IN) failRequest(frame, Status::NOT_LOGGED_IN, "log in first");
		else handleHistory(frame);
		break;
	case Command::HISTORY_RESP:
	case Command::LOGIN_RESP:
	case Command::HEARTBEAT_RESP:
	case Command::MSG_SEND_ACK:
	case Command::MSG_DELIVER:
	case Command::KICK:
	case Command::ERROR:
		sendError(Status::UNKNOWN_COMMAND, frame.seq,
			std::string(protocol::commandName(frame.cmd)) + " is a server-to-client command");
		break;
	default:
		sendError(Status::UNKNOWN_COMMAND, frame.seq, "unknown command 0x" + Poco::NumberFormatter::formatHex(frame.cmd, 4));
		break;
	}
}


bool Session::filterFrame(const protocol::Frame& frame, const imgate::v1::MessageSend* pSend)
{
	FrameInfo info;
	info.cmd = frame.cmd;
	info.bodySize = static_cast<std::uint32_t>(frame.bodyLength);
	info.pUid = _state == LOGGED_IN ? &_uid : nullptr;
	if (pSend)
	{
		if (!pSend->to_uid().empty()) info.pToUid = &pSend->to_uid();
		if (!pSend->to_group().empty()) info.pToGroup = &pSend->to_group();
		info.transient = pSend->transient();
		info.payloadSize = static_cast<std::uint32_t>(pSend->payload().size());
	}
	Verdict verdict = _manager.filters().onFrame(info, _slots);
	if (!verdict.stops()) return true;
	refuse(frame, verdict, pSend);
	return false;
}


void Session::refuse(const protocol::Frame& frame, const Verdict& verdict, const imgate::v1::MessageSend* pSend)
{
	// A plugin's status is a protocol status (the SDK mirrors the wire values).
	Status status = static_cast<Status>(static_cast<Poco::UInt16>(verdict.status()));
	failRequest(frame, status, verdict.message(), pSend);
	if (plugin::FilterChain::asksForBan(verdict))
	{
		// Before login the uid in a LOGIN body is only a claim: banning it
		// would let anyone lock any user out. Such a ban covers the address.
		_manager.ban(plugin::FilterChain::banRequest(verdict, _peer.host(), _state == LOGGED_IN ? _uid : std::string()));
	}
	if (verdict.action() == Verdict::BAN || status == Status::BANNED
		|| (status == Status::AUTH_FAILED && static_cast<Command>(frame.cmd) == Command::LOGIN))
	{
		closeAfterLinger();
	}
}


void Session::handleLogin(const protocol::Frame& frame)
{
	if (_state == LOGGED_IN)
	{
		failRequest(frame, Status::ALREADY_LOGGED_IN, "this connection is already logged in as " + _uid);
		return;
	}
	imgate::v1::LoginRequest request;
	if (parseLogin(frame, request) && authorizeLogin(frame, request)) completeLogin(frame, request);
}


bool Session::parseLogin(const protocol::Frame& frame, imgate::v1::LoginRequest& request)
{
	if (!request.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength)))
	{
		failRequest(frame, Status::BAD_REQUEST, "LoginRequest body does not parse");
		return false;
	}
	if (!protocol::isValidUid(request.uid()))
	{
		failRequest(frame, Status::BAD_REQUEST, "uid must be 1 to 64 characters of A-Z a-z 0-9 _ . @ -");
		return false;
	}
	if (request.device().size() > MAX_DEVICE_LENGTH || request.client_version().size() > MAX_CLIENT_VERSION_LENGTH)
	{
		failRequest(frame, Status::BAD_REQUEST, "device and client_version are limited to 128 bytes");
		return false;
	}
	return true;
}


bool Session::authorizeLogin(const protocol::Frame& frame, const imgate::v1::LoginRequest& request)
{
	if (_manager.draining())
	{
		failRequest(frame, Status::SHUTTING_DOWN, "server is shutting down");
		closeAfterLinger();
		return false;
	}
	bool authenticated = false;
	const plugin::FilterChain& filters = _manager.filters();
	if (!filters.empty())
	{
		LoginInfo login;
		login.uid = request.uid();
		login.token = request.token();
		login.device = request.device();
		login.clientVersion = request.client_version();
		login.peer = peerInfo();
		Verdict verdict = filters.onLogin(login, _slots, authenticated);
		if (verdict.stops())
		{
			if (admitUnauthenticatedLine())
				_manager.logger().information("login refused uid=%s peer=%s: %s %s", request.uid(), login.peer.address,
					std::string(protocol::statusName(static_cast<Poco::UInt16>(verdict.status()))), protocol::quoted(verdict.message()));
			refuse(frame, verdict);
			return false;
		}
	}
	// A login needs an authenticator's yes, or anonymous access allowed and
	// no authenticator loaded (then allowAnonymous cannot bypass it).
	if (!authenticated && !(_manager.config().allowAnonymous && !filters.hasAuthenticator()))
	{
		// The token is never logged.
		if (admitUnauthenticatedLine())
			_manager.logger().warning("login refused uid=%s peer=%s: %s", request.uid(), _peer.toString(),
			std::string(filters.hasAuthenticator() ? "no auth plugin accepted it" : "anonymous login is disabled and no auth plugin is loaded"));
		failRequest(frame, Status::AUTH_FAILED, "authentication failed");
		closeAfterLinger();
		return false;
	}
	Poco::Int64 retryInMs = 0;
	const bool carbons = request.carbons() && _manager.config().perDevice(); // under single a uid has no other session
	switch (_manager.login(*this, request.uid(), request.device(), carbons, retryInMs))
	{
	case SessionManager::LOGIN_DEVICE_LIMIT:
		// The connection stays open: the client may log in as another uid or later.
		if (admitUnauthenticatedLine())
			_manager.logger().information("login refused uid=%s device=%s peer=%s: %u devices online (session.maxDevices)", request.uid(),
				protocol::quoted(request.device()), _peer.toString(), _manager.config().maxDevices);
		failRequest(frame, Status::DEVICE_LIMIT, "uid " + request.uid() + " is online on " + std::to_string(_manager.config().maxDevices)
			+ " devices (session.maxDevices); log out from one first");
		return false;
	case SessionManager::LOGIN_REFUSED_TAKEOVER:
		if (admitUnauthenticatedLine())
			_manager.logger().information("login refused uid=%s peer=%s: takeover guard (retry in %Ld ms)", request.uid(), _peer.toString(), retryInMs);
		failRequest(frame, Status::RATE_LIMITED, "uid " + request.uid()
			+ " was taken over by another device; retry in " + std::to_string((retryInMs + 999) / 1000) + " s");
		return false;
	case SessionManager::LOGIN_DRAINING:
		failRequest(frame, Status::SHUTTING_DOWN, "server is shutting down");
		closeAfterLinger();
		return false;
	case SessionManager::LOGIN_OK:
		break;
	}
	return true;
}


void Session::completeLogin(const protocol::Frame& frame, const imgate::v1::LoginRequest& request)
{
	const SessionConfig& config = _manager.config();
	_uid = request.uid();
	_device = request.device();
	_perDevice = config.perDevice();
	_carbons = _perDevice && request.carbons();
	_loginAt = static_cast<Poco::UInt32>(nowMs() / 1000);
	_toldInterval = static_cast<Poco::UInt16>(config.heartbeatInterval);
	_state = LOGGED_IN;
	loop().counters().loggedIn[static_cast<unsigned>(transport())].add(1);
	if (!_draining) _since = loop().tick();
	_manager.logger().information("login uid=%s peer=%s device=%s session=%Lx", _uid, _peer.toString(), protocol::quoted(request.device()), id());
	loop().counters().logins[0].add();

	imgate::v1::LoginResponse response;
	response.set_server_time_ms(nowMs());
	response.set_heartbeat_interval_s(config.heartbeatInterval);
	response.set_session_id(Poco::NumberFormatter::formatHex(id(), 16));
	response.set_protocol(PROTOCOL_VERSION);
	FrameEncoder::append(output(), Command::LOGIN_RESP, Status::OK, frame.seq, response);
	rearm();
	if (_perDevice) _manager.store().openDevice(_uid, positionDevice());
	deliverPending();
}


void Session::handleSend(const protocol::Frame& frame)
{
	imgate::v1::MessageSend request;
	const bool parsed = request.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength));
	if (!_manager.filters().empty() && !filterFrame(frame, parsed ? &request : nullptr)) return;
	if (_state != LOGGED_IN)
	{
		failRequest(frame, Status::NOT_LOGGED_IN, "log in first", parsed ? &request : nullptr);
		return;
	}
	if (!parsed)
	{
		logError(Status::BAD_REQUEST, "MessageSend body does not parse");
		refuseSend(frame.seq, 0, Status::BAD_REQUEST); // no client_msg_id to echo
		return;
	}
	Status status = Status::OK;
	const bool toUid = !request.to_uid().empty();
	const bool toGroup = !request.to_group().empty();
	if (request.client_msg_id() == 0 || (toUid && toGroup)) status = Status::BAD_REQUEST;
	else if (toGroup ? !protocol::isValidUid(request.to_group()) : !protocol::isValidUid(request.to_uid())) status = Status::RECIPIENT_INVALID;
	else if (request.payload().size() > _manager.config().maxPayloadSize) status = Status::PAYLOAD_TOO_LARGE;
	if (status != Status::OK)
	{
		refuseSend(frame.seq, request.client_msg_id(), status);
		return;
	}
	if (request.transient())
	{
		sendTransient(frame.seq, request);
		return;
	}
	store::NewMessage message;
	message.fromUid = _uid;
	message.fromDevice = positionDevice();
	message.toUid = request.to_uid();
	message.toGroup = request.to_group();
	message.clientMsgId = request.client_msg_id();
	message.payload = std::move(*request.mutable_payload());
	message.timestampMs = nowMs();
	++_unanswered; // before submit(): the memory store answers inline
	_manager.submit(*this, frame.seq, std::move(message));
}


void Session::sendTransient(Poco::UInt32 seq, imgate::v1::MessageSend& request)
{
	// Never stored: one MSG_DELIVER (transient, msg_id 0), encoded once,
	// for every session online now; no retransmission, no acknowledgement.
	imgate::v1::MessageDeliver deliver;
	deliver.set_from_uid(_uid);
	deliver.set_payload(std::move(*request.mutable_payload()));
	deliver.set_timestamp_ms(nowMs());
	deliver.set_transient(true);
	if (request.to_group().empty()) deliver.set_to_uid(request.to_uid());
	else deliver.set_group_id(request.to_group());
	auto pFrame = std::make_shared<std::string>();
	FrameEncoder::append(*pFrame, Command::MSG_DELIVER, Status::OK, 0, deliver);
	const Poco::UInt64 clientMsgId = request.client_msg_id();
	++_unanswered;
	_manager.sendTransient(*this, seq, clientMsgId, request.to_uid(), request.to_group(), pFrame);
}


void Session::deliverTransient(const std::string& frame)
{
	poco_assert_dbg(loop().inLoopContext());
	// Best effort: a session that does not read gets no more of them.
	if (_state != LOGGED_IN || closing() || outputSize() >= net::Connection::HIGH_WATER) return;
	output() += frame;
	loop().counters().transientMessages.add();
}


void Session::answerTransient(Poco::UInt32 seq, Poco::UInt64 clientMsgId, Status status)
{
	poco_assert_dbg(loop().inLoopContext());
	if (_unanswered > 0) --_unanswered;
	if (status == Status::OK)
	{
		imgate::v1::MessageSendAck ack;
		ack.set_client_msg_id(clientMsgId);
		ack.set_timestamp_ms(nowMs());
		FrameEncoder::append(output(), Command::MSG_SEND_ACK, Status::OK, seq, ack);
	}
	else refuseSend(seq, clientMsgId, status);
	farewellIfAnswered();
}


void Session::refuseSend(Poco::UInt32 seq, Poco::UInt64 clientMsgId, Status status)
{
	countError(status);
	imgate::v1::MessageSendAck ack;
	ack.set_client_msg_id(clientMsgId);
	FrameEncoder::append(output(), Command::MSG_SEND_ACK, status, seq, ack);
}


void Session::sendAck(Poco::UInt32 seq, Poco::UInt64 clientMsgId, const store::AppendResult& result)
{
	poco_assert_dbg(loop().inLoopContext());
	// A closed session is no longer found, so this one is open or closing
	// after LOGOUT or a KICK: the client still gets its answer.
	poco_assert_dbg(_unanswered > 0);
	if (_unanswered > 0) --_unanswered;
	Status status = Status::OK;
	switch (result.outcome)
	{
	case store::AppendResult::STORED:
	case store::AppendResult::DUPLICATE:
		break;
	case store::AppendResult::RECIPIENT_FULL:
	case store::AppendResult::STORE_FULL:
		status = Status::SERVER_BUSY;
		break;
	case store::AppendResult::NOT_MEMBER:
		status = Status::NOT_MEMBER;
		break;
	case store::AppendResult::FAILED:
		status = Status::INTERNAL;
		logError(status, result.error);
		break;
	}
	if (status == Status::OK)
	{
		imgate::v1::MessageSendAck ack;
		ack.set_client_msg_id(clientMsgId);
		ack.set_msg_id(result.msgId);
		ack.set_timestamp_ms(result.timestampMs);
		FrameEncoder::append(output(), Command::MSG_SEND_ACK, Status::OK, seq, ack);
	}
	else refuseSend(seq, clientMsgId, status);
	farewellIfAnswered();
}


void Session::farewellIfAnswered()
{
	if (_unanswered > 0 || !_pFarewell) return;
	std::unique_ptr<Farewell> pFarewell(std::move(_pFarewell));
	if (pFarewell->command == Command::KICK) appendKick(pFarewell->reason, pFarewell->message);
	else appendError(pFarewell->status, pFarewell->seq, pFarewell->message);
}


void Session::handleHistory(const protocol::Frame& frame)
{
	imgate::v1::HistoryRequest request;
	if (!request.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength)))
	{
		failRequest(frame, Status::BAD_REQUEST, "HistoryRequest body does not parse");
		return;
	}
	if (!request.with_uid().empty() && !request.group_id().empty())
	{
		failRequest(frame, Status::BAD_REQUEST, "with_uid and group_id are exclusive");
		return;
	}
	if ((!request.with_uid().empty() && !protocol::isValidUid(request.with_uid()))
		|| (!request.group_id().empty() && !protocol::isValidUid(request.group_id())))
	{
		failRequest(frame, Status::BAD_REQUEST, "with_uid and group_id are 1 to 64 characters of A-Z a-z 0-9 _ . @ -");
		return;
	}
	if (_historyReads >= MAX_HISTORY_READS)
	{
		// A client cannot queue store reads (and their answers) without bound.
		failRequest(frame, Status::RATE_LIMITED, "at most " + std::to_string(static_cast<int>(MAX_HISTORY_READS))
			+ " HISTORY requests at a time: wait for the answers");
		return;
	}
	const SessionConfig& config = _manager.config();
	store::HistoryQuery query;
	query.uid = _uid;
	query.beforeMsgId = request.before_msg_id();
	query.limit = request.limit() == 0 ? std::size_t(DEFAULT_HISTORY_LIMIT) : std::min<std::size_t>(request.limit(), MAX_HISTORY_LIMIT);
	query.maxBytes = config.maxBodySize > HISTORY_RESPONSE_OVERHEAD ? config.maxBodySize - HISTORY_RESPONSE_OVERHEAD : 1;
	query.withUid = request.with_uid();
	query.groupId = request.group_id();
	// store.historyRetention = 0 keeps no history: nothing is that recent
	// (the member check of a group still applies).
	query.sinceMs = config.historyRetention ? nowMs() - static_cast<Poco::Int64>(config.historyRetention) * 1000 : nowMs() + 86400000;
	++_unanswered; // answered before a LOGOUT or KICK closes, like MSG_SEND
	++_historyReads;
	_manager.readHistory(*this, frame.seq, query);
}


void Session::sendHistory(Poco::UInt32 seq, store::HistoryPage& page)
{
	poco_assert_dbg(loop().inLoopContext());
	if (_unanswered > 0) --_unanswered;
	if (_historyReads > 0) --_historyReads;
	if (!page.ok || page.notMember)
	{
		const Status status = page.notMember ? Status::NOT_MEMBER : Status::SERVER_BUSY;
		countError(status);
		FrameEncoder::append(output(), Command::HISTORY_RESP, status, seq, imgate::v1::HistoryResponse());
	}
	else
	{
		imgate::v1::HistoryResponse response;
		response.set_more(page.more);
		for (auto& m: page.messages)
		{
			imgate::v1::MessageDeliver* pEntry = response.add_messages();
			pEntry->set_msg_id(m.msgId);
			pEntry->set_from_uid(m.fromUid);
			pEntry->set_payload(std::move(m.payload));
			pEntry->set_timestamp_ms(m.timestampMs);
			if (m.groupId.empty()) pEntry->set_to_uid(m.toUid);
			else pEntry->set_group_id(m.groupId);
		}
		// The store's estimate keeps the page under the frame limit; this
		// makes sure (a single entry always fits: its payload is bounded).
		while (response.messages_size() > 1 && response.ByteSizeLong() > _manager.config().maxBodySize)
		{
			response.mutable_messages()->RemoveLast();
			response.set_more(true);
		}
		loop().counters().historyRequests.add();
		FrameEncoder::append(output(), Command::HISTORY_RESP, Status::OK, seq, response);
	}
	farewellIfAnswered();
}


void Session::handleDeliverAck(const protocol::Frame& frame)
{
	imgate::v1::MessageDeliverAck request;
	if (!request.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength)))
	{
		sendError(Status::BAD_REQUEST, frame.seq, "MessageDeliverAck body does not parse");
		return;
	}
	if (!_pDelivery) return; // nothing in flight: late or repeated acks
	std::vector<Poco::UInt64> acked;
	acked.reserve(static_cast<std::size_t>(request.msg_ids_size()));
	if (!_pDelivery->acknowledge(request.msg_ids().data(), static_cast<std::size_t>(request.msg_ids_size()), acked)) return;
	loop().counters().messagesAcknowledged.add(acked.size());
	_manager.store().acknowledge(_uid, positionDevice(), _pDelivery->position(), acked);
	_pDelivery->fill();
	afterDelivery();
}


void Session::deliverPending()
{
	poco_assert_dbg(loop().inLoopContext());
	if (_state != LOGGED_IN || closing()) return;
	delivery().fill();
	afterDelivery();
}


void Session::deliverStored(const store::StoredMessage& message)
{
	poco_assert_dbg(loop().inLoopContext());
	if (_state != LOGGED_IN || closing() || !receives(message)) return;
	delivery().take(message);
	afterDelivery();
}


bool Session::receives(const store::StoredMessage& message) const
{
	// The store's pending read leaves out the "sent" rows of this device:
	// a message it sent itself (unless to its own uid, a received row).
	if (message.fromUid != _uid || (message.groupId.empty() && message.toUid == _uid)) return true;
	return _carbons && message.fromDevice != positionDevice();
}


Delivery& Session::delivery()
{
	if (!_pDelivery) _pDelivery.reset(new Delivery(*this, _manager, _cursor, _inStep));
	return *_pDelivery;
}


void Session::onPending(store::PendingPage& page, bool retransmission)
{
	poco_assert_dbg(loop().inLoopContext());
	if (!_pDelivery) return;
	if (_state != LOGGED_IN || closing())
	{
		_pDelivery.reset();
		return;
	}
	_pDelivery->onPage(page, retransmission);
	afterDelivery();
}


void Session::afterDelivery()
{
	if (_pDelivery && _pDelivery->idle())
	{
		_cursor = _pDelivery->cursor();
		_inStep = _pDelivery->inStep();
		_pDelivery.reset();
	}
	rearm();
}


void Session::kick(protocol::KickReason reason, const std::string& message)
{
	poco_assert_dbg(loop().inLoopContext());
	if (closing()) return;
	loop().counters().kicks[metrics::LoopCounters::kickSlot(static_cast<unsigned>(reason))].add();
	if (_state == LOGGED_IN)
		_manager.logger().information("kick uid=%s peer=%s session=%Lx reason=%s: %s", _uid, _peer.toString(), id(),
			std::string(protocol::kickReasonName(reason)), protocol::quoted(message));
	// KICK is the last frame: MSG_SENDs still waiting for the store are
	// answered first (sendAck() then sends it).
	if (_unanswered > 0) _pFarewell.reset(new Farewell{Command::KICK, reason, Status::OK, 0, message});
	else appendKick(reason, message);
	closeAfterLinger();
}


void Session::appendKick(protocol::KickReason reason, const std::string& message)
{
	imgate::v1::Kick kick;
	kick.set_reason(static_cast<Poco::UInt32>(reason));
	kick.set_message(message);
	FrameEncoder::append(output(), Command::KICK, Status::OK, 0, kick);
}


void Session::scheduleDrainKick(Poco::UInt32 atTick)
{
	poco_assert_dbg(loop().inLoopContext());
	if (closing()) return;
	// The kick replaces the login and heartbeat timeouts: it comes within
	// drainTime, and the drain waits for it anyway.
	_draining = true;
	_since = atTick;
	rearm();
}


void Session::onTimer()
{
	const Poco::UInt32 now = loop().tick();
	const SessionConfig& config = _manager.config();
	if (_draining && reached(now, _since))
	{
		kick(protocol::KickReason::SHUTDOWN, "server is shutting down");
		return;
	}
	if (!_draining && _state == CONNECTED && reached(now, _since + EventLoop::ticksFromSeconds(config.loginTimeout)))
	{
		// One line (or none in a flood): the ERROR itself is not logged too.
		if (admitUnauthenticatedLine())
			_manager.logger().information("login timeout peer=%s session=%Lx", _peer.toString(), id());
		sendError(Status::NOT_LOGGED_IN, 0, "login timeout", false);
		closeAfterLinger();
		return;
	}
	if (!_draining && _state == LOGGED_IN && reached(now, _since + EventLoop::ticksFromSeconds(heartbeatTimeout())))
	{
		_manager.logger().information("heartbeat timeout uid=%s peer=%s session=%Lx", _uid, _peer.toString(), id());
		close();
		return;
	}
	if (_pDelivery)
	{
		_pDelivery->retransmit(now);
		_pDelivery->retryRead(now);
	}
	rearm();
}


Poco::UInt32 Session::nextDeadline() const
{
	const SessionConfig& config = _manager.config();
	Poco::UInt32 deadline = _draining ? _since : _since + EventLoop::ticksFromSeconds(_state == LOGGED_IN ? heartbeatTimeout() : config.loginTimeout);
	Poco::UInt32 retransmitAt;
	if (_pDelivery && _pDelivery->retransmitAt(retransmitAt) && before(retransmitAt, deadline)) deadline = retransmitAt;
	Poco::UInt32 retryAt;
	if (_pDelivery && _pDelivery->retryReadAt(retryAt) && before(retryAt, deadline)) deadline = retryAt;
	return deadline;
}


void Session::rearm()
{
	if (closing()) return;
	Poco::UInt32 deadline = nextDeadline();
	if (!scheduled() || before(deadline, due())) loop().timers().schedule(*this, deadline);
}


bool Session::expectsOutput() const
{
	return _unanswered > 0;
}


void Session::onWriteProgress()
{
	// While back-pressure keeps us from reading its frames, a client that
	// keeps reading our output is not silent.
	if (_state == LOGGED_IN && readPaused() && !_draining) _since = loop().tick();
}


void Session::onClose()
{
	if (_state == LOGGED_IN) loop().counters().loggedIn[static_cast<unsigned>(transport())].add(-1);
	if (!_manager.filters().empty())
	{
		SessionInfo info;
		if (_state == LOGGED_IN) info.uid = _uid;
		info.peer = peerInfo();
		_manager.filters().onClose(info, _slots);
	}
	_manager.closed(*this);
}


PeerInfo Session::peerInfo() const
{
	PeerInfo peer;
	peer.address = _peer.host();
	peer.port = _peer.port();
	return peer;
}


std::string Session::deviceKey(const std::string& device)
{
	return device.empty() ? std::string("default") : device;
}


void Session::failRequest(const protocol::Frame& frame, Status status, const std::string& message, const imgate::v1::MessageSend* pSend)
{
	switch (static_cast<Command>(frame.cmd))
	{
	case Command::LOGIN:
		{
			countError(status);
			loop().counters().logins[metrics::LoopCounters::statusSlot(static_cast<unsigned>(status))].add();
			imgate::v1::LoginResponse response;
			response.set_server_time_ms(nowMs());
			response.set_message(message);
			FrameEncoder::append(output(), Command::LOGIN_RESP, status, frame.seq, response);
		}
		break;
	case Command::HEARTBEAT:
		countError(status);
		logError(status, message);
		FrameEncoder::append(output(), Command::HEARTBEAT_RESP, status, frame.seq);
		break;
	case Command::HISTORY:
		countError(status);
		logError(status, message);
		FrameEncoder::append(output(), Command::HISTORY_RESP, status, frame.seq, imgate::v1::HistoryResponse());
		break;
	case Command::MSG_SEND:
		{
			logError(status, message);
			// Echo client_msg_id whenever the body parses (parsed once: by
			// the caller, if it did).
			Poco::UInt64 clientMsgId = 0;
			if (pSend) clientMsgId = pSend->client_msg_id();
			else
			{
				imgate::v1::MessageSend request;
				if (request.ParseFromArray(frame.body, static_cast<int>(frame.bodyLength))) clientMsgId = request.client_msg_id();
			}
			refuseSend(frame.seq, clientMsgId, status);
		}
		break;
	default:
		sendError(status, frame.seq, message);
		break;
	}
}


void Session::sendError(Status status, Poco::UInt32 seq, const std::string& message, bool log)
{
	countError(status);
	if (log) logError(status, message);
	appendError(status, seq, message);
}


void Session::appendError(Status status, Poco::UInt32 seq, const std::string& message)
{
	imgate::v1::Error error;
	error.set_message(message);
	FrameEncoder::append(output(), Command::ERROR, status, seq, error);
}


void Session::countError(Status status)
{
	loop().counters().errors[metrics::LoopCounters::statusSlot(static_cast<unsigned>(status))].add();
}


unsigned Session::heartbeatTimeout() const
{
	const SessionConfig& config = _manager.config();
	if (_toldInterval <= config.heartbeatInterval) return config.heartbeatTimeout;
	// A reload shortened the interval after this client was told a longer
	// one, which it keeps using: give it the same ratio of timeout to
	// interval, or every such client would time out.
	const unsigned long long scaled = (static_cast<unsigned long long>(config.heartbeatTimeout) * _toldInterval + config.heartbeatInterval - 1) / config.heartbeatInterval;
	// At most the longest timeout the settings allow: tick arithmetic is
	// signed 32-bit (about 248 days).
	return static_cast<unsigned>(std::min<unsigned long long>(scaled, MAX_HEARTBEAT_TIMEOUT));
}


void Session::logError(Status status, const std::string& message)
{
	logWarning(std::string(protocol::statusName(status)) + " " + protocol::quoted(message));
}


void Session::logWarning(const std::string& text)
{
	const LogBudget::Decision decision = _errorLog.admit(loop().tick());
	// Each line, this one too, within the loop's budget before login.
	if (decision.omitted && admitUnauthenticatedLine())
		_manager.logger().warning("error uid=%s peer=%s session=%Lx: %hu more errors in the last minute were not logged",
			_uid, _peer.toString(), id(), decision.omitted);
	if (!decision.log || !admitUnauthenticatedLine()) return;
	_manager.logger().warning("error uid=%s peer=%s session=%Lx: %s%s", _uid, _peer.toString(), id(), text,
		std::string(decision.last ? " (more errors of this session in the next minute are counted, not logged)" : ""));
}


Transport Session::transport() const
{
	return Transport::TCP;
}


bool Session::admitUnauthenticatedLine()
{
	if (_state == LOGGED_IN) return true;
	const LogBudget::Decision decision = _manager.unauthenticatedLogBudget(loop()).admit(loop().tick(), UNAUTHENTICATED_LOG_LINES);
	if (decision.omitted)
		_manager.logger().warning("%hu more lines about connections that had not logged in were left out in the last minute (the metrics count them all)",
			decision.omitted);
	if (decision.last)
		_manager.logger().warning("%hu lines about connections that have not logged in this minute: more are counted, not logged",
			static_cast<Poco::UInt16>(UNAUTHENTICATED_LOG_LINES));
	return decision.log;
}


void Session::countFrame(Command cmd)
{
	using metrics::LoopCounters;
	LoopCounters::FrameKind kind = LoopCounters::FRAME_OTHER;
	switch (cmd)
	{
	case Command::LOGIN:           kind = LoopCounters::FRAME_LOGIN; break;
	case Command::HEARTBEAT:       kind = LoopCounters::FRAME_HEARTBEAT; break;
	case Command::MSG_SEND:        kind = LoopCounters::FRAME_MSG_SEND; break;
	case Command::MSG_DELIVER_ACK: kind = LoopCounters::FRAME_MSG_DELIVER_ACK; break;
	case Command::LOGOUT:          kind = LoopCounters::FRAME_LOGOUT; break;
	default:                       break;
	}
	loop().counters().framesIn[kind].add();
}


void Session::failAndClose(Status status, Poco::UInt32 seq, const std::string& message)
{
	// The ERROR is the last frame: MSG_SENDs still waiting for the store
	// are answered first (sendAck() then sends it).
	if (_unanswered > 0)
	{
		countError(status);
		logError(status, message);
		_pFarewell.reset(new Farewell{Command::ERROR, protocol::KickReason(), status, seq, message});
	}
	else sendError(status, seq, message);
	closeAfterLinger();
}


void Session::closeAfterLinger()
{
	closeAfterFlush(EventLoop::ticksFromSeconds(_manager.config().closeLinger));
}

} } // namespace imgate::session
