//
// AdminCommand.h
//
// imgate-cli admin: the admin API (docs/operations.md) from the command line.
//

#ifndef imgate_cli_AdminCommand_INCLUDED
#define imgate_cli_AdminCommand_INCLUDED

#include "Poco/Types.h"
#include <ostream>
#include <string>
#include <vector>

namespace imgate {
namespace client {

class AdminCommand
	/// One request to imgated's admin listener, printed for people.
	///
	///   admin stats
	///   admin sessions [--prefix P] [--limit N]
	///   admin session UID
	///   admin kick UID [MESSAGE]
	///   admin bans
	///   admin ban address|uid VALUE [SECONDS [REASON]]   (SECONDS 0 or none: until lifted)
	///   admin unban address|uid VALUE
	///
	/// The token comes from --admin-token-file F or the environment variable
	/// IMGATE_ADMIN_TOKEN (never from the command line, where ps shows it).
{
public:
	struct Options
	{
		std::string host = "127.0.0.1";
		Poco::UInt16 port = 7780;
		std::string tokenFile;
		std::string prefix;
		long limit = 0;                  /// 0: the server's default.
		std::vector<std::string> args;   /// The subcommand and its arguments.
	};

	enum
	{
		EXIT_OK = 0,
		EXIT_ERROR_STATUS = 1, /// The server answered with an error.
		EXIT_USAGE = 2,
		EXIT_CONNECTION = 3
	};

	static int run(const Options& options, std::ostream& out, std::ostream& err);

	static const char* usage();
};

} } // namespace imgate::client

#endif // imgate_cli_AdminCommand_INCLUDED
