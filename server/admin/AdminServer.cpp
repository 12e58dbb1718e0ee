//
// AdminServer.cpp
//
// Layer: admin
//

#include "server/admin/AdminServer.h"
#include "server/admin/AdminConnection.h"
#include "server/protocol/LogText.h"
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
	/// Creates the AdminConnections and runs their requests on the workers.
{
public:
	Front(const AdminApi& api, AdminWorkers& workers, std::size_t maxBodyBytes):
		_api(api),
		_workers(workers),
		_maxBodyBytes(maxBodyBytes)
	{
	}

	std::unique_ptr<net::Connection> createConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, Poco::UInt64) override
	{
		return std::unique_ptr<net::Connection>(new AdminConnection(loop, socket, peer, *this));
	}

	bool wantsBody(const AdminRequest& request) const override
	{
		return _api.wantsBody(request);
	}

	std::size_t maxBodyBytes() const override
	{
		return _maxBodyBytes;
	}

	bool dispatch(const AdminRequest& request, net::EventLoop& loop, Poco::UInt64 connectionId) override
	{
		const AdminApi& api = _api;
		return _workers.submit([&api, request, &loop, connectionId]()
		{
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


AdminServer::AdminServer(const AdminContext& context, const Options& options)
{
	const std::string token = options.tokenFile.empty() ? std::string() : readToken(options.tokenFile);
	_pApi.reset(new AdminApi(context, token, options.allowNoToken));
	Poco::Net::ServerSocket socket;
	try
	{
		socket.bind(Poco::Net::SocketAddress(options.address, static_cast<Poco::UInt16>(options.port)), true, false);
		socket.listen(64);
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException("admin.address/admin.port: cannot listen on " + options.address + ":"
			+ std::to_string(options.port) + ": " + exc.message());
	}
	_port = socket.address().port();
	_pWorkers.reset(new AdminWorkers(options.threads, MAX_QUEUED));
	_pLoops.reset(new net::LoopPool(1, MAX_CONNECTIONS));
	_pFront.reset(new Front(*_pApi, *_pWorkers, options.maxBodyBytes));
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

} } // namespace imgate::admin
