//
// Transport.cpp
//

#include "clients/cpp/src/Transport.h"
#include "tools/imgate-cli/ClientTlsContext.h"
#include "tools/imgate-cli/TlsChannel.h"
#include "tools/imgate-cli/WebSocketFramer.h"
#include "tools/imgate-cli/WebSocketUpgrade.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Timestamp.h"
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace imgate {
namespace client {

namespace {

const std::size_t FRAME_HEADER = 16;

} // namespace


Transport::Transport()
{
}


Transport::~Transport()
{
	_pTls.reset();
	try
	{
		_socket.close();
	}
	catch (Poco::Exception&)
	{
		// Nothing to do about a socket that will not close.
	}
}


std::unique_ptr<Transport> Transport::connect(const ClientOptions& options, const ClientTlsContext* pTls)
{
	std::unique_ptr<Transport> pTransport(new Transport);
	const std::string where = options.host + ":" + std::to_string(options.port);
	try
	{
		pTransport->_socket.connect(Poco::Net::SocketAddress(options.host, options.port), options.connectTimeout);
		pTransport->_socket.setNoDelay(true);
		pTransport->_socket.setSendTimeout(options.connectTimeout);
		if (pTls)
		{
			pTransport->_pTls.reset(new TlsChannel(pTransport->_socket, *pTls, options.serverName.empty() ? options.host : options.serverName));
			pTransport->_pTls->handshake(options.connectTimeout);
		}
		if (!options.webSocketPath.empty()) pTransport->upgrade(options);
	}
	catch (Poco::TimeoutException& exc)
	{
		throw Poco::TimeoutException(where + ": " + exc.message() + " (connectTimeout " + std::to_string(options.connectTimeout.totalMilliseconds()) + " ms)");
	}
	catch (Poco::Net::WebSocketException& exc)
	{
		throw Poco::Net::WebSocketException(where + ": " + exc.message(), exc.code());
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException(where + ": " + exc.displayText());
	}
	return pTransport;
}


void Transport::upgrade(const ClientOptions& options)
{
	const std::string hostHeader = (options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host)
		+ ":" + std::to_string(options.port);
	WebSocketUpgrade upgrade(hostHeader, options.webSocketPath, "imgate.v1", options.origin);
	writeStream(upgrade.request());
	Poco::Timestamp start;
	bool complete = false;
	while (!complete)
	{
		const Poco::Timespan left = options.connectTimeout - Poco::Timespan(start.elapsed());
		char buffer[4096];
		const int n = left > 0 ? readStream(buffer, sizeof(buffer), left) : -1;
		if (n < 0) throw Poco::TimeoutException(upgrade.describe() + ": no answer in time");
		if (n == 0) throw Poco::Net::WebSocketException(upgrade.describe() + ": connection closed by the server");
		complete = upgrade.feed(buffer, static_cast<std::size_t>(n));
	}
	upgrade.check();
	// A message holds one frame: its body and a WebSocket header at most.
	_pFramer.reset(new WebSocketFramer(options.maxFrameBody + FRAME_HEADER));
	const std::string rest = upgrade.rest();
	if (!rest.empty()) _pFramer->feed(rest.data(), rest.size());
}


int Transport::fd() const
{
	return _socket.impl()->sockfd();
}


int Transport::readStream(char* buffer, std::size_t length, Poco::Timespan timeout)
{
	if (_pTls)
	{
		const int n = _pTls->receive(buffer, length, timeout);
		if (n == 0) _lastError = _pTls->lastError();
		return n;
	}
	pollfd pfd = {fd(), POLLIN, 0};
	int ready;
	do ready = ::poll(&pfd, 1, static_cast<int>(timeout.totalMilliseconds()));
	while (ready < 0 && errno == EINTR);
	if (ready == 0) return -1;
	ssize_t n;
	do n = ::recv(fd(), buffer, length, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) return static_cast<int>(n);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
	_lastError = n == 0 ? std::string("closed by the server") : std::string(std::strerror(errno));
	return 0;
}


void Transport::writeStream(const std::string& bytes)
{
	if (_pTls)
	{
		_pTls->send(bytes.data(), bytes.size());
		return;
	}
	std::size_t done = 0;
	while (done < bytes.size())
	{
		const ssize_t n = ::send(fd(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
		if (n > 0)
		{
			done += static_cast<std::size_t>(n);
			continue;
		}
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw Poco::TimeoutException("the server takes no data");
		throw Poco::Net::NetException(std::string("write failed: ") + std::strerror(errno));
	}
}


int Transport::receive(char* buffer, std::size_t length)
{
	if (!_pFramer) return readStream(buffer, length, 0);
	return receiveMessages(buffer, length);
}


int Transport::receiveMessages(char* buffer, std::size_t length)
{
	// Frames taken out of the messages are returned first; then what the
	// socket has is decoded, until it has nothing more.
	while (_plain.empty())
	{
		WebSocketFramer::Frame frame;
		const WebSocketFramer::Result result = _pFramer->next(frame);
		if (result == WebSocketFramer::TOO_LARGE)
		{
			_lastError = "a WebSocket message from the server is above maxFrameBody";
			return 0;
		}
		if (result == WebSocketFramer::NEED_MORE)
		{
			char chunk[16384];
			const int n = readStream(chunk, sizeof(chunk), 0);
			if (n <= 0) return n;
			_pFramer->feed(chunk, static_cast<std::size_t>(n));
			continue;
		}
		switch (frame.opcode)
		{
		case WebSocketFramer::BINARY:
		case WebSocketFramer::CONTINUATION:
			_plain.append(frame.payload, frame.length);
			break;
		case WebSocketFramer::PING:
		{
			std::string pong;
			WebSocketFramer::append(pong, WebSocketFramer::PONG, frame.payload, frame.length);
			writeStream(pong);
			break;
		}
		case WebSocketFramer::PONG:
			break;
		case WebSocketFramer::CLOSE:
		{
			std::string close;
			WebSocketFramer::append(close, WebSocketFramer::CLOSE, frame.payload, frame.length < 2 ? frame.length : 2);
			try
			{
				writeStream(close);
			}
			catch (Poco::Exception&)
			{
				// The server is going anyway.
			}
			const unsigned code = frame.length >= 2
				? (static_cast<unsigned char>(frame.payload[0]) << 8) | static_cast<unsigned char>(frame.payload[1]) : 1005;
			_lastError = "WebSocket close " + std::to_string(code)
				+ (frame.length > 2 ? " (" + std::string(frame.payload + 2, frame.length - 2) + ")" : std::string());
			return 0;
		}
		default:
			_lastError = "a WebSocket text message from the server (imgate sends binary ones)";
			return 0;
		}
	}
	const std::size_t n = _plain.size() < length ? _plain.size() : length;
	std::memcpy(buffer, _plain.data(), n);
	_plain.erase(0, n);
	return static_cast<int>(n);
}


void Transport::send(const std::string& bytes)
{
	if (!_pFramer)
	{
		writeStream(bytes);
		return;
	}
	// One message per frame: the frames' own headers say where each ends.
	std::string messages;
	std::size_t at = 0;
	while (at + FRAME_HEADER <= bytes.size())
	{
		const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data() + at + 12);
		const std::size_t body = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
		const std::size_t size = FRAME_HEADER + body;
		WebSocketFramer::append(messages, WebSocketFramer::BINARY, bytes.data() + at, size < bytes.size() - at ? size : bytes.size() - at);
		at += size;
	}
	writeStream(messages);
}

} } // namespace imgate::client
