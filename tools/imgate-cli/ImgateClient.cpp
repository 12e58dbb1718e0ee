//
// ImgateClient.cpp
//

#include "tools/imgate-cli/ImgateClient.h"
#include "tools/imgate-cli/TlsChannel.h"
#include "tools/imgate-cli/WebSocketUpgrade.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Base64Encoder.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/NumberFormatter.h"
#include "Poco/SHA1Engine.h"
#include "Poco/String.h"
#include "Poco/Timestamp.h"
#include "Poco/URI.h"
#include <algorithm>
#include <random>
#include <sstream>

using imgate::protocol::Command;
using imgate::protocol::FrameEncoder;
using imgate::protocol::Status;

namespace imgate {
namespace client {

namespace {

constexpr Poco::UInt32 MAX_BODY = 16 * 1024 * 1024;

std::string where(const std::string& host, Poco::UInt16 port)
{
	return host + ":" + std::to_string(port);
}


Poco::Timespan remaining(const Poco::Timestamp& start, Poco::Timespan timeout)
{
	Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
	return left > 0 ? left : Poco::Timespan(0, 1000);
}

} // namespace


ImgateClient::ImgateClient(const std::string& host, Poco::UInt16 port, Poco::Timespan connectTimeout, const std::string& sourceAddress):
	_decoder(MAX_BODY)
{
	try
	{
		if (!sourceAddress.empty()) _socket.impl()->bind(Poco::Net::SocketAddress(sourceAddress, 0), false);
		_socket.connect(Poco::Net::SocketAddress(host, port), connectTimeout);
		_socket.setNoDelay(true);
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException("cannot connect to " + host + ":" + std::to_string(port) + ": " + exc.displayText());
	}
}


std::unique_ptr<ImgateClient> ImgateClient::connectTls(const std::string& host, Poco::UInt16 port, const std::string& caFile, Poco::Timespan timeout)
{
	TlsOptions options;
	options.caFile = caFile;
	return connectTls(host, port, options, timeout);
}


std::unique_ptr<ImgateClient> ImgateClient::connectTls(const std::string& host, Poco::UInt16 port, const TlsOptions& options, Poco::Timespan timeout)
{
	Poco::Timestamp start;
	std::unique_ptr<ClientTlsContext> pContext(new ClientTlsContext(options));
	std::unique_ptr<ImgateClient> pClient(new ImgateClient(host, port, timeout));
	pClient->_pTlsContext = std::move(pContext);
	pClient->startTls(host, remaining(start, timeout));
	pClient->_transport = TLS;
	return pClient;
}


std::unique_ptr<ImgateClient> ImgateClient::connectWebSocket(const std::string& url, const std::string& caFile, const std::string& origin, Poco::Timespan timeout)
{
	WebSocketOptions options;
	options.caFile = caFile;
	options.origin = origin;
	return connectWebSocket(url, options, timeout);
}


std::unique_ptr<ImgateClient> ImgateClient::connectWebSocket(const std::string& url, const WebSocketOptions& options, Poco::Timespan timeout)
{
	Poco::Timestamp start;
	Poco::URI uri(url);
	const std::string scheme = Poco::toLower(uri.getScheme());
	if (scheme != "ws" && scheme != "wss") throw Poco::SyntaxException("expected a ws:// or wss:// URL", url);
	if (uri.getHost().empty()) throw Poco::SyntaxException("no host in the URL", url);
	const bool secure = scheme == "wss";
	const Poco::UInt16 port = uri.getSpecifiedPort() ? uri.getSpecifiedPort() : (secure ? 443 : 80);
	const std::string host = uri.getHost();
	std::string target = uri.getPathEtc();
	if (target.empty()) target = "/";
	const std::string hostHeader = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
	std::unique_ptr<ClientTlsContext> pContext;
	if (secure)
	{
		TlsOptions tls = options.tls;
		if (!options.caFile.empty()) tls.caFile = options.caFile;
		pContext.reset(new ClientTlsContext(tls));
	}
	std::unique_ptr<ImgateClient> pClient(new ImgateClient(host, port, timeout));
	if (secure)
	{
		pClient->_pTlsContext = std::move(pContext);
		pClient->startTls(host, remaining(start, timeout));
	}
	pClient->upgrade(hostHeader, target, options, secure ? WSS : WS, remaining(start, timeout));
	return pClient;
}


void ImgateClient::startTls(const std::string& host, Poco::Timespan timeout)
{
	const std::string peer = where(host, _socket.peerAddress().port());
	_pTls.reset(new TlsChannel(_socket, *_pTlsContext, host));
	try
	{
		_pTls->handshake(timeout);
	}
	catch (Poco::TimeoutException& exc)
	{
		throw Poco::TimeoutException("TLS to " + peer + ": " + exc.message());
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException("TLS to " + peer + ": " + exc.message());
	}
}


void ImgateClient::upgrade(const std::string& hostHeader, const std::string& target, const WebSocketOptions& options, Transport transport, Poco::Timespan timeout)
{
	Poco::Timestamp start;
	WebSocketUpgrade upgrade(hostHeader, target, options.subprotocol, options.origin, options.headers);
	writeStream(upgrade.request().data(), upgrade.request().size());
	// The answer's head, read in small pieces; what follows it is frames.
	bool complete = false;
	while (!complete)
	{
		const Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
		char buffer[4096];
		const int n = left > 0 ? readStream(buffer, sizeof(buffer), left) : -1;
		if (n < 0) throw Poco::TimeoutException(upgrade.describe() + ": no answer within " + std::to_string(timeout.totalMilliseconds()) + " ms");
		if (n == 0) throw Poco::Net::WebSocketException(upgrade.describe() + ": connection closed by the server"
			+ (upgrade.firstLine().empty() ? std::string(" before any answer") : " after \"" + upgrade.firstLine() + "\""));
		complete = upgrade.feed(buffer, static_cast<std::size_t>(n));
	}
	upgrade.check();
	_protocol = upgrade.protocol();
	_responseHeaders = upgrade.responseHeaders();
	_pFramer.reset(new WebSocketFramer(MAX_BODY + 64));
	_transport = transport;
	const std::string rest = upgrade.rest();
	if (!rest.empty()) onStreamBytes(rest.data(), rest.size());
}


ImgateClient::~ImgateClient()
{
	close();
}


void ImgateClient::close()
{
	try
	{
		_socket.close();
	}
	catch (Poco::Exception&)
	{
	}
}


void ImgateClient::writeStream(const char* data, std::size_t length)
{
	if (_pTls)
	{
		_pTls->send(data, length);
		return;
	}
	std::size_t sent = 0;
	while (sent < length)
	{
		int n = _socket.sendBytes(data + sent, static_cast<int>(length - sent));
		if (n <= 0) throw Poco::Net::NetException("connection closed while sending");
		sent += static_cast<std::size_t>(n);
	}
}


int ImgateClient::readStream(char* buffer, std::size_t length, Poco::Timespan timeout)
{
	if (_pTls) return _pTls->receive(buffer, length, timeout);
	if (!_socket.poll(timeout, Poco::Net::Socket::SELECT_READ)) return -1;
	try
	{
		const int n = _socket.receiveBytes(buffer, static_cast<int>(length));
		return n > 0 ? n : 0;
	}
	catch (Poco::Exception&)
	{
		return 0; // reset by peer counts as closed
	}
}


void ImgateClient::sendRaw(const std::string& bytes)
{
	if (isWebSocket()) sendWebSocketFrame(WebSocketFramer::BINARY, bytes);
	else writeStream(bytes.data(), bytes.size());
}


void ImgateClient::sendStream(const std::string& bytes)
{
	writeStream(bytes.data(), bytes.size());
}


void ImgateClient::send(Command cmd, Poco::UInt32 seq, const google::protobuf::MessageLite& body)
{
	sendRaw(FrameEncoder::encode(cmd, Status::OK, seq, body));
}


void ImgateClient::send(Command cmd, Poco::UInt32 seq)
{
	std::string frame;
	FrameEncoder::append(frame, cmd, Status::OK, seq);
	sendRaw(frame);
}


Poco::UInt32 ImgateClient::nextSeq()
{
	return ++_seq;
}


bool ImgateClient::readSome(Poco::Timespan timeout)
{
	if (_closed) return false;
	char buffer[65536];
	const int n = readStream(buffer, sizeof(buffer), timeout);
	if (n < 0) return false;
	if (n == 0)
	{
		endOfStream();
		return false;
	}
	onStreamBytes(buffer, static_cast<std::size_t>(n));
	return true;
}


void ImgateClient::endOfStream()
{
	_closed = true;
	if (isWebSocket() && _closeCode == 0) _closeCode = 1006;
}


void ImgateClient::onStreamBytes(const char* data, std::size_t length)
{
	if (!isWebSocket())
	{
		onFrameBytes(data, length);
		return;
	}
	_pFramer->feed(data, length);
	WebSocketFramer::Frame frame;
	while (!_closed)
	{
		const WebSocketFramer::Result r = _pFramer->next(frame);
		if (r == WebSocketFramer::NEED_MORE) break;
		if (r == WebSocketFramer::TOO_LARGE) throw Poco::DataFormatException("the server sent a WebSocket frame above 16 MiB");
		onWebSocketFrame(frame);
	}
}


void ImgateClient::onWebSocketFrame(const WebSocketFramer::Frame& frame)
{
	if (frame.masked) throw Poco::DataFormatException("the server sent a masked WebSocket frame");
	if (frame.rsv != 0) throw Poco::DataFormatException("the server sent a WebSocket frame with RSV bits set");
	switch (frame.opcode)
	{
	case WebSocketFramer::BINARY:
		if (_inMessage) throw Poco::DataFormatException("the server began a WebSocket message inside a fragmented one");
		if (frame.fin)
		{
			onMessage(frame.payload, frame.length);
		}
		else
		{
			_message.assign(frame.payload, frame.length);
			_inMessage = true;
		}
		return;
	case WebSocketFramer::CONTINUATION:
		if (!_inMessage) throw Poco::DataFormatException("the server sent a WebSocket continuation frame outside a message");
		_message.append(frame.payload, frame.length);
		if (frame.fin)
		{
			_inMessage = false;
			std::string message;
			message.swap(_message);
			onMessage(message.data(), message.size());
		}
		return;
	case WebSocketFramer::TEXT:
		throw Poco::DataFormatException("the server sent a WebSocket text message");
	case WebSocketFramer::PING:
		++_pingsReceived;
		if (!_closeSent)
		{
			// A server that pings and goes away: the read side reports the
			// end, not this write.
			try
			{
				sendWebSocketFrame(WebSocketFramer::PONG, std::string(frame.payload, frame.length));
			}
			catch (Poco::Exception&)
			{
			}
		}
		return;
	case WebSocketFramer::PONG:
		++_pongsReceived;
		_pongs.emplace_back(frame.payload, frame.length);
		return;
	case WebSocketFramer::CLOSE:
		_closeCode = 1005;
		if (frame.length >= 2)
		{
			_closeCode = static_cast<Poco::UInt16>((static_cast<unsigned char>(frame.payload[0]) << 8) | static_cast<unsigned char>(frame.payload[1]));
			_closeReason.assign(frame.payload + 2, frame.length - 2);
		}
		if (!_closeSent)
		{
			// The closing handshake: echo the code (RFC 6455 5.5.1); the
			// server then ends the TCP connection.
			try
			{
				sendWebSocketFrame(WebSocketFramer::CLOSE, frame.length >= 2 ? std::string(frame.payload, 2) : std::string());
			}
			catch (Poco::Exception&)
			{
			}
		}
		_closed = true;
		return;
	default:
		throw Poco::DataFormatException("the server sent a WebSocket frame with reserved opcode " + std::to_string(frame.opcode));
	}
}


void ImgateClient::onMessage(const char* data, std::size_t length)
{
	// Exactly one whole imgate frame per binary message (protocol-v1.1 section 1).
	static const char* const NOT_ONE = "the server sent a WebSocket message that is not exactly one imgate frame";
	if (_decoder.feed(data, length) != protocol::FrameDecoder::FRAME) throw Poco::DataFormatException(NOT_ONE);
	const protocol::Frame& f = _decoder.frame();
	Reply reply;
	reply.cmd = f.cmd;
	reply.status = f.status;
	reply.seq = f.seq;
	reply.body.assign(f.body, f.bodyLength);
	if (_decoder.next() != protocol::FrameDecoder::NEED_MORE || _decoder.buffered() != 0) throw Poco::DataFormatException(NOT_ONE);
	_queue.push_back(std::move(reply));
}


void ImgateClient::onFrameBytes(const char* data, std::size_t length)
{
	protocol::FrameDecoder::Result r = _decoder.feed(data, length);
	while (r == protocol::FrameDecoder::FRAME)
	{
		const protocol::Frame& f = _decoder.frame();
		Reply reply;
		reply.cmd = f.cmd;
		reply.status = f.status;
		reply.seq = f.seq;
		reply.body.assign(f.body, f.bodyLength);
		_queue.push_back(std::move(reply));
		r = _decoder.next();
	}
	if (r != protocol::FrameDecoder::NEED_MORE)
		throw Poco::DataFormatException("the server sent a malformed frame");
}


bool ImgateClient::receive(Reply& reply, Poco::Timespan timeout)
{
	Poco::Timestamp start;
	while (_queue.empty())
	{
		Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
		if (left <= 0 || _closed) return false;
		readSome(left);
	}
	reply = std::move(_queue.front());
	_queue.pop_front();
	return true;
}


bool ImgateClient::receiveMatching(Reply& reply, Poco::Timespan timeout, const std::function<bool(const Reply&)>& match)
{
	Poco::Timestamp start;
	std::size_t scanned = 0;
	while (true)
	{
		for (; scanned < _queue.size(); ++scanned)
		{
			if (match(_queue[scanned]))
			{
				reply = std::move(_queue[scanned]);
				_queue.erase(_queue.begin() + static_cast<std::ptrdiff_t>(scanned));
				return true;
			}
		}
		Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
		if (left <= 0 || _closed) return false;
		readSome(left);
	}
}


bool ImgateClient::receiveReply(Reply& reply, Command cmd, Poco::UInt32 seq, Poco::Timespan timeout)
{
	return receiveMatching(reply, timeout,
		[cmd, seq](const Reply& r) { return r.seq == seq && (r.command() == cmd || r.command() == Command::ERROR); });
}


bool ImgateClient::receiveCommand(Reply& reply, Command cmd, Poco::Timespan timeout)
{
	return receiveMatching(reply, timeout, [cmd](const Reply& r) { return r.command() == cmd; });
}


Reply ImgateClient::login(const std::string& uid, const std::string& token, const std::string& device, Poco::Timespan timeout)
{
	imgate::v1::LoginRequest request;
	request.set_uid(uid);
	request.set_token(token);
	request.set_device(device);
	request.set_client_version("imgate-client/1");
	Poco::UInt32 seq = nextSeq();
	send(Command::LOGIN, seq, request);
	Reply reply;
	if (!receiveReply(reply, Command::LOGIN_RESP, seq, timeout))
		throw Poco::TimeoutException(_closed ? "connection closed before LOGIN_RESP" : "no LOGIN_RESP in time");
	return reply;
}


Reply ImgateClient::sendMessage(const std::string& toUid, Poco::UInt64 clientMsgId, const std::string& payload, Poco::Timespan timeout)
{
	imgate::v1::MessageSend request;
	request.set_to_uid(toUid);
	request.set_client_msg_id(clientMsgId);
	request.set_payload(payload);
	Poco::UInt32 seq = nextSeq();
	send(Command::MSG_SEND, seq, request);
	Reply reply;
	if (!receiveReply(reply, Command::MSG_SEND_ACK, seq, timeout))
		throw Poco::TimeoutException(_closed ? "connection closed before MSG_SEND_ACK" : "no MSG_SEND_ACK in time");
	return reply;
}


void ImgateClient::ackDeliveries(const std::vector<Poco::UInt64>& msgIds)
{
	imgate::v1::MessageDeliverAck ack;
	for (Poco::UInt64 id: msgIds) ack.add_msg_ids(id);
	send(Command::MSG_DELIVER_ACK, nextSeq(), ack);
}


bool ImgateClient::waitClosed(Poco::Timespan timeout)
{
	Poco::Timestamp start;
	while (!_closed)
	{
		Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
		if (left <= 0) return false;
		readSome(left);
	}
	return true;
}

std::string ImgateClient::transportName() const
{
	switch (_transport)
	{
	case TLS: return "tls";
	case WS: return "ws";
	case WSS: return "wss";
	default: return "tcp";
	}
}


std::string ImgateClient::tlsVersion() const
{
	return _pTls ? _pTls->version() : std::string();
}


std::string ImgateClient::tlsCipher() const
{
	return _pTls ? _pTls->cipher() : std::string();
}


std::string ImgateClient::tlsPeerSubject() const
{
	return _pTls ? _pTls->peerSubject() : std::string();
}


std::string ImgateClient::tlsPeerSerial() const
{
	return _pTls ? _pTls->peerSerial() : std::string();
}


const std::string& ImgateClient::webSocketResponseHeader(const std::string& name) const
{
	static const std::string NONE;
	for (const auto& header: _responseHeaders)
	{
		if (Poco::icompare(header.first, name) == 0) return header.second;
	}
	return NONE;
}


void ImgateClient::sendWebSocketFrame(unsigned opcode, const std::string& payload, bool fin, bool masked, unsigned rsv)
{
	if (!isWebSocket()) throw Poco::IllegalStateException("sendWebSocketFrame: not a WebSocket connection");
	std::string out;
	WebSocketFramer::append(out, opcode, payload.data(), payload.size(), fin, masked, rsv);
	if (opcode == WebSocketFramer::CLOSE) _closeSent = true;
	writeStream(out.data(), out.size());
}


void ImgateClient::sendWebSocketClose(Poco::UInt16 code, const std::string& reason)
{
	sendWebSocketFrame(WebSocketFramer::CLOSE, WebSocketFramer::closePayload(code, reason));
}


bool ImgateClient::waitPong(const std::string& payload, Poco::Timespan timeout)
{
	Poco::Timestamp start;
	while (true)
	{
		auto it = std::find(_pongs.begin(), _pongs.end(), payload);
		if (it != _pongs.end())
		{
			_pongs.erase(it);
			return true;
		}
		const Poco::Timespan left = timeout - Poco::Timespan(start.elapsed());
		if (left <= 0 || _closed) return false;
		readSome(left);
	}
}

} } // namespace imgate::client
