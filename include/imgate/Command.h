//
// Command.h
//
// imgate plugin SDK: the command codes of protocol v1 and 1.1 (docs/protocol.md,
// "Commands"), as FrameInfo::cmd carries them. The server's protocol layer
// takes its codes from this list too (imgate::protocol::Command).
//

#ifndef imgate_Command_INCLUDED
#define imgate_Command_INCLUDED

#include <cstdint>

namespace imgate {

enum class Command: std::uint16_t
	/// The frame header's cmd field. Values are the wire values; a client
	/// may send any other code, which the server answers with
	/// UNKNOWN_COMMAND.
{
	LOGIN           = 0x0001, /// C->S LoginRequest, answered by LOGIN_RESP.
	LOGIN_RESP      = 0x0002, /// S->C
	HEARTBEAT       = 0x0003, /// C->S, answered by HEARTBEAT_RESP.
	HEARTBEAT_RESP  = 0x0004, /// S->C
	MSG_SEND        = 0x0010, /// C->S MessageSend, answered by MSG_SEND_ACK.
	MSG_SEND_ACK    = 0x0011, /// S->C
	MSG_DELIVER     = 0x0012, /// S->C, answered by MSG_DELIVER_ACK.
	MSG_DELIVER_ACK = 0x0013, /// C->S
	KICK            = 0x0020, /// S->C, then the server closes.
	LOGOUT          = 0x0021, /// C->S: the server answers what came before, then closes.
	HISTORY         = 0x0030, /// C->S HistoryRequest, answered by HISTORY_RESP (protocol 1.1).
	HISTORY_RESP    = 0x0031, /// S->C (protocol 1.1)
	ERROR           = 0x00FF  /// S->C
};

} // namespace imgate

#endif // imgate_Command_INCLUDED
