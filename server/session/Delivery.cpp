//
// Delivery.cpp
//
// Layer: session
//

#include "server/session/Delivery.h"
#include "server/session/Session.h"
#include "server/session/SessionManager.h"
#include "server/net/EventLoop.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Bugcheck.h"
#include <algorithm>

namespace imgate {
namespace session {

using net::EventLoop;
using protocol::Command;
using protocol::FrameEncoder;
using protocol::Status;

namespace {

constexpr std::size_t MAX_RESERVED_WINDOW = 64; // in-flight entries a window has room for at first (16 bytes each)

bool reached(Poco::UInt32 now, Poco::UInt32 deadline)
{
	return static_cast<Poco::Int32>(now - deadline) >= 0;
}

void appendDeliver(std::string& out, imgate::v1::MessageDeliver& deliver, const store::StoredMessage& message, std::string payload)
	/// One MSG_DELIVER of message with payload (moved in where the message
	/// is not needed again); deliver is a body reused for each.
{
	deliver.set_msg_id(message.msgId);
	deliver.set_from_uid(message.fromUid);
	deliver.set_payload(std::move(payload));
	deliver.set_timestamp_ms(message.timestampMs);
	// Protocol 1.1: a 1:1 message names its recipient, a group message its group.
	deliver.set_to_uid(message.groupId.empty() ? message.toUid : std::string());
	deliver.set_group_id(message.groupId);
	FrameEncoder::append(out, Command::MSG_DELIVER, Status::OK, 0, deliver);
}

} // namespace


Delivery::Delivery(Session& session, SessionManager& manager, Poco::UInt64 cursor, bool inStep):
	_session(session),
	_manager(manager),
	_window(session.loop().counters().deliveriesInFlight, cursor),
	_inStep(inStep)
{
}


Delivery::~Delivery()
{
}


void Delivery::fill()
{
	poco_assert_dbg(_session.loop().inLoopContext());
	if (_fetching)
	{
		_refetch = true;
		return;
	}
	_refetch = false;
	if (_inStep) return; // every message stored so far was handed over
	const std::size_t window = _manager.config().window;
	if (_window.size() >= window) return;
	fetch(_window.cursor(), window - _window.size(), false);
}


void Delivery::take(const store::StoredMessage& message)
{
	poco_assert_dbg(_session.loop().inLoopContext());
	if (message.msgId <= _window.cursor()) return;
	if (_inStep && !_fetching && _window.size() < _manager.config().window)
	{
		imgate::v1::MessageDeliver deliver;
		send(deliver, message, message.payload);
		return;
	}
	// Missed: the store has it, in order with whatever else was missed.
	_inStep = false;
	fill();
}


void Delivery::fetch(Poco::UInt64 afterMsgId, std::size_t limit, bool retransmission)
{
	_fetching = true;
	_refetch = false;
	if (!retransmission) _retry = false;
	_asked = limit;
	_session.loop().counters().inboxReads.add();
	_manager.fetchPending(_session, afterMsgId, limit, retransmission);
}


void Delivery::onPage(store::PendingPage& page, bool retransmission)
{
	poco_assert_dbg(_session.loop().inLoopContext());
	_fetching = false;
	// A failed read leaves everything as it was: the messages stay pending.
	// A retransmission is read again by its timer; a first read may have
	// nothing else coming to read again for it (no new message, an empty
	// window), so it is tried again after READ_RETRY_SECONDS.
	if (!page.ok && !retransmission && !_retry)
	{
		_retry = true;
		_retryAt = _session.loop().tick() + EventLoop::ticksFromSeconds(READ_RETRY_SECONDS);
	}
	if (page.ok)
	{
		// Less than asked: the inbox had no more as of the read, and the
		// announcements of anything stored since are still to come (none
		// came while the read was out, or _refetch would be set).
		if (!retransmission && !_refetch && page.messages.size() < _asked && _manager.handsOverStored()) _inStep = true;
		if (retransmission) resend(page.messages, _session.loop().tick());
		else deliver(page.messages);
	}
	if (_refetch) fill();
}


void Delivery::deliver(std::vector<store::StoredMessage>& messages)
{
	if (messages.empty()) return;
	imgate::v1::MessageDeliver deliver;
	for (auto& m: messages)
	{
		// Only one read is out at a time and take() sends nothing meanwhile,
		// so the cursor has not moved since it was issued; the check keeps
		// the window's order invariant anyway.
		if (m.msgId <= _window.cursor()) continue;
		send(deliver, m, std::move(m.payload));
	}
}


void Delivery::send(imgate::v1::MessageDeliver& deliver, const store::StoredMessage& message, std::string payload)
{
	std::vector<DeliveryWindow::InFlight>& entries = _window.entries();
	if (entries.capacity() == 0) entries.reserve(std::min<std::size_t>(_manager.config().window, MAX_RESERVED_WINDOW));
	appendDeliver(_session.output(), deliver, message, std::move(payload));
	_window.sent(message.msgId, _session.loop().tick());
	_session.loop().counters().messagesDelivered.add();
}


bool Delivery::acknowledge(const Poco::UInt64* msgIds, std::size_t count, std::vector<Poco::UInt64>& acked)
{
	const std::size_t before = acked.size();
	for (std::size_t i = 0; i < count; ++i)
	{
		if (_window.acknowledge(msgIds[i])) acked.push_back(msgIds[i]);
	}
	return acked.size() > before;
}


Poco::UInt32 Delivery::retransmitTicks() const
{
	return EventLoop::ticksFromSeconds(_manager.config().retransmitTimeout);
}


bool Delivery::retransmitAt(Poco::UInt32& tick) const
{
	if (_window.empty()) return false;
	tick = _window.oldestSentAt() + retransmitTicks();
	return true;
}


void Delivery::retransmit(Poco::UInt32 now)
{
	// Never queue a second copy while earlier output has not even reached
	// the kernel: a peer that does not read would make it grow without bound.
	if (_window.empty() || _session.outputSize() > 0 || _fetching) return;
	if (!reached(now, _window.oldestSentAt() + retransmitTicks())) return;
	// Every unacknowledged message from the window's first id up to its
	// cursor is in flight here, so this page covers the whole window.
	auto& entries = _window.entries();
	fetch(entries.front().msgId - 1, entries.size(), true);
}


void Delivery::retryRead(Poco::UInt32 now)
{
	if (!_retry || _fetching || !reached(now, _retryAt)) return;
	_retry = false;
	fill();
}


bool Delivery::retryReadAt(Poco::UInt32& tick) const
{
	if (!_retry) return false;
	tick = _retryAt;
	return true;
}


void Delivery::resend(const std::vector<store::StoredMessage>& messages, Poco::UInt32 now)
{
	if (_window.empty()) return; // everything was acknowledged meanwhile
	const Poco::UInt32 timeout = retransmitTicks();
	auto& entries = _window.entries();
	std::string& out = _session.output();
	metrics::LoopCounters& counters = _session.loop().counters();
	imgate::v1::MessageDeliver deliver;
	std::size_t m = 0;
	std::size_t resent = 0;
	for (auto it = entries.begin(); it != entries.end();)
	{
		while (m < messages.size() && messages[m].msgId < it->msgId) ++m;
		if (m == messages.size() || messages[m].msgId != it->msgId)
		{
			it = _window.forget(it); // no longer pending in the store
			continue;
		}
		if (reached(now, it->sentAt + timeout))
		{
			appendDeliver(out, deliver, messages[m], messages[m].payload);
			it->sentAt = now;
			++resent;
			counters.messagesRetransmitted.add();
		}
		++it;
	}
	if (resent) _manager.logger().debug("uid=%s: retransmitted %z deliveries", _session.uid(), resent);
	// Room again: what arrived meanwhile can go out.
	if (_window.empty()) _refetch = true;
}

} } // namespace imgate::session
