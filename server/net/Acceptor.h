//
// Acceptor.h
//
// Layer: net
// Poco::Net::TCPServer accepts; each accepted socket is checked at accept
// time, then handed to the next event loop, which owns it from then on.
//

#ifndef imgate_net_Acceptor_INCLUDED
#define imgate_net_Acceptor_INCLUDED

#include "server/net/LoopPool.h"
#include "server/net/PeerAddress.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/ThreadPool.h"
#include <memory>
#include <string>

namespace imgate {
namespace net {

class ConnectionFactory
	/// Creates the handler of an adopted socket; implemented by the session layer.
{
public:
	virtual ~ConnectionFactory();

	virtual Poco::UInt64 admissionTicket();
		/// Acceptor thread, just before a new connection's accept checks
		/// run; the value comes back to createConnection(), so the factory
		/// can tell what it decided after those checks (a ban the checks
		/// could not see yet). Default: 0.

	virtual std::unique_ptr<Connection> createConnection(EventLoop& loop, const Poco::Net::StreamSocket& socket, const PeerAddress& peer, Poco::UInt64 ticket) = 0;
		/// Loop thread of loop. The socket is already non-blocking; peer
		/// was taken right after accept (never empty outside tests); ticket
		/// is admissionTicket() of this connection (0 if none was taken).
		/// The caller adopts the connection right after.
};


class AcceptCheck
	/// An accept-time check (e.g. an address blacklist). Acceptor thread:
	/// must be fast and must not block.
{
public:
	virtual ~AcceptCheck();

	virtual bool accept(const Poco::Net::StreamSocket& socket) = 0;
		/// Returns false to refuse; may write a short reply first (the
		/// socket is blocking here; write with a timeout or not at all).
};


class Acceptor
	/// Owns the TCPServer. Thread set: TCPServer's accept thread (limit and
	/// checks only) and a two-thread pool whose TCPServerConnection::run()
	/// posts the socket to LoopPool::next() and returns.
{
public:
	Acceptor(LoopPool& loops, ConnectionFactory& factory, const Poco::Net::ServerSocket& socket,
		const std::string& busyReply, AcceptCheck* pCheck = nullptr);
		/// busyReply is written (best effort) to a connection refused because
		/// the limiter of loops is full. pCheck may be null.

	~Acceptor();

	static Poco::Net::ServerSocket listen(const std::string& host, Poco::UInt16 port);
		/// A listening socket for a client listener: SO_REUSEADDR (a restart
		/// while old connections linger in TIME_WAIT) but not SO_REUSEPORT,
		/// which POCO's bind(address, true) also sets (a second server on the
		/// same port must fail, not share it); a backlog of 1024. Throws
		/// Poco::Net::NetException "cannot listen on ADDRESS:PORT: why".

	void start();
	void stop();
		/// Stops accepting, waits for hand-offs under way and closes the
		/// listening socket. Idempotent.

	Poco::UInt16 port() const;

	Poco::UInt64 refusedBusy() const;
		/// Connections refused by the limiter since start.

private:
	class Filter;
	class HandOffFactory;
	class Tickets;

	std::unique_ptr<Tickets> _pTickets;
	Poco::ThreadPool _threadPool;
	Poco::Net::ServerSocket _socket;
	Poco::Net::TCPServer _server;
	Poco::UInt16 _port = 0;
	Poco::AutoPtr<Filter> _pFilter;
};

} } // namespace imgate::net

#endif // imgate_net_Acceptor_INCLUDED
