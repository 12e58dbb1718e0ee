//
// FrameEncoder.cpp
//
// Layer: protocol
//

#include "server/protocol/FrameEncoder.h"
#include "server/protocol/FrameHeader.h"
#include <google/protobuf/message_lite.h>

namespace imgate {
namespace protocol {

void FrameEncoder::append(std::string& out, Command cmd, Status status, Poco::UInt32 seq,
	const google::protobuf::MessageLite& body)
{
	std::size_t bodyLength = body.ByteSizeLong();
	FrameHeader header;
	header.cmd = static_cast<Poco::UInt16>(cmd);
	header.status = static_cast<Poco::UInt16>(status);
	header.seq = seq;
	header.bodyLength = static_cast<Poco::UInt32>(bodyLength);
	std::size_t start = out.size();
	out.resize(start + FrameHeader::SIZE + bodyLength);
	header.write(&out[start]);
	body.SerializeWithCachedSizesToArray(reinterpret_cast<google::protobuf::uint8*>(&out[start + FrameHeader::SIZE]));
}


void FrameEncoder::append(std::string& out, Command cmd, Status status, Poco::UInt32 seq)
{
	appendRaw(out, static_cast<Poco::UInt16>(cmd), static_cast<Poco::UInt16>(status), seq, nullptr, 0);
}


void FrameEncoder::appendRaw(std::string& out, Poco::UInt16 cmd, Poco::UInt16 status, Poco::UInt32 seq,
	const char* body, std::size_t length, Poco::UInt8 flags, Poco::UInt8 version)
{
	FrameHeader header;
	header.version = version;
	header.flags = flags;
	header.cmd = cmd;
	header.status = status;
	header.seq = seq;
	header.bodyLength = static_cast<Poco::UInt32>(length);
	std::size_t start = out.size();
	out.resize(start + FrameHeader::SIZE);
	header.write(&out[start]);
	if (length) out.append(body, length);
}


std::string FrameEncoder::encode(Command cmd, Status status, Poco::UInt32 seq,
	const google::protobuf::MessageLite& body)
{
	std::string out;
	append(out, cmd, status, seq, body);
	return out;
}

} } // namespace imgate::protocol
