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
#include "server/admin/AdminListenerCounters.h"
#include "server/admin/AdminWorkers.h"
#include "server/net/Acceptor.h"
#include "server/net/Clock.h"
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
	/// call AdminApi::handle() and post the answer back to the loop.
	///
	/// At most MAX_CONNECTIONS connections in its table, MAX_PER_ADDRESS
	/// from one address: a new connection beyond either evicts the oldest
	/// one that has not sent its request (AdminConnectionTable), and is
	/// refused (503) only if every one is being answered. At most
	/// MAX_QUEUED complete requests wait for an admin thread (more get
	/// 503). At most MAX_SOCKETS connections accepted at once: the table,
	/// and those a burst brought faster than the loop places them or that
	/// are being told 503; beyond, 503 at accept.
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

	AdminServer(const AdminContext& context, const Options& options, const net::Clock& clock = net::Clock::monotonic());
		/// Reads the token file and binds. Throws Poco::Exception naming
		/// admin.tokenFile and the file, or admin.address and admin.port.
		/// The listener's deadlines follow clock (which must outlive the
		/// server; a test passes one it moves itself).

	~AdminServer();
		/// stop().

	void start();

	void stop();
		/// Stops accepting, lets running requests end. Idempotent.

	Poco::UInt16 port() const;
		/// The bound port (useful with admin.port = 0).

	std::size_t connectionCount() const;
		/// Admin connections open (placed on the loop). Any thread.

	bool sync(long timeoutMs = 5000);
		/// For tests: returns true once the listener's loop has finished a
		/// whole turn begun after the call (bytes that had reached an
		/// adopted connection are read, timers that were due have fired
		/// and what they wrote is sent); false after timeoutMs. Any thread
		/// but the loop's, between start() and stop().

	static std::string readToken(const std::string& path);
		/// The token in path, trimmed. Throws Poco::Exception naming
		/// admin.tokenFile and path: unreadable, empty, shorter than 16
		/// characters, or with whitespace inside.

	enum
	{
		MIN_TOKEN_LENGTH = 16,
		MAX_CONNECTIONS = 256,   /// The table; beyond, the oldest one without its request is evicted.
		MAX_PER_ADDRESS = 64,    /// From one address (IPv4, or IPv6 /64); beyond, that address's oldest goes.
		MAX_SOCKETS = 512,       /// Accepted at once; beyond, 503 at accept.
		MAX_QUEUED = 64          /// Requests waiting for an admin thread; beyond, 503.
	};

private:
	class Front;

	// Destroyed in the reverse of this order, each before what it borrows:
	// the acceptor (it hands sockets to the loop, connections to the
	// front); the admin threads (joined by stop() already: their jobs
	// borrow the API and post to the loop); the loop with the connections
	// it still owns (closing, they leave the front's connection table);
	// the front (it lends the workers to connections only); the API; last
	// the counters, which the table writes and /metrics reads.
	AdminListenerCounters _counters;
	std::unique_ptr<AdminApi> _pApi;
	std::unique_ptr<Front> _pFront;
	std::unique_ptr<net::LoopPool> _pLoops;
	std::unique_ptr<AdminWorkers> _pWorkers;
	std::unique_ptr<net::Acceptor> _pAcceptor;
	Poco::UInt16 _port = 0;
	bool _started = false;
	bool _stopped = false;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminServer_INCLUDED
