//
// FilterAcceptCheck.cpp
//
// Layer: app
//

#include "server/app/FilterAcceptCheck.h"
#include "server/net/PeerAddress.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"

namespace imgate {
namespace app {

FilterAcceptCheck::FilterAcceptCheck(const plugin::FilterChain& filters, imgate::Host& host):
	_filters(filters),
	_host(host),
	_logger(Poco::Logger::get("imgate.net"))
{
}


bool FilterAcceptCheck::accept(const Poco::Net::StreamSocket& socket)
{
	const net::PeerAddress address(socket);
	if (address.empty()) return false; // already gone
	PeerInfo peer;
	peer.address = address.host();
	peer.port = address.port();
	Verdict verdict = _filters.onAccept(peer);
	if (!verdict.stops()) return true;
	_logger.information("connection from %s refused: %s", peer.address, verdict.message());
	if (plugin::FilterChain::asksForBan(verdict)) _host.ban(plugin::FilterChain::banRequest(verdict, peer.address, std::string()));
	imgate::v1::Error error;
	error.set_message(verdict.message());
	std::string frame = protocol::FrameEncoder::encode(protocol::Command::ERROR,
		static_cast<protocol::Status>(static_cast<Poco::UInt16>(verdict.status())), 0, error);
	try
	{
		Poco::Net::StreamSocket s(socket);
		s.setBlocking(false);
		s.sendBytes(frame.data(), static_cast<int>(frame.size()));
	}
	catch (Poco::Exception&)
	{
	}
	return false;
}

} } // namespace imgate::app
