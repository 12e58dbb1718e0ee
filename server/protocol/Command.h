//
// Command.h
//
// Layer: protocol
// The command codes of protocol v1 (docs/protocol.md, "Commands").
//

#ifndef imgate_protocol_Command_INCLUDED
#define imgate_protocol_Command_INCLUDED

#include "Poco/Types.h"

namespace imgate {
namespace protocol {

enum class Command: Poco::UInt16
	/// The header's cmd field. Values are the wire values.
{
	LOGIN           = 0x0001,
	LOGIN_RESP      = 0x0002,
	HEARTBEAT       = 0x0003,
	HEARTBEAT_RESP  = 0x0004,
	MSG_SEND        = 0x0010,
	MSG_SEND_ACK    = 0x0011,
	MSG_DELIVER     = 0x0012,
	MSG_DELIVER_ACK = 0x0013,
	KICK            = 0x0020,
	LOGOUT          = 0x0021,
	ERROR           = 0x00FF
};

enum class KickReason: Poco::UInt32
	/// Kick.reason values.
{
	DUPLICATE_LOGIN = 1,
	ADMIN           = 2,
	BANNED          = 3,
	SHUTDOWN        = 4
};

const char* kickReasonName(KickReason reason);
	/// "DUPLICATE_LOGIN", "ADMIN", "BANNED", "SHUTDOWN", or "UNKNOWN".

const char* commandName(Poco::UInt16 cmd);
	/// Returns the command's name ("LOGIN"), or "UNKNOWN" for a code not in the table.

} } // namespace imgate::protocol

#endif // imgate_protocol_Command_INCLUDED
