//
// Transport.cpp
//

#include "clients/cpp/src/Transport.h"
#include "tools/imgate-cli/ClientTlsContext.h"
#include "tools/imgate-cli/TlsChannel.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace imgate {
namespace client {

Transport::Transport()
{
}


Transport::~Transport()
{
	_pTls.reset();
	try
	{
		_socket.close();
	}
	catch (Poco::Exception&)
	{
		// Nothing to do about a socket that will not close.
	}
}


std::unique_ptr<Transport> Transport::connect(const ClientOptions& options, const ClientTlsContext* pTls)
{
	std::unique_ptr<Transport> pTransport(new Transport);
	const std::string where = options.host + ":" + std::to_string(options.port);
	try
	{
		pTransport->_socket.connect(Poco::Net::SocketAddress(options.host, options.port), options.connectTimeout);
		pTransport->_socket.setNoDelay(true);
		pTransport->_socket.setSendTimeout(options.connectTimeout);
		if (pTls)
		{
			pTransport->_pTls.reset(new TlsChannel(pTransport->_socket, *pTls, options.serverName.empty() ? options.host : options.serverName));
			pTransport->_pTls->handshake(options.connectTimeout);
		}
	}
	catch (Poco::TimeoutException&)
	{
		throw Poco::TimeoutException(where + ": no connection within " + std::to_string(options.connectTimeout.totalMilliseconds()) + " ms");
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException(where + ": " + exc.displayText());
	}
	return pTransport;
}


int Transport::fd() const
{
	return _socket.impl()->sockfd();
}


int Transport::receive(char* buffer, std::size_t length)
{
	if (_pTls)
	{
		const int n = _pTls->receive(buffer, length, 0);
		if (n == 0) _lastError = _pTls->lastError();
		return n;
	}
	ssize_t n;
	do n = ::recv(fd(), buffer, length, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) return static_cast<int>(n);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
	_lastError = n == 0 ? std::string("closed by the server") : std::string(std::strerror(errno));
	return 0;
}


void Transport::send(const std::string& bytes)
{
	if (_pTls)
	{
		_pTls->send(bytes.data(), bytes.size());
		return;
	}
	std::size_t done = 0;
	while (done < bytes.size())
	{
		const ssize_t n = ::send(fd(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
		if (n > 0)
		{
			done += static_cast<std::size_t>(n);
			continue;
		}
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw Poco::TimeoutException("the server takes no data");
		throw Poco::Net::NetException(std::string("write failed: ") + std::strerror(errno));
	}
}

} } // namespace imgate::client
