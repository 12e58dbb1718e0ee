//
// TransportFactory.cpp
//
// Layer: session
//

#include "server/session/TransportFactory.h"
#include "server/session/SessionManager.h"
#include "server/session/TransportSession.h"

namespace imgate {
namespace session {

TransportFactory::TransportFactory(SessionManager& manager, std::shared_ptr<net::TlsContext> pTls, std::unique_ptr<net::WebSocketOptions> pWebSocket):
	_manager(manager),
	_pTls(std::move(pTls)),
	_pWebSocket(std::move(pWebSocket))
{
	poco_assert(_pTls || _pWebSocket);
}


TransportFactory::~TransportFactory()
{
}


void TransportFactory::setTlsContext(std::shared_ptr<net::TlsContext> pTls)
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	_pTls = std::move(pTls);
}


std::shared_ptr<net::TlsContext> TransportFactory::tlsContext() const
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	return _pTls;
}


const net::WebSocketOptions* TransportFactory::webSocketOptions() const
{
	return _pWebSocket.get();
}


Poco::UInt64 TransportFactory::admissionTicket()
{
	return _manager.admissionTicket();
}


std::unique_ptr<net::Connection> TransportFactory::createConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, Poco::UInt64 ticket)
{
	std::unique_ptr<Session> pSession(new TransportSession(loop, socket, peer, _manager, tlsContext(), _pWebSocket.get()));
	return _manager.admit(std::move(pSession), ticket);
}

} } // namespace imgate::session
