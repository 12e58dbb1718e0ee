//
// HistoryClient.cpp
//
// imgate-bench: the history scenario's blocking session.
//

#include "tools/bench/HistoryClient.h"
#include "server/protocol/FrameEncoder.h"
#include "Poco/Exception.h"
#include "Poco/Net/SocketAddress.h"
#include <stdexcept>

namespace imgate {
namespace bench {

using protocol::Command;
using protocol::FrameEncoder;
using protocol::Status;

HistoryClient::HistoryClient(const std::string& host, unsigned port):
	_decoder(16 * 1024 * 1024),
	_buffer(256 * 1024)
{
	try
	{
		_socket.connect(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)), Poco::Timespan(10, 0));
		_socket.setNoDelay(true);
		_socket.setReceiveTimeout(Poco::Timespan(10, 0));
	}
	catch (Poco::Exception& exc)
	{
		throw std::runtime_error("history: cannot connect to " + host + ":" + std::to_string(port) + ": " + exc.displayText());
	}
}


void HistoryClient::login(const std::string& uid, const std::string& token)
{
	imgate::v1::LoginRequest login;
	login.set_uid(uid);
	login.set_token(token);
	login.set_device("imgate-bench");
	std::string frame;
	FrameEncoder::append(frame, Command::LOGIN, Status::OK, ++_seq, login);
	send(frame);
	std::string body;
	std::uint16_t status = 0;
	if (!readUntil(static_cast<std::uint16_t>(Command::LOGIN_RESP), body, status))
		throw std::runtime_error("history: no LOGIN_RESP within 10 s");
	if (status != static_cast<std::uint16_t>(Status::OK))
		throw std::runtime_error("history: LOGIN as " + uid + " refused with status " + std::to_string(status));
}


std::uint16_t HistoryClient::history(const imgate::v1::HistoryRequest& request, imgate::v1::HistoryResponse& response)
{
	std::string frame;
	FrameEncoder::append(frame, Command::HISTORY, Status::OK, ++_seq, request);
	send(frame);
	std::string body;
	std::uint16_t status = 0;
	if (!readUntil(static_cast<std::uint16_t>(Command::HISTORY_RESP), body, status))
		throw std::runtime_error("history: no HISTORY_RESP within 10 s");
	if (!response.ParseFromString(body)) throw std::runtime_error("history: HISTORY_RESP does not parse");
	return status;
}


void HistoryClient::send(const std::string& frame)
{
	try
	{
		_socket.sendBytes(frame.data(), static_cast<int>(frame.size()));
	}
	catch (Poco::Exception& exc)
	{
		throw std::runtime_error("history: send: " + exc.displayText());
	}
}


bool HistoryClient::readUntil(std::uint16_t cmd, std::string& body, std::uint16_t& status)
{
	bool found = false;
	while (!found)
	{
		int n = 0;
		try
		{
			n = _socket.receiveBytes(_buffer.data(), static_cast<int>(_buffer.size()));
		}
		catch (Poco::TimeoutException&)
		{
			return false;
		}
		catch (Poco::Exception& exc)
		{
			throw std::runtime_error("history: receive: " + exc.displayText());
		}
		if (n <= 0) throw std::runtime_error("history: the server closed the connection");
		// Every frame of the chunk is consumed before the next read (the
		// decoder borrows the chunk); the answer is the one awaited.
		imgate::v1::MessageDeliverAck ack;
		for (auto r = _decoder.feed(_buffer.data(), static_cast<std::size_t>(n)); r != protocol::FrameDecoder::NEED_MORE; r = _decoder.next())
		{
			if (r != protocol::FrameDecoder::FRAME) throw std::runtime_error("history: a bad frame from the server");
			const protocol::Frame& f = _decoder.frame();
			if (f.cmd == cmd && !found)
			{
				found = true;
				status = f.status;
				body.assign(f.body, f.bodyLength);
			}
			else if (f.cmd == static_cast<std::uint16_t>(Command::MSG_DELIVER))
			{
				imgate::v1::MessageDeliver d;
				if (d.ParseFromArray(f.body, static_cast<int>(f.bodyLength))) ack.add_msg_ids(d.msg_id());
			}
			else if (f.cmd == static_cast<std::uint16_t>(Command::KICK) || f.cmd == static_cast<std::uint16_t>(Command::ERROR))
			{
				throw std::runtime_error("history: the server sent " + std::string(f.cmd == static_cast<std::uint16_t>(Command::KICK) ? "KICK" : "ERROR"));
			}
		}
		if (ack.msg_ids_size() > 0)
		{
			std::string frame;
			FrameEncoder::append(frame, Command::MSG_DELIVER_ACK, Status::OK, ++_seq, ack);
			send(frame);
		}
	}
	return true;
}

} } // namespace imgate::bench
