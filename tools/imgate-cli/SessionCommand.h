//
// SessionCommand.h
//
// imgate-cli's commands that log in (send, listen, history), on the C++
// client library (imgate::client::Client, docs/clients-cpp.md) without
// reconnects: one attempt, the exit code says how it went.
//

#ifndef imgate_client_SessionCommand_INCLUDED
#define imgate_client_SessionCommand_INCLUDED

#include "imgate/client/Client.h"
#include <string>
#include <vector>

namespace imgate {
namespace client {

class SessionCommand
	/// One command, run once.
{
public:
	enum ExitCode
	{
		EXIT_OK = 0,
		EXIT_ERROR_STATUS = 1, /// The server refused (the login, the send, the history) or kicked.
		EXIT_CONNECTION = 3    /// Cannot connect, timeout, connection lost.
	};

	struct Options
	{
		ClientOptions client;          /// reconnect is turned off.
		std::string command;           /// "send", "listen" or "history".
		std::vector<std::string> args; /// send: [TO] TEXT.
		std::string group;             /// send, history: the group.
		std::string with;              /// history --with.
		bool transient = false;        /// send --transient.
		long count = 0;                /// listen --count (0: no limit).
		long seconds = 0;              /// listen --seconds (0: no limit).
		long limit = 0;                /// history --limit.
	};

	static int run(const Options& options);
		/// Prints the results on standard output and what went wrong on
		/// standard error; returns an ExitCode.

	static std::string describe(const Message& message, const std::string& self);
		/// "msg_id=N from=UID [group=G | to=UID] [transient]: TEXT"; a 1:1
		/// message names its recipient only when self sent it to another
		/// uid (a carbon, or one's own message in history).

private:
	static int send(Client& client, const Options& options);
	static int listen(Client& client, const Options& options);
		/// Starts the client itself, after setting its handlers.
	static int history(Client& client, const Options& options);
	static int failed(const Client& client, const std::string& what, int status, const std::string& message);
};

} } // namespace imgate::client

#endif // imgate_client_SessionCommand_INCLUDED
