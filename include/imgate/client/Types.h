//
// Types.h
//
// imgate C++ client: the values the client hands to the application (a
// received Message, a SendResult, a Kick) and the status codes, as
// docs/protocol.md has them, plus the client's own.
//

#ifndef imgate_client_Types_INCLUDED
#define imgate_client_Types_INCLUDED

#include "Poco/Types.h"
#include <string>
#include <vector>

namespace imgate {
namespace client {

namespace StatusCode
	/// Statuses: the protocol's (docs/protocol.md, "Status codes"), which are
	/// 0 and above, and the client's own, below 0.
{
	enum
	{
		OK = 0,
		BAD_REQUEST = 1,
		UNSUPPORTED_VERSION = 2,
		UNKNOWN_COMMAND = 3,
		FRAME_TOO_LARGE = 4,
		AUTH_FAILED = 10,
		NOT_LOGGED_IN = 11,
		ALREADY_LOGGED_IN = 12,
		BANNED = 13,
		RATE_LIMITED = 14,
		DEVICE_LIMIT = 15,
		RECIPIENT_INVALID = 20,
		PAYLOAD_TOO_LARGE = 21,
		NOT_MEMBER = 22,
		SERVER_BUSY = 30,
		SHUTTING_DOWN = 31,
		INTERNAL = 50,

		OFFLINE = -1,      /// A transient send while the client was not logged in.
		DISCONNECTED = -2, /// A transient send in flight when the connection dropped (not repeated).
		CLOSED = -3,       /// The client was closed, or ended, before the server answered (with an outbox file the send stays in it for the next run).
		KICKED = -4        /// The client ended on a KICK (DUPLICATE_LOGIN or BANNED) before the server answered.
	};
}


std::string statusName(int status);
	/// "OK", "SERVER_BUSY", "CLOSED", ...; "STATUS_<n>" for a number the
	/// client does not know.


enum class KickReason
	/// KICK reasons (docs/protocol.md, "KICK and LOGOUT").
{
	NONE = 0,
	DUPLICATE_LOGIN = 1, /// The uid (and device) logged in elsewhere: the client ends.
	ADMIN = 2,           /// The admin API: the client reconnects.
	BANNED = 3,          /// The client ends.
	SHUTDOWN = 4         /// The server is stopping: the client reconnects.
};


std::string kickReasonName(KickReason reason);
	/// "DUPLICATE_LOGIN", ...; "REASON_<n>" for one the client does not know.


enum class State
	/// Where the client is. Every change is reported to Client::onState().
{
	IDLE,         /// Not started.
	CONNECTING,   /// Connecting and logging in (the first time, or at once after a refreshed token).
	ONLINE,       /// Logged in: sends go out, deliveries come in.
	RECONNECTING, /// Waiting for the next attempt (backoff).
	CLOSED        /// Ended for good: close(), a KICK that ends it, or a LOGIN refusal that cannot pass.
};


std::string stateName(State state);
	/// "idle", "connecting", "online", "reconnecting", "closed".


struct Message
	/// One delivery (MSG_DELIVER), handed to the application once.
{
	Poco::UInt64 msgId = 0;     /// Unique in the server; 0 for a transient message.
	std::string fromUid;
	std::string toUid;          /// 1:1 messages (protocol 1.1 servers fill it).
	std::string groupId;        /// Group messages.
	std::string payload;        /// The bytes as sent.
	Poco::Int64 timestampMs = 0; /// When the server accepted it (Unix ms).
	bool transient = false;     /// Not stored, never acknowledged, never repeated.
	bool carbon = false;        /// Sent by this uid from another session (carbons).
};


struct SendResult
	/// The outcome of one send.
{
	int status = StatusCode::OK; /// StatusCode: OK, a refusal of the server, or one of the client's own.
	Poco::UInt64 clientMsgId = 0;
	Poco::UInt64 msgId = 0;       /// OK: the message's id (0 for a transient one).
	Poco::Int64 timestampMs = 0;  /// OK: when the server accepted it.
	std::string message;          /// Why, for a failure (the server's text where it sent one).

	bool ok() const { return status == StatusCode::OK; }
};


struct HistoryQuery
	/// One HISTORY page (protocol 1.1): newest first.
{
	Poco::UInt64 beforeMsgId = 0; /// Messages below this id; 0: from the newest.
	unsigned limit = 0;           /// 0: the server's 50; at most 200.
	std::string withUid;          /// The 1:1 conversation with this uid, or
	std::string groupId;          /// the group's messages (at most one of the two).
};


struct HistoryPage
	/// The answer to a HistoryQuery.
{
	int status = StatusCode::OK; /// OK, a refusal (NOT_MEMBER, BAD_REQUEST, ...), or CLOSED/KICKED.
	std::vector<Message> messages; /// Newest first; carbon is set for the uid's own sent ones.
	bool more = false;             /// Older ones exist: ask again with beforeMsgId = the last one's msgId.
	std::string message;           /// Why, for a failure.

	bool ok() const { return status == StatusCode::OK; }
};


struct Kick
	/// A KICK from the server.
{
	KickReason reason = KickReason::NONE;
	std::string message;
};

} } // namespace imgate::client

#endif // imgate_client_Types_INCLUDED
