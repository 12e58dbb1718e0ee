//
// TransportListeners.cpp
//
// Layer: app
//

#include "server/app/TransportListeners.h"
#include "server/protocol/FrameHeader.h"
#include "Poco/Net/SocketAddress.h"

namespace imgate {
namespace app {

TransportListeners::TransportListeners(const Settings& settings, std::shared_ptr<net::TlsContext> pTls, net::LoopPool& loops,
		session::SessionManager& sessions, net::AcceptCheck* pCheck, const net::StaticFiles& demoFiles):
	_settings(settings),
	_logger(Poco::Logger::get("imgate.app")),
	_pTls(std::move(pTls))
{
	const bool webSocket = settings.webSocketPort != 0;
	if (settings.tlsPort != 0)
	{
		_pTlsFactory.reset(new session::TransportFactory(sessions, _pTls, nullptr));
		// The busy reply is a plain v1 frame, which a TLS or WebSocket client
		// could not read before its handshake: refused ones are just closed.
		_pTlsAcceptor.reset(new net::Acceptor(loops, *_pTlsFactory, net::Acceptor::listen(settings.address, static_cast<Poco::UInt16>(settings.tlsPort)), std::string(), pCheck));
	}
	if (webSocket)
	{
		std::unique_ptr<net::WebSocketOptions> pOptions(new net::WebSocketOptions);
		pOptions->path = settings.webSocketPath;
		pOptions->allowedOrigins = settings.webSocketAllowedOrigins;
		pOptions->pFiles = settings.webSocketDemo ? &demoFiles : nullptr;
		pOptions->maxMessageSize = protocol::FrameHeader::SIZE + settings.session.maxBodySize;
		_pWebSocketFactory.reset(new session::TransportFactory(sessions, settings.webSocketTls ? _pTls : nullptr, std::move(pOptions)));
		_pWebSocketAcceptor.reset(new net::Acceptor(loops, *_pWebSocketFactory, net::Acceptor::listen(settings.address, static_cast<Poco::UInt16>(settings.webSocketPort)), std::string(), pCheck));
	}
}


TransportListeners::~TransportListeners()
{
	stop();
}


std::shared_ptr<net::TlsContext> TransportListeners::certificateFor(const Settings& settings)
{
	if (settings.tlsPort == 0 && !(settings.webSocketPort != 0 && settings.webSocketTls)) return nullptr;
	net::TlsContext::Files files;
	files.certificateFile = settings.tlsCertificateFile;
	files.privateKeyFile = settings.tlsPrivateKeyFile;
	files.caFile = settings.tlsCaFile;
	files.minVersion = settings.tlsMinVersion;
	Poco::Logger& logger = Poco::Logger::get("imgate.app");
	std::vector<std::string> warnings;
	std::shared_ptr<net::TlsContext> pContext;
	try
	{
		pContext = net::TlsContext::load(files, warnings);
	}
	catch (net::TlsConfigException& exc)
	{
		throw ConfigException(exc.message());
	}
	for (const auto& w: warnings) logger.warning(w);
	logger.information("TLS certificate %s (expires %s) from %s", pContext->subject(), pContext->notAfter(), files.certificateFile);
	return pContext;
}


void TransportListeners::start()
{
	if (_pTlsAcceptor)
	{
		_pTlsAcceptor->start();
		_logger.information("TLS listening on %s (TLS %s and later)",
			Poco::Net::SocketAddress(_settings.address, _pTlsAcceptor->port()).toString(), _settings.tlsMinVersion);
	}
	if (_pWebSocketAcceptor)
	{
		_pWebSocketAcceptor->start();
		_logger.information("WebSocket listening on %s (%s, path %s%s)",
			Poco::Net::SocketAddress(_settings.address, _pWebSocketAcceptor->port()).toString(),
			std::string(_settings.webSocketTls ? "wss" : "ws"), _settings.webSocketPath,
			std::string(_settings.webSocketDemo ? "; chat page at /" : ""));
	}
}


void TransportListeners::stop()
{
	if (_pTlsAcceptor) _pTlsAcceptor->stop();
	if (_pWebSocketAcceptor) _pWebSocketAcceptor->stop();
}


void TransportListeners::reloadCertificate()
{
	if (!_pTls) return;
	try
	{
		std::shared_ptr<net::TlsContext> pNext = certificateFor(_settings);
		_pTls = pNext;
		if (_pTlsFactory) _pTlsFactory->setTlsContext(pNext);
		if (_pWebSocketFactory && _settings.webSocketTls) _pWebSocketFactory->setTlsContext(pNext);
		_logger.information("SIGHUP: new TLS connections use the certificate just read; open ones keep theirs");
	}
	catch (ConfigException& exc)
	{
		_logger.error("SIGHUP: %s; the TLS certificate in use stays", exc.message());
	}
}


Poco::UInt16 TransportListeners::tlsPort() const
{
	return _pTlsAcceptor ? _pTlsAcceptor->port() : 0;
}


Poco::UInt16 TransportListeners::webSocketPort() const
{
	return _pWebSocketAcceptor ? _pWebSocketAcceptor->port() : 0;
}

} } // namespace imgate::app
