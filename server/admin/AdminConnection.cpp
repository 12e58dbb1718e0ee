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

AdminFront::~AdminFront()
{
}


AdminConnection::AdminConnection(EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, AdminFront& front):
	net::Connection(loop, socket),
	_front(front),
	_peer(peer.toString())
{
	loop.timers().schedule(*this, loop.tick() + EventLoop::ticksFromSeconds(HEAD_SECONDS));
}


AdminConnection::~AdminConnection()
{
}


void AdminConnection::onData(const char* data, std::size_t length)
{
	switch (_state)
	{
	case HEAD:
		{
			_bytes.append(data, length);
			const std::size_t end = HttpRequestHead::end(_bytes);
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
	case DONE:
		break; // one request per connection: the rest is not read
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
	net::TimerWheel::cancel(*this);
	if (!_front.dispatch(_request, loop(), id()))
		fail(503, "every admin thread is busy: try again");
}


void AdminConnection::onTimer()
{
	const Poco::UInt32 now = loop().tick();
	switch (_state)
	{
	case HEAD:
		fail(408, "the request head did not arrive within " + std::to_string(HEAD_SECONDS) + " s");
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
	case DONE:
		break;
	}
}


void AdminConnection::onClose()
{
}


bool AdminConnection::onEndOfInput()
{
	switch (_state)
	{
	case HEAD:
		if (_bytes.empty()) return true; // nothing asked, nobody to answer
		fail(400, "the request head stopped short: the client closed its side");
		return false;
	case BODY:
		fail(400, "the body stopped short of its length: the client closed its side");
		return false;
	case WAITING:
	case DONE:
		break;
	}
	return false; // the request is complete: answer it
}


void AdminConnection::respond(const AdminResponse& response)
{
	poco_assert_dbg(loop().inLoopContext());
	if (_state == DONE || closing()) return;
	_state = DONE;
	output() += format(response, _headOnly);
	closeAfterFlush(EventLoop::ticksFromSeconds(CLOSE_LINGER_SECONDS));
}


void AdminConnection::fail(int status, const std::string& message)
{
	respond(error(status, message));
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
	out += "\r\nServer: imgated\r\nConnection: Close\r\nCache-Control: no-store\r\nContent-Type: ";
	out += response.contentType;
	out += "\r\nContent-Length: ";
	out += std::to_string(response.body.size());
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
