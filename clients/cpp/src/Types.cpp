//
// Types.cpp
//
// The names come from the protocol layer; the public header repeats the
// numbers (it must not include server headers), and the static_asserts
// below keep the two the same.
//

#include "imgate/client/Types.h"
#include "server/protocol/Command.h"
#include "server/protocol/Status.h"
#include <cstring>

namespace imgate {
namespace client {

namespace {

template <int Public, protocol::Status Protocol>
constexpr bool same()
{
	return Public == static_cast<int>(Protocol);
}

static_assert(same<StatusCode::OK, protocol::Status::OK>(), "status codes differ");
static_assert(same<StatusCode::BAD_REQUEST, protocol::Status::BAD_REQUEST>(), "status codes differ");
static_assert(same<StatusCode::AUTH_FAILED, protocol::Status::AUTH_FAILED>(), "status codes differ");
static_assert(same<StatusCode::DEVICE_LIMIT, protocol::Status::DEVICE_LIMIT>(), "status codes differ");
static_assert(same<StatusCode::RECIPIENT_INVALID, protocol::Status::RECIPIENT_INVALID>(), "status codes differ");
static_assert(same<StatusCode::NOT_MEMBER, protocol::Status::NOT_MEMBER>(), "status codes differ");
static_assert(same<StatusCode::SERVER_BUSY, protocol::Status::SERVER_BUSY>(), "status codes differ");
static_assert(same<StatusCode::SHUTTING_DOWN, protocol::Status::SHUTTING_DOWN>(), "status codes differ");
static_assert(same<StatusCode::INTERNAL, protocol::Status::INTERNAL>(), "status codes differ");
static_assert(static_cast<int>(KickReason::DUPLICATE_LOGIN) == static_cast<int>(protocol::KickReason::DUPLICATE_LOGIN)
	&& static_cast<int>(KickReason::SHUTDOWN) == static_cast<int>(protocol::KickReason::SHUTDOWN), "kick reasons differ");

} // namespace


std::string statusName(int status)
{
	switch (status)
	{
	case StatusCode::OFFLINE: return "OFFLINE";
	case StatusCode::DISCONNECTED: return "DISCONNECTED";
	case StatusCode::CLOSED: return "CLOSED";
	case StatusCode::KICKED: return "KICKED";
	default: break;
	}
	const char* name = status >= 0 && status <= 0xFFFF ? protocol::statusName(static_cast<Poco::UInt16>(status)) : "UNKNOWN";
	return std::strcmp(name, "UNKNOWN") == 0 ? "STATUS_" + std::to_string(status) : name;
}


std::string kickReasonName(KickReason reason)
{
	const char* name = protocol::kickReasonName(static_cast<protocol::KickReason>(reason));
	return std::strcmp(name, "UNKNOWN") == 0 ? "REASON_" + std::to_string(static_cast<unsigned>(reason)) : name;
}


std::string stateName(State state)
{
	switch (state)
	{
	case State::IDLE: return "idle";
	case State::CONNECTING: return "connecting";
	case State::ONLINE: return "online";
	case State::RECONNECTING: return "reconnecting";
	case State::CLOSED: return "closed";
	}
	return "unknown";
}

} } // namespace imgate::client
