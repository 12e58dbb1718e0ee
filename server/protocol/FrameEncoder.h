//
// FrameEncoder.h
//
// Layer: protocol
// Appends whole frames (header + protobuf body) to an output buffer.
//

#ifndef imgate_protocol_FrameEncoder_INCLUDED
#define imgate_protocol_FrameEncoder_INCLUDED

#include "server/protocol/Command.h"
#include "server/protocol/Status.h"
#include <string>

namespace google {
namespace protobuf {
class MessageLite;
} }

namespace imgate {
namespace protocol {

class FrameEncoder
	/// Stateless; all members are static and thread-safe.
{
public:
	static void append(std::string& out, Command cmd, Status status, Poco::UInt32 seq,
		const google::protobuf::MessageLite& body);
		/// Appends a frame whose body is body serialized.

	static void append(std::string& out, Command cmd, Status status, Poco::UInt32 seq);
		/// Appends a frame with an empty body.

	static void appendRaw(std::string& out, Poco::UInt16 cmd, Poco::UInt16 status, Poco::UInt32 seq,
		const char* body, std::size_t length, Poco::UInt8 flags = 0, Poco::UInt8 version = 1);
		/// Appends a frame with any header values and a raw body (tests and
		/// tools use it to write bad frames on purpose).

	static std::string encode(Command cmd, Status status, Poco::UInt32 seq,
		const google::protobuf::MessageLite& body);
		/// Returns one frame.
};

} } // namespace imgate::protocol

#endif // imgate_protocol_FrameEncoder_INCLUDED
