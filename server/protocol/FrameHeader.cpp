//
// FrameHeader.cpp
//
// Layer: protocol
//

#include "server/protocol/FrameHeader.h"

namespace imgate {
namespace protocol {

namespace {

Poco::UInt16 read16(const char* p)
{
	const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
	return static_cast<Poco::UInt16>((u[0] << 8) | u[1]);
}

Poco::UInt32 read32(const char* p)
{
	const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
	return (Poco::UInt32(u[0]) << 24) | (Poco::UInt32(u[1]) << 16) | (Poco::UInt32(u[2]) << 8) | Poco::UInt32(u[3]);
}

void write16(char* p, Poco::UInt16 v)
{
	p[0] = static_cast<char>(v >> 8);
	p[1] = static_cast<char>(v);
}

void write32(char* p, Poco::UInt32 v)
{
	p[0] = static_cast<char>(v >> 24);
	p[1] = static_cast<char>(v >> 16);
	p[2] = static_cast<char>(v >> 8);
	p[3] = static_cast<char>(v);
}

} // namespace


FrameHeader FrameHeader::read(const char* wire)
{
	FrameHeader h;
	h.magic = read16(wire);
	h.version = static_cast<Poco::UInt8>(wire[2]);
	h.flags = static_cast<Poco::UInt8>(wire[3]);
	h.cmd = read16(wire + 4);
	h.status = read16(wire + 6);
	h.seq = read32(wire + 8);
	h.bodyLength = read32(wire + 12);
	return h;
}


void FrameHeader::write(char* wire) const
{
	write16(wire, magic);
	wire[2] = static_cast<char>(version);
	wire[3] = static_cast<char>(flags);
	write16(wire + 4, cmd);
	write16(wire + 6, status);
	write32(wire + 8, seq);
	write32(wire + 12, bodyLength);
}

} } // namespace imgate::protocol
