//
// Acceptor.cpp
//
// Layer: net
//

#include "server/net/Acceptor.h"
#include "Poco/Net/NetException.h"
#include "server/net/Connection.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "Poco/Net/TCPServerParams.h"
#include "Poco/Mutex.h"
#include <atomic>
#include <unordered_map>

namespace imgate {
namespace net {

ConnectionFactory::~ConnectionFactory()
{
}


Poco::UInt64 ConnectionFactory::admissionTicket()
{
	return 0;
}


class Acceptor::Tickets
	/// Carries each connection's admission ticket from the accept thread
	/// (Filter) to its hand-off (a pool thread), keyed by descriptor: one
	/// is unique while the socket is open, and the hand-off takes its
	/// entry before the loop can close it.
{
public:
	void put(int fd, Poco::UInt64 ticket)
	{
		if (ticket == 0) return;
		Poco::FastMutex::ScopedLock lock(_mutex);
		_tickets[fd] = ticket;
	}

	Poco::UInt64 take(int fd)
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		auto it = _tickets.find(fd);
		if (it == _tickets.end()) return 0;
		Poco::UInt64 ticket = it->second;
		_tickets.erase(it);
		return ticket;
	}

private:
	Poco::FastMutex _mutex;
	std::unordered_map<int, Poco::UInt64> _tickets;
};


AcceptCheck::~AcceptCheck()
{
}


class Acceptor::Filter: public Poco::Net::TCPServerConnectionFilter
	/// Runs on the accept thread: the connection limit, then the check.
{
public:
	Filter(ConnectionLimiter& limiter, ConnectionFactory& factory, Tickets& tickets, const std::string& busyReply, AcceptCheck* pCheck):
		_limiter(limiter),
		_factory(factory),
		_tickets(tickets),
		_busyReply(busyReply),
		_pCheck(pCheck)
	{
	}

	bool accept(const Poco::Net::StreamSocket& socket) override
	{
		// Before the check: whatever the factory decides from now on, the
		// check may not have seen.
		const Poco::UInt64 ticket = _factory.admissionTicket();
		if (_pCheck && !_pCheck->accept(socket)) return false;
		if (_limiter.tryAcquire())
		{
			_tickets.put(socket.impl()->sockfd(), ticket);
			return true;
		}
		++_refusedBusy;
		try
		{
			Poco::Net::StreamSocket s(socket);
			s.setBlocking(false);
			s.sendBytes(_busyReply.data(), static_cast<int>(_busyReply.size()));
		}
		catch (Poco::Exception&)
		{
			// Best effort: the peer learns from the close anyway.
		}
		return false;
	}

	std::atomic<Poco::UInt64> _refusedBusy{0};

private:
	ConnectionLimiter& _limiter;
	ConnectionFactory& _factory;
	Tickets& _tickets;
	std::string _busyReply;
	AcceptCheck* _pCheck;
};


namespace {

class HandOff: public Poco::Net::TCPServerConnection
	/// Posts the socket to a loop and returns: no thread per connection.
{
public:
	HandOff(const Poco::Net::StreamSocket& socket, LoopPool& loops, ConnectionFactory& factory, Poco::UInt64 ticket):
		Poco::Net::TCPServerConnection(socket),
		_loops(loops),
		_factory(factory),
		_ticket(ticket)
	{
	}

	void run() override
	{
		Poco::Net::StreamSocket s = socket();
		ConnectionLimiter& limiter = _loops.limiter();
		// The address now, while the peer is surely there: after a reset,
		// getpeername() has nothing to say.
		const PeerAddress peer(s);
		if (peer.empty())
		{
			limiter.release(); // gone already: nothing to serve
			return;
		}
		EventLoop& loop = _loops.next();
		ConnectionFactory& factory = _factory;
		const Poco::UInt64 ticket = _ticket;
		loop.post([s, peer, &loop, &factory, &limiter, ticket]() mutable
		{
			try
			{
				s.setBlocking(false);
				// A session's output is written once per loop turn, already
				// batched: Nagle's algorithm would only hold a small frame
				// back until the peer acknowledges the previous one (up to
				// its delayed-ACK time, 40 ms on Linux).
				try
				{
					s.setNoDelay(true);
				}
				catch (Poco::Exception&)
				{
					// Only latency: the connection is served anyway.
				}
				loop.adopt(factory.createConnection(loop, s, peer, ticket));
			}
			catch (...)
			{
				// The peer went away before adoption (e.g. ENOTCONN), or no
				// memory: the connection is dropped, its unit released.
				limiter.release();
			}
		});
	}

private:
	LoopPool& _loops;
	ConnectionFactory& _factory;
	const Poco::UInt64 _ticket;
};

} // namespace


class Acceptor::HandOffFactory: public Poco::Net::TCPServerConnectionFactory
{
public:
	HandOffFactory(LoopPool& loops, ConnectionFactory& factory, Tickets& tickets):
		_loops(loops),
		_factory(factory),
		_tickets(tickets)
	{
	}

	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override
	{
		return new HandOff(socket, _loops, _factory, _tickets.take(socket.impl()->sockfd()));
	}

private:
	LoopPool& _loops;
	ConnectionFactory& _factory;
	Tickets& _tickets;
};


namespace {

Poco::Net::TCPServerParams::Ptr makeParams()
{
	Poco::Net::TCPServerParams::Ptr pParams = new Poco::Net::TCPServerParams;
	pParams->setMaxThreads(2);
	// Hand-offs are quick; a deep queue means an accept burst is never
	// dropped by the dispatcher (which would bypass the limiter's release).
	pParams->setMaxQueued(1 << 20);
	return pParams;
}

} // namespace


Acceptor::Acceptor(LoopPool& loops, ConnectionFactory& factory, const Poco::Net::ServerSocket& socket,
		const std::string& busyReply, AcceptCheck* pCheck):
	_pTickets(new Tickets),
	_threadPool("imgate-accept", 1, 2),
	_socket(socket),
	_server(new HandOffFactory(loops, factory, *_pTickets), _threadPool, socket, makeParams()),
	_pFilter(new Filter(loops.limiter(), factory, *_pTickets, busyReply, pCheck))
{
	_server.setConnectionFilter(_pFilter);
	_port = _socket.address().port();
}


Acceptor::~Acceptor()
{
	stop();
}


Poco::Net::ServerSocket Acceptor::listen(const std::string& host, Poco::UInt16 port)
{
	Poco::Net::SocketAddress address(host, port);
	Poco::Net::ServerSocket socket;
	try
	{
		socket.bind(address, true, false);
		socket.listen(1024);
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException("cannot listen on " + address.toString() + ": " + exc.displayText());
	}
	return socket;
}


void Acceptor::start()
{
	_server.start();
}


void Acceptor::stop()
{
	_server.stop();
	_threadPool.joinAll();
	// Close the listening socket now, so that clients reconnecting during a
	// drain are refused at once instead of hanging in the backlog.
	try
	{
		_socket.close();
	}
	catch (Poco::Exception&)
	{
	}
}


Poco::UInt16 Acceptor::port() const
{
	return _port;
}


Poco::UInt64 Acceptor::refusedBusy() const
{
	return _pFilter->_refusedBusy.load();
}

} } // namespace imgate::net
