//
// ImgateClient.cpp
//

#include "tools/imgate-cli/ImgateClient.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Timestamp.h"

using imgate::protocol::Command;
using imgate::protocol::FrameEncoder;
using imgate::protocol::Status;

namespace imgate {
namespace client {

namespace {

constexpr Poco::UInt32 MAX_BODY = 16 * 1024 * 1024;

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


void ImgateClient::sendRaw(const std::string& bytes)
{
	std::size_t sent = 0;
	while (sent < bytes.size())
	{
		int n = _socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
		if (n <= 0) throw Poco::Net::NetException("connection closed while sending");
		sent += static_cast<std::size_t>(n);
	}
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
	if (!_socket.poll(timeout, Poco::Net::Socket::SELECT_READ)) return false;
	char buffer[65536];
	int n;
	try
	{
		n = _socket.receiveBytes(buffer, sizeof(buffer));
	}
	catch (Poco::Exception&)
	{
		n = 0; // reset by peer counts as closed
	}
	if (n <= 0)
	{
		_closed = true;
		return false;
	}
	protocol::FrameDecoder::Result r = _decoder.feed(buffer, static_cast<std::size_t>(n));
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
	return true;
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

} } // namespace imgate::client
