//
// HistoryClient.h
//
// imgate-bench: one blocking imgate session for the history scenario's
// requests, sent one at a time so that each one's latency is its own.
//

#ifndef imgate_bench_HistoryClient_INCLUDED
#define imgate_bench_HistoryClient_INCLUDED

#include "server/protocol/FrameDecoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Net/StreamSocket.h"
#include <string>
#include <vector>

namespace imgate {
namespace bench {

class HistoryClient
{
public:
	HistoryClient(const std::string& host, unsigned port);
		/// Connects; throws std::runtime_error.

	void login(const std::string& uid, const std::string& token);
		/// Throws std::runtime_error unless LOGIN_RESP is OK.

	std::uint16_t history(const imgate::v1::HistoryRequest& request, imgate::v1::HistoryResponse& response);
		/// Sends HISTORY and waits (10 s at most) for its HISTORY_RESP;
		/// returns its status. Deliveries that arrive meanwhile are
		/// acknowledged and otherwise ignored. Throws std::runtime_error on
		/// a timeout, a closed connection or a bad frame.

private:
	void send(const std::string& frame);
	bool readUntil(std::uint16_t cmd, std::string& body, std::uint16_t& status);

	Poco::Net::StreamSocket _socket;
	protocol::FrameDecoder _decoder;
	std::uint32_t _seq = 0;
	std::vector<char> _buffer;
};

} } // namespace imgate::bench

#endif // imgate_bench_HistoryClient_INCLUDED
