//
// FrameHeader.h
//
// Layer: protocol
// The fixed 16-byte frame header of protocol v1, big-endian on the wire.
//

#ifndef imgate_protocol_FrameHeader_INCLUDED
#define imgate_protocol_FrameHeader_INCLUDED

#include "Poco/Types.h"
#include <cstddef>

namespace imgate {
namespace protocol {

struct FrameHeader
	/// The decoded header fields. read() and write() convert from and to
	/// the wire layout; neither validates anything (FrameDecoder does).
{
	static constexpr std::size_t SIZE = 16;
	static constexpr Poco::UInt16 MAGIC = 0x494D; // "IM"
	static constexpr Poco::UInt8 VERSION = 1;

	Poco::UInt16 magic = MAGIC;
	Poco::UInt8 version = VERSION;
	Poco::UInt8 flags = 0;
	Poco::UInt16 cmd = 0;
	Poco::UInt16 status = 0;
	Poco::UInt32 seq = 0;
	Poco::UInt32 bodyLength = 0;

	static FrameHeader read(const char* wire);
		/// Reads SIZE bytes at wire.

	void write(char* wire) const;
		/// Writes SIZE bytes at wire.
};

} } // namespace imgate::protocol

#endif // imgate_protocol_FrameHeader_INCLUDED
