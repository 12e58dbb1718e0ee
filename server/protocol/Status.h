//
// Status.h
//
// Layer: protocol
// The result codes of protocol v1 carried in the header's status field.
//

#ifndef imgate_protocol_Status_INCLUDED
#define imgate_protocol_Status_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace protocol {

enum class Status: Poco::UInt16
	/// Values are the wire values (docs/protocol.md, "Status codes").
{
	OK                  = 0,
	BAD_REQUEST         = 1,
	UNSUPPORTED_VERSION = 2,
	UNKNOWN_COMMAND     = 3,
	FRAME_TOO_LARGE     = 4,
	AUTH_FAILED         = 10,
	NOT_LOGGED_IN       = 11,
	ALREADY_LOGGED_IN   = 12,
	BANNED              = 13,
	RATE_LIMITED        = 14,
	DEVICE_LIMIT        = 15, /// 1.1
	RECIPIENT_INVALID   = 20,
	PAYLOAD_TOO_LARGE   = 21,
	NOT_MEMBER          = 22, /// 1.1
	SERVER_BUSY         = 30,
	SHUTTING_DOWN       = 31,
	INTERNAL            = 50
};

const char* statusName(Poco::UInt16 status);
	/// Returns the status's name ("BAD_REQUEST"), or "UNKNOWN" for a code not in the table.

inline const char* statusName(Status status)
{
	return statusName(static_cast<Poco::UInt16>(status));
}

} } // namespace imgate::protocol

#endif // imgate_protocol_Status_INCLUDED
