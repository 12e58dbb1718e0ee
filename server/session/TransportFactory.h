//
// TransportFactory.h
//
// Layer: session
// The connection factory of a TLS or WebSocket listener: TransportSessions
// managed by the one SessionManager.
//

#ifndef imgate_session_TransportFactory_INCLUDED
#define imgate_session_TransportFactory_INCLUDED

#include "server/net/Acceptor.h"
#include "server/net/TlsContext.h"
#include "server/net/WebSocketHandshake.h"
#include "Poco/Mutex.h"
#include <memory>

namespace imgate {
namespace session {

class SessionManager;


class TransportFactory: public net::ConnectionFactory
	/// Any thread: the acceptor asks for tickets, loops create connections,
	/// and a reload swaps the certificate.
{
public:
	TransportFactory(SessionManager& manager, std::shared_ptr<net::TlsContext> pTls, std::unique_ptr<net::WebSocketOptions> pWebSocket);
		/// TLS if pTls is given, WebSocket if pWebSocket is; both: wss.

	~TransportFactory() override;

	void setTlsContext(std::shared_ptr<net::TlsContext> pTls);
		/// New connections use pTls; open ones keep the one they started with.

	std::shared_ptr<net::TlsContext> tlsContext() const;

	const net::WebSocketOptions* webSocketOptions() const;
		/// Null for a TLS listener. Lives as long as the factory.

	Poco::UInt64 admissionTicket() override;
	std::unique_ptr<net::Connection> createConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, Poco::UInt64 ticket) override;

private:
	SessionManager& _manager;
	mutable Poco::FastMutex _mutex; /// Guards _pTls.
	std::shared_ptr<net::TlsContext> _pTls;
	std::unique_ptr<net::WebSocketOptions> _pWebSocket;
};

} } // namespace imgate::session

#endif // imgate_session_TransportFactory_INCLUDED
