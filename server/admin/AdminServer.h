//
// AdminServer.h
//
// Layer: admin
// The admin HTTP listener: POCO's HTTPServer with its own small thread
// pool, so that no admin request ever runs on an event loop.
//

#ifndef imgate_admin_AdminServer_INCLUDED
#define imgate_admin_AdminServer_INCLUDED

#include "server/admin/AdminApi.h"
#include "Poco/Net/HTTPServer.h"
#include "Poco/ThreadPool.h"
#include <memory>
#include <string>

namespace imgate {
namespace admin {

class AdminServer
	/// Main thread: construct, start(), stop().
{
public:
	struct Options
	{
		std::string address = "127.0.0.1";
		unsigned port = 7780;
		std::string tokenFile;       /// "" for none.
		bool allowNoToken = false;
		unsigned threads = 2;
		std::size_t maxBodyBytes = 65536;
	};

	AdminServer(const AdminContext& context, const Options& options);
		/// Reads the token file and binds. Throws Poco::Exception naming
		/// admin.tokenFile and the file, or admin.address and admin.port.

	~AdminServer();
		/// stop().

	void start();

	void stop();
		/// Stops accepting, lets running requests end. Idempotent.

	Poco::UInt16 port() const;
		/// The bound port (useful with admin.port = 0).

	static std::string readToken(const std::string& path);
		/// The token in path, trimmed. Throws Poco::Exception naming
		/// admin.tokenFile and path: unreadable, empty, shorter than 16
		/// characters, or with whitespace inside.

	enum
	{
		MIN_TOKEN_LENGTH = 16,
		BODY_SECONDS = 5,        /// The most a request body may take to arrive.
		MAX_QUEUED = 64         /// Connections waiting for an admin thread; beyond, refused.
	};

private:
	std::unique_ptr<AdminApi> _pApi;
	std::unique_ptr<Poco::ThreadPool> _pThreads;
	std::unique_ptr<Poco::Net::HTTPServer> _pServer;
	Poco::UInt16 _port = 0;
	bool _stopped = false;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminServer_INCLUDED
