//
// Acceptor.cpp
//
// Layer: net
//

#include "server/net/Acceptor.h"
#include "server/net/Connection.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "Poco/Net/TCPServerParams.h"
#include <atomic>

namespace imgate {
namespace net {

ConnectionFactory::~ConnectionFactory()
{
}


AcceptCheck::~AcceptCheck()
{
}


class Acceptor::Filter: public Poco::Net::TCPServerConnectionFilter
	/// Runs on the accept thread: the connection limit, then the check.
{
public:
	Filter(ConnectionLimiter& limiter, const std::string& busyReply, AcceptCheck* pCheck):
		_limiter(limiter),
		_busyReply(busyReply),
		_pCheck(pCheck)
	{
	}

	bool accept(const Poco::Net::StreamSocket& socket) override
	{
		if (_pCheck && !_pCheck->accept(socket)) return false;
		if (_limiter.tryAcquire()) return true;
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
	std::string _busyReply;
	AcceptCheck* _pCheck;
};


namespace {

class HandOff: public Poco::Net::TCPServerConnection
	/// Posts the socket to a loop and returns: no thread per connection.
{
public:
	HandOff(const Poco::Net::StreamSocket& socket, LoopPool& loops, ConnectionFactory& factory):
		Poco::Net::TCPServerConnection(socket),
		_loops(loops),
		_factory(factory)
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
		loop.post([s, peer, &loop, &factory, &limiter]() mutable
		{
			try
			{
				s.setBlocking(false);
				loop.adopt(factory.createConnection(loop, s, peer));
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
};

} // namespace


class Acceptor::HandOffFactory: public Poco::Net::TCPServerConnectionFactory
{
public:
	HandOffFactory(LoopPool& loops, ConnectionFactory& factory):
		_loops(loops),
		_factory(factory)
	{
	}

	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override
	{
		return new HandOff(socket, _loops, _factory);
	}

private:
	LoopPool& _loops;
	ConnectionFactory& _factory;
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
	_threadPool("imgate-accept", 1, 2),
	_socket(socket),
	_server(new HandOffFactory(loops, factory), _threadPool, socket, makeParams()),
	_pFilter(new Filter(loops.limiter(), busyReply, pCheck))
{
	_server.setConnectionFilter(_pFilter);
	_port = _socket.address().port();
}


Acceptor::~Acceptor()
{
	stop();
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
