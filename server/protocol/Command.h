//
// Command.h
//
// Layer: protocol
// The command codes of protocol v1 (docs/protocol.md, "Commands").
//

#ifndef imgate_protocol_Command_INCLUDED
#define imgate_protocol_Command_INCLUDED

#include "include/imgate/Command.h"
#include "Poco/Types.h"

namespace imgate {
namespace protocol {

using Command = imgate::Command;
	/// The header's cmd field: the SDK's list (include/imgate/Command.h,
	/// header-only), so the server and the plugins share one list of codes.


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
