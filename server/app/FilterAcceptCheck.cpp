//
// FilterAcceptCheck.cpp
//
// Layer: app
//

#include "server/app/FilterAcceptCheck.h"
#include "server/net/PeerAddress.h"
#include "server/protocol/FrameEncoder.h"
#include "server/protocol/LogText.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Clock.h"

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
	logRefusal(peer, verdict);
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


void FilterAcceptCheck::logRefusal(const PeerInfo& peer, const Verdict& verdict)
{
	// The accept thread has no loop tick: the budget counts 100 ms ticks
	// of the monotonic clock, as a loop's would.
	const Poco::UInt32 tick = static_cast<Poco::UInt32>(Poco::Clock().microseconds() / 100000);
	const session::LogBudget::Decision decision = _refusalLog.admit(tick, REFUSAL_LOG_LINES);
	if (decision.omitted)
		_logger.information("%hu more refused connections in the last minute were not logged (imgate_plugin_verdicts_total counts them all)", decision.omitted);
	if (!decision.log) return;
	_logger.information("connection from %s refused: %s%s", peer.address, protocol::quoted(verdict.message()),
		std::string(decision.last ? " (more refused connections this minute are counted, not logged)" : ""));
}

} } // namespace imgate::app
