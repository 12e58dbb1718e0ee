//
// Names.cpp
//
// Layer: protocol
// Names of commands and status codes, for logs and client messages.
//

#include "server/protocol/Command.h"
#include "server/protocol/Status.h"

namespace imgate {
namespace protocol {

const char* commandName(Poco::UInt16 cmd)
{
	switch (static_cast<Command>(cmd))
	{
	case Command::LOGIN:           return "LOGIN";
	case Command::LOGIN_RESP:      return "LOGIN_RESP";
	case Command::HEARTBEAT:       return "HEARTBEAT";
	case Command::HEARTBEAT_RESP:  return "HEARTBEAT_RESP";
	case Command::MSG_SEND:        return "MSG_SEND";
	case Command::MSG_SEND_ACK:    return "MSG_SEND_ACK";
	case Command::MSG_DELIVER:     return "MSG_DELIVER";
	case Command::MSG_DELIVER_ACK: return "MSG_DELIVER_ACK";
	case Command::KICK:            return "KICK";
	case Command::LOGOUT:          return "LOGOUT";
	case Command::ERROR:           return "ERROR";
	case Command::HISTORY:         return "HISTORY";
	case Command::HISTORY_RESP:    return "HISTORY_RESP";
	}
	return "UNKNOWN";
}


const char* kickReasonName(KickReason reason)
{
	switch (reason)
	{
	case KickReason::DUPLICATE_LOGIN: return "DUPLICATE_LOGIN";
	case KickReason::ADMIN:           return "ADMIN";
	case KickReason::BANNED:          return "BANNED";
	case KickReason::SHUTDOWN:        return "SHUTDOWN";
	}
	return "UNKNOWN";
}


const char* statusName(Poco::UInt16 status)
{
	switch (static_cast<Status>(status))
	{
	case Status::OK:                  return "OK";
	case Status::BAD_REQUEST:         return "BAD_REQUEST";
	case Status::UNSUPPORTED_VERSION: return "UNSUPPORTED_VERSION";
	case Status::UNKNOWN_COMMAND:     return "UNKNOWN_COMMAND";
	case Status::FRAME_TOO_LARGE:     return "FRAME_TOO_LARGE";
	case Status::AUTH_FAILED:         return "AUTH_FAILED";
	case Status::NOT_LOGGED_IN:       return "NOT_LOGGED_IN";
	case Status::ALREADY_LOGGED_IN:   return "ALREADY_LOGGED_IN";
	case Status::BANNED:              return "BANNED";
	case Status::RATE_LIMITED:        return "RATE_LIMITED";
	case Status::DEVICE_LIMIT:        return "DEVICE_LIMIT";
	case Status::RECIPIENT_INVALID:   return "RECIPIENT_INVALID";
	case Status::PAYLOAD_TOO_LARGE:   return "PAYLOAD_TOO_LARGE";
	case Status::NOT_MEMBER:          return "NOT_MEMBER";
	case Status::SERVER_BUSY:         return "SERVER_BUSY";
	case Status::SHUTTING_DOWN:       return "SHUTTING_DOWN";
	case Status::INTERNAL:            return "INTERNAL";
	}
	return "UNKNOWN";
}

} } // namespace imgate::protocol
