//
// AdminConnection.cpp
//
// Layer: admin
//

#include "server/admin/AdminConnection.h"
#include "server/admin/HttpRequestHead.h"
#include "Poco/DateTime.h"
#include "Poco/DateTimeFormat.h"
#include "Poco/DateTimeFormatter.h"
#include "Poco/Exception.h"
#include "Poco/JSON/Object.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/URI.h"
#include "Poco/Bugcheck.h"
#include <algorithm>
#include <sstream>

namespace imgate {
namespace admin {

using net::EventLoop;

bool AdminFront::Job::start()
{
	int expected = QUEUED;
	return _state.compare_exchange_strong(expected, RUNNING);
}


bool AdminFront::Job::abandon()
{
	int expected = QUEUED;
	return _state.compare_exchange_strong(expected, ABANDONED);
}


AdminFront::~AdminFront()
{
}


AdminConnection::AdminConnection(EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer,
		AdminFront& front, const std::string& addressKey):
	net::Connection(loop, socket),
	_front(front),
	_peer(peer.toString()),
	_accepted(loop.tick())
{
	front.table().add(*this, addressKey);
	loop.timers().schedule(*this, _accepted + EventLoop::ticksFromSeconds(FIRST_BYTE_SECONDS));
}


AdminConnection::~AdminConnection()
{
	// Also when the loop could not adopt it (onClose() never ran).
	_front.table().remove(*this);
}


void AdminConnection::onData(const char* data, std::size_t length)
{
	switch (_state)
	{
	case HEAD:
		{
			// The first byte came: the head now has its own, longer deadline,
			// still counted from the accept.
			if (_bytes.empty()) loop().timers().schedule(*this, _accepted + EventLoop::ticksFromSeconds(HEAD_SECONDS));
			_bytes.append(data, length);
			const std::size_t end = HttpRequestHead::end(_bytes, _scanned);
			_scanned = _bytes.size();
			if (end > 0) headComplete(end);
			else if (_bytes.size() > HttpRequestHead::MAX_BYTES)
				fail(431, "the request head is larger than " + std::to_string(HttpRequestHead::MAX_BYTES) + " bytes");
		}
		break;
	case BODY:
		_bytes.append(data, static_cast<std::size_t>(std::min<Poco::UInt64>(length, _bodyLength - _bytes.size())));
		_lastByte = loop().tick();
		if (_bytes.size() == _bodyLength) bodyComplete();
		break;
	case WAITING:
	case WRITING:
		break; // one request per connection: the rest is dropped
	case LINGERING:
		_dropped += length;
		if (_dropped > LINGER_BYTES) close();
		break;
	}
}


void AdminConnection::headComplete(std::size_t headLength)
{
	HttpRequestHead head;
	if (!head.parse(_bytes.substr(0, headLength)))
	{
		fail(head.status(), head.reason());
		return;
	}
	_request.method = head.method();
	_request.authorization = head.authorization();
	_request.peer = _peer;
	_headOnly = head.method() == "HEAD";
	try
	{
		Poco::URI uri(head.uri());
		_request.path = uri.getPath();
		for (const auto& kv: uri.getQueryParameters()) _request.query.push_back(kv);
	}
	catch (Poco::Exception& exc)
	{
		fail(400, "malformed request target: " + exc.message());
		return;
	}
	_bodyLength = head.contentLength();
	_bytes.erase(0, headLength);
	// A body is read only for an authorized POST: anyone else's is never
	// waited for.
	if (_bodyLength == 0 || !_front.wantsBody(_request))
	{
		_bytes.clear();
		dispatch();
		return;
	}
	if (_bodyLength > _front.maxBodyBytes())
	{
		fail(413, "the body is larger than admin.maxBodyBytes (" + std::to_string(_front.maxBodyBytes()) + ")");
		return;
	}
	if (head.expectContinue()) output() += "HTTP/1.1 100 Continue\r\n\r\n";
	if (_bytes.size() > _bodyLength) _bytes.resize(static_cast<std::size_t>(_bodyLength));
	_state = BODY;
	_bodyStart = _lastByte = loop().tick();
	if (_bytes.size() == _bodyLength)
	{
		bodyComplete();
		return;
	}
	loop().timers().schedule(*this, _lastByte + EventLoop::ticksFromSeconds(BODY_IDLE_SECONDS));
}


void AdminConnection::bodyComplete()
{
	_request.body.swap(_bytes);
	dispatch();
}


void AdminConnection::dispatch()
{
	_state = WAITING;
	_pJob = std::make_shared<AdminFront::Job>();
	// A stuck admin thread must not hold the connection for ever; an
	// answer that comes within the deadline is always written.
	loop().timers().schedule(*this, loop().tick() + EventLoop::ticksFromSeconds(ANSWER_SECONDS));
	if (!_front.dispatch(_request, loop(), id(), _pJob))
		fail(503, "every admin thread is busy: try again");
}


void AdminConnection::onTimer()
{
	const Poco::UInt32 now = loop().tick();
	switch (_state)
	{
	case HEAD:
		if (_bytes.empty()) close(); // nothing asked, nobody to answer
		else fail(408, "the request head did not arrive within " + std::to_string(HEAD_SECONDS) + " s");
		break;
	case BODY:
		{
			const Poco::UInt32 total = _bodyStart + EventLoop::ticksFromSeconds(BODY_SECONDS);
			const Poco::UInt32 idle = _lastByte + EventLoop::ticksFromSeconds(BODY_IDLE_SECONDS);
			if (static_cast<Poco::Int32>(now - total) >= 0)
				fail(408, "the body did not arrive within " + std::to_string(BODY_SECONDS) + " s");
			else if (static_cast<Poco::Int32>(now - idle) >= 0)
				fail(408, "the body stopped short of its length");
			else
				loop().timers().schedule(*this, static_cast<Poco::Int32>(idle - total) < 0 ? idle : total);
		}
		break;
	case WAITING:
		if (_pJob->abandon())
			fail(503, "no admin thread was free for " + std::to_string(ANSWER_SECONDS) + " s: the request was not run; try again");
		else
			fail(503, "the request did not finish within " + std::to_string(ANSWER_SECONDS) + " s; it may still take effect");
		break;
	case WRITING:   // the client does not read its answer
	case LINGERING: // the client has had its answer and does not close
		close();
		break;
	}
}


void AdminConnection::onClose()
{
	_front.table().remove(*this);
}


bool AdminConnection::onEndOfInput()
{
	switch (_state)
	{
	case HEAD:
		if (_bytes.empty()) return true; // nothing asked, nobody to answer
		_inputEnded = true;
		fail(400, "the request head stopped short: the client closed its side");
		return false;
	case BODY:
		_inputEnded = true;
		fail(400, "the body stopped short of its length: the client closed its side");
		return false;
	case WAITING:
	case WRITING:
		_inputEnded = true;
		return false; // the request is complete: answer it
	case LINGERING:
		break;
	}
	return true; // the client has read its answer and closed: done
}


void AdminConnection::respond(const AdminResponse& response)
{
	poco_assert_dbg(loop().inLoopContext());
	if (_state != WAITING || closing()) return; // answered already (its deadline passed)
	answer(response);
}


void AdminConnection::refuse(int status, const std::string& message)
{
	poco_assert_dbg(loop().inLoopContext());
	if ((_state != HEAD && _state != BODY) || closing()) return;
	fail(status, message);
}


void AdminConnection::fail(int status, const std::string& message)
{
	answer(error(status, message));
}


void AdminConnection::answer(const AdminResponse& response)
{
	if (_state == WRITING || _state == LINGERING) return;
	_state = WRITING;
	_bytes.clear();
	_request = AdminRequest();
	output() += format(response, _headOnly);
	loop().timers().schedule(*this, loop().tick() + EventLoop::ticksFromSeconds(WRITE_SECONDS));
}


void AdminConnection::onWriteProgress()
{
	if (_state == WRITING && outputSize() == 0) written();
}


void AdminConnection::written()
{
	// The answer is with the kernel: send the end after it, and read what
	// the client still sends until it closes, so that the close does not
	// turn into a reset that the client sees before the answer.
	try
	{
		Poco::Net::StreamSocket s(socket());
		s.shutdownSend();
	}
	catch (Poco::Exception&)
	{
		close(); // the peer is gone
		return;
	}
	if (_inputEnded)
	{
		close(); // nothing more will come
		return;
	}
	_state = LINGERING;
	loop().timers().schedule(*this, loop().tick() + EventLoop::ticksFromSeconds(LINGER_SECONDS));
}


AdminConnectionTable::Rank AdminConnection::evictionRank() const
{
	if (closing()) return AdminConnectionTable::NEVER;
	switch (_state)
	{
	case HEAD:
		return AdminConnectionTable::HEAD;
	case BODY:
		return AdminConnectionTable::BODY;
	case LINGERING:
		return AdminConnectionTable::LINGERING;
	case WAITING:
	case WRITING:
		break;
	}
	return AdminConnectionTable::NEVER;
}


void AdminConnection::evict()
{
	poco_assert_dbg(loop().inLoopContext());
	if (_state != LINGERING && outputSize() == 0)
	{
		const std::string busy = format(error(503, "too many admin connections: this one was closed to make room before its request was complete"), false);
		try
		{
			// Non-blocking, best effort: the slot is freed now, whatever
			// the client reads.
			Poco::Net::StreamSocket s(socket());
			s.sendBytes(busy.data(), static_cast<int>(busy.size()));
		}
		catch (Poco::Exception&)
		{
		}
	}
	close();
}


std::string AdminConnection::describe() const
{
	switch (_state)
	{
	case HEAD:
		return _peer + (_bytes.empty() ? " (nothing sent yet)" : " (still sending its request head)");
	case BODY:
		return _peer + " (still sending its request body)";
	case LINGERING:
		return _peer + " (answered, not closed yet)";
	case WAITING:
	case WRITING:
		break;
	}
	return _peer;
}


AdminResponse AdminConnection::error(int status, const std::string& message)
{
	AdminResponse response;
	response.status = status;
	Poco::JSON::Object body;
	body.set("error", message);
	std::ostringstream out;
	body.stringify(out);
	response.body = out.str() + "\n";
	return response;
}


std::string AdminConnection::format(const AdminResponse& response, bool headOnly)
{
	std::string out;
	out.reserve(256 + response.body.size());
	out += "HTTP/1.1 ";
	out += std::to_string(response.status);
	out += ' ';
	out += Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
	out += "\r\nDate: ";
	out += Poco::DateTimeFormatter::format(Poco::DateTime(), Poco::DateTimeFormat::HTTP_FORMAT);
	out += "\r\nServer: imgated\r\nConnection: Close\r\nCache-Control: no-store";
	if (response.status != 204) // no content, and RFC 9110 allows no Content-Length
	{
		out += "\r\nContent-Type: ";
		out += response.contentType;
		out += "\r\nContent-Length: ";
		out += std::to_string(response.body.size());
	}
	if (!response.allow.empty())
	{
		out += "\r\nAllow: ";
		out += response.allow;
	}
	if (response.challenge) out += "\r\nWWW-Authenticate: Bearer";
	out += "\r\n\r\n";
	if (!headOnly) out += response.body;
	return out;
}

} } // namespace imgate::admin
