//
// InProcessServer.cpp
//

#include "tests/support/InProcessServer.h"
#include "tests/support/Wait.h"
#include "Poco/Event.h"
#include "Poco/Exception.h"
#include "Poco/Net/SocketAddress.h"
#include "imgate/v1/imgate.pb.h"
#include <memory>

namespace imgate {
namespace test {

namespace {

session::SessionConfig anonymous(session::SessionConfig config)
{
	config.allowAnonymous = true;
	return config;
}

} // namespace


InProcessServer::InProcessServer(const session::SessionConfig& config, net::AcceptCheck* pCheck):
	_loops(1, 1000, _clock),
	_store(store::MemoryMessageStore::Limits()),
	_manager(anonymous(config), _loops, _store, _filters)
{
	_store.start();
	_loops.start();
	Poco::Net::ServerSocket socket;
	socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
	socket.listen(64);
	_pAcceptor.reset(new net::Acceptor(_loops, _manager, socket, std::string(), pCheck));
	_pAcceptor->start();
}


InProcessServer::~InProcessServer()
{
	_pAcceptor->stop();
	_loops.stop();
}


Poco::UInt16 InProcessServer::port() const
{
	return _pAcceptor->port();
}


session::SessionManager& InProcessServer::manager()
{
	return _manager;
}


std::size_t InProcessServer::sessionCount() const
{
	return _manager.sessionCount();
}


std::unique_ptr<client::ImgateClient> InProcessServer::connect()
{
	// A connection the client saw closed may still be counted until the
	// loop's turn ends: count from a settled state.
	sync();
	const std::size_t before = _manager.sessionCount();
	std::unique_ptr<client::ImgateClient> pClient(new client::ImgateClient("127.0.0.1", port()));
	if (!waitUntil([&]() { return _manager.sessionCount() > before; }))
		throw Poco::TimeoutException("the loop did not adopt the connection");
	return pClient;
}


std::unique_ptr<client::ImgateClient> InProcessServer::login(const std::string& uid)
{
	std::unique_ptr<client::ImgateClient> pClient = connect();
	client::Reply r = pClient->login(uid, "");
	if (r.result() != protocol::Status::OK)
		throw Poco::RuntimeException("login of " + uid + " refused: " + std::string(protocol::statusName(r.status)));
	return pClient;
}


void InProcessServer::sync()
{
	// A turn runs its tasks, then its timers, then writes; so once a task
	// posted after the first one's has run, a whole turn has ended.
	for (int turn = 0; turn < 2; ++turn)
	{
		auto pDone = std::make_shared<Poco::Event>();
		_loops.loop(0).post([pDone]() { pDone->set(); });
		if (!pDone->tryWait(5000)) throw Poco::TimeoutException("the event loop did not turn");
	}
}


void InProcessServer::advance(unsigned ms)
{
	_clock.advance(ms);
	sync();
}

} } // namespace imgate::test
