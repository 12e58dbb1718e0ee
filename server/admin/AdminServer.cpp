//
// AdminServer.cpp
//
// Layer: admin
//

#include "server/admin/AdminServer.h"
#include "server/admin/AdminConnection.h"
#include "server/protocol/LogText.h"
#include "Poco/Bugcheck.h"
#include "Poco/Event.h"
#include "Poco/FileStream.h"
#include "Poco/Logger.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/String.h"
#include <cctype>
#include <sstream>

namespace imgate {
namespace admin {

class AdminServer::Front: public AdminFront, public net::ConnectionFactory
	/// Creates the AdminConnections, making room for each in the table,
	/// and runs their requests on the workers.
{
public:
	Front(const AdminApi& api, AdminWorkers& workers, std::size_t maxBodyBytes, AdminListenerCounters& counters):
		_api(api),
		_workers(workers),
		_maxBodyBytes(maxBodyBytes),
		_table(MAX_CONNECTIONS, MAX_PER_ADDRESS, counters)
	{
	}

	std::unique_ptr<net::Connection> createConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, Poco::UInt64) override
	{
		const std::string key = AdminConnectionTable::addressKey(peer);
		const AdminConnectionTable::Admission admission = _table.admit(key, loop.tick());
		std::unique_ptr<AdminConnection> pConnection(new AdminConnection(loop, socket, peer, *this, key));
		if (admission != AdminConnectionTable::ADMITTED)
		{
			// Told on the next turn: the loop adopts the connection first.
			const Poco::UInt64 id = pConnection->id();
			const std::string message = admission == AdminConnectionTable::REFUSED_ADDRESS_FULL
				? "too many admin connections from your address, each being answered: try again"
				: "too many admin connections at once, each being answered: try again";
			loop.post([&loop, id, message]()
			{
				if (net::Connection* pOpen = loop.find(id)) static_cast<AdminConnection*>(pOpen)->refuse(503, message);
			});
		}
		return std::unique_ptr<net::Connection>(pConnection.release());
	}

	AdminConnectionTable& table() override
	{
		return _table;
	}

	bool wantsBody(const AdminRequest& request) const override
	{
		return _api.wantsBody(request);
	}

	std::size_t maxBodyBytes() const override
	{
		return _maxBodyBytes;
	}

	bool dispatch(const AdminRequest& request, net::EventLoop& loop, Poco::UInt64 connectionId, const std::shared_ptr<Job>& pJob) override
	{
		const AdminApi& api = _api;
		return _workers.submit([&api, request, &loop, connectionId, pJob]()
		{
			// Given up at its deadline while it waited for a thread: the
			// client was told it was not run, so it must not run now.
			if (!pJob->start()) return;
			auto pAnswer = std::make_shared<AdminResponse>(answer(api, request));
			loop.post([&loop, connectionId, pAnswer]()
			{
				// Gone meanwhile (the client closed): nobody to answer.
				if (net::Connection* pConnection = loop.find(connectionId))
					static_cast<AdminConnection*>(pConnection)->respond(*pAnswer);
			});
		});
	}

private:
	static AdminResponse answer(const AdminApi& api, const AdminRequest& request)
		/// Admin thread.
	{
		try
		{
			return api.handle(request);
		}
		catch (Poco::Exception&)
		{
			return AdminConnection::error(400, "bad request");
		}
		catch (std::exception& exc)
		{
			Poco::Logger::get("imgate.admin").error("%s %s: %s", protocol::escaped(request.method),
				protocol::escaped(request.path), std::string(exc.what()));
			return AdminConnection::error(500, "internal error");
		}
	}

	const AdminApi& _api;
	AdminWorkers& _workers;
	const std::size_t _maxBodyBytes;
	AdminConnectionTable _table; /// Loop thread only.
};


std::string AdminServer::readToken(const std::string& path)
{
	std::string text;
	try
	{
		Poco::FileInputStream in(path);
		std::ostringstream all;
		all << in.rdbuf();
		text = all.str();
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::InvalidArgumentException("admin.tokenFile: cannot read " + path + ": " + exc.message());
	}
	Poco::trimInPlace(text);
	if (text.empty()) throw Poco::InvalidArgumentException("admin.tokenFile: " + path + " is empty");
	if (text.size() < MIN_TOKEN_LENGTH)
		throw Poco::InvalidArgumentException("admin.tokenFile: the token in " + path + " is shorter than "
			+ std::to_string(MIN_TOKEN_LENGTH) + " characters");
	for (char c: text)
	{
		if (std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
			throw Poco::InvalidArgumentException("admin.tokenFile: the token in " + path + " must be one word of printable characters");
	}
	return text;
}


AdminServer::AdminServer(const AdminContext& context, const Options& options, const net::Clock& clock)
{
	const std::string token = options.tokenFile.empty() ? std::string() : readToken(options.tokenFile);
	_pApi.reset(new AdminApi(context, token, options.allowNoToken, &_counters));
	Poco::Net::ServerSocket socket;
	try
	{
		socket.bind(Poco::Net::SocketAddress(options.address, static_cast<Poco::UInt16>(options.port)), true, false);
		// A burst of connections waits in the kernel for the acceptor
		// rather than having its handshakes dropped (a health checker's
		// among them, retried only a second later).
		socket.listen(MAX_SOCKETS);
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException("admin.address/admin.port: cannot listen on " + options.address + ":"
			+ std::to_string(options.port) + ": " + exc.message());
	}
	_port = socket.address().port();
	_pWorkers.reset(new AdminWorkers(options.threads, MAX_QUEUED));
	_pFront.reset(new Front(*_pApi, *_pWorkers, options.maxBodyBytes, _counters));
	// The loop's limiter counts sockets (the table and those not placed in
	// it yet); the table's own limit is enforced by eviction.
	_pLoops.reset(new net::LoopPool(1, MAX_SOCKETS, clock));
	AdminResponse busy = AdminConnection::error(503, "too many admin connections at once");
	_pAcceptor.reset(new net::Acceptor(*_pLoops, *_pFront, socket, AdminConnection::format(busy, false)));
}


AdminServer::~AdminServer()
{
	stop();
}


void AdminServer::start()
{
	_started = true;
	_pWorkers->start();
	_pLoops->start();
	_pAcceptor->start();
}


void AdminServer::stop()
{
	if (_stopped) return;
	_stopped = true;
	// No new connection; the admin threads finish their requests and post
	// the answers; the loop writes what it can and closes the rest.
	_pAcceptor->stop();
	_pWorkers->stop();
	if (_started) _pLoops->stop();
}


Poco::UInt16 AdminServer::port() const
{
	return _port;
}


std::size_t AdminServer::connectionCount() const
{
	return _pLoops->connectionCount();
}


bool AdminServer::sync(long timeoutMs)
{
	poco_assert (_started && !_stopped);
	net::EventLoop& loop = _pLoops->loop(0);
	poco_assert (!loop.inLoopThread());
	// Posted twice: the first task may run in a turn that began before the
	// call; the turn that runs the second began after the first ran.
	auto pDone = std::make_shared<Poco::Event>();
	loop.post([&loop, pDone]()
	{
		loop.post([pDone]() { pDone->set(); });
	});
	return pDone->tryWait(timeoutMs);
}

} } // namespace imgate::admin
