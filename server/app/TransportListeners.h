//
// TransportListeners.h
//
// Layer: app
// The TLS and WebSocket listeners (protocol 1.1, section 1): their
// certificate, their factories and their acceptors.
//

#ifndef imgate_app_TransportListeners_INCLUDED
#define imgate_app_TransportListeners_INCLUDED

#include "server/app/Settings.h"
#include "server/net/Acceptor.h"
#include "server/net/StaticFiles.h"
#include "server/net/TlsContext.h"
#include "server/session/TransportFactory.h"
#include "Poco/Logger.h"
#include <memory>

namespace imgate {
namespace app {

class TransportListeners
	/// Main thread only. Holds nothing when tls.port and websocket.port are 0.
{
public:
	static std::shared_ptr<net::TlsContext> certificateFor(const Settings& settings);
		/// The certificate and key of the tls.* settings if a listener needs
		/// them (null if none does), checked. Throws ConfigException naming
		/// the file and what is wrong with it (exit 78). Logs a warning for
		/// a certificate that expired, is not valid yet, or expires within
		/// 14 days. Called first thing at start-up, before the store opens.

	TransportListeners(const Settings& settings, std::shared_ptr<net::TlsContext> pTls, net::LoopPool& loops,
		session::SessionManager& sessions, net::AcceptCheck* pCheck, const net::StaticFiles& demoFiles);
		/// Binds the listeners the settings ask for (pTls: certificateFor()).
		/// Throws Poco::Net::NetException naming an address and port that
		/// cannot be bound.

	~TransportListeners();

	void start();
		/// Starts accepting and logs each listener ("TLS listening on
		/// ADDRESS:PORT", "WebSocket listening on ADDRESS:PORT (ws, path
		/// /imgate)").

	void stop();
		/// Stops accepting. Idempotent.

	void reloadCertificate();
		/// SIGHUP: reads the certificate and key files again; new
		/// connections use them, open ones keep theirs. A pair that cannot
		/// serve is logged and the running one stays.

	Poco::UInt16 tlsPort() const;
	Poco::UInt16 webSocketPort() const;
		/// The bound ports (0: no such listener).

private:

	const Settings& _settings;
	Poco::Logger& _logger;
	std::shared_ptr<net::TlsContext> _pTls;
	std::unique_ptr<session::TransportFactory> _pTlsFactory;
	std::unique_ptr<session::TransportFactory> _pWebSocketFactory;
	std::unique_ptr<net::Acceptor> _pTlsAcceptor;
	std::unique_ptr<net::Acceptor> _pWebSocketAcceptor;
};

} } // namespace imgate::app

#endif // imgate_app_TransportListeners_INCLUDED
