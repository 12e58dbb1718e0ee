//
// AdminServer.h
//
// Layer: admin
// The admin HTTP listener: its own event loop gathers requests (no client
// can hold a thread while it sends slowly), a few admin threads answer
// them, so that no admin request ever runs on a client event loop.
//

#ifndef imgate_admin_AdminServer_INCLUDED
#define imgate_admin_AdminServer_INCLUDED

#include "server/admin/AdminApi.h"
#include "server/admin/AdminWorkers.h"
#include "server/net/Acceptor.h"
#include "server/net/LoopPool.h"
#include <memory>
#include <string>

namespace imgate {
namespace admin {

class AdminServer
	/// Main thread: construct, start(), stop().
	///
	/// Threads: a net::Acceptor (its accept thread and two hand-off
	/// threads), one event loop ("imgate-loop-0" of its own LoopPool) that
	/// runs every AdminConnection, and Options::threads AdminWorkers that
	/// call AdminApi::handle() and post the answer back to the loop. At
	/// most MAX_CONNECTIONS connections at once (more get 503 at accept),
	/// at most MAX_QUEUED complete requests waiting for an admin thread
	/// (more get 503).
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
		MAX_CONNECTIONS = 256,   /// Admin connections at once; beyond, 503 at accept.
		MAX_QUEUED = 64          /// Requests waiting for an admin thread; beyond, 503.
	};

private:
	class Front;

	std::unique_ptr<AdminApi> _pApi;
	std::unique_ptr<AdminWorkers> _pWorkers;
	std::unique_ptr<net::LoopPool> _pLoops;
	std::unique_ptr<Front> _pFront;
	std::unique_ptr<net::Acceptor> _pAcceptor;
	Poco::UInt16 _port = 0;
	bool _started = false;
	bool _stopped = false;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminServer_INCLUDED
