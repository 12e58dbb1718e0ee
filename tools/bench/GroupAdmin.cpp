//
// GroupAdmin.cpp
//
// imgate-bench: the group scenario's groups, through the admin API.
//

#include "tools/bench/GroupAdmin.h"
#include "Poco/Exception.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/StreamCopier.h"
#include "Poco/String.h"
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace imgate {
namespace bench {

GroupAdmin::GroupAdmin(const std::string& host, unsigned port, const std::string& tokenFile):
	_host(host),
	_port(port)
{
	if (tokenFile.empty()) return;
	std::ifstream in(tokenFile);
	std::stringstream text;
	text << in.rdbuf();
	_token = Poco::trim(text.str());
	if (!in || _token.empty()) throw std::runtime_error("--admin-token-file: cannot read a token from " + tokenFile);
}


void GroupAdmin::put(const std::string& gid, const std::vector<std::string>& members) const
{
	// gids and uids are [A-Za-z0-9_.@-]: nothing to escape in the JSON.
	std::string body = "{\"members\":[";
	for (std::size_t i = 0; i < members.size(); ++i)
	{
		if (i) body += ',';
		body += '"' + members[i] + '"';
	}
	body += "]}";
	try
	{
		Poco::Net::HTTPClientSession session(_host, static_cast<Poco::UInt16>(_port));
		session.setTimeout(Poco::Timespan(30, 0));
		Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_PUT, "/v1/groups/" + gid, Poco::Net::HTTPMessage::HTTP_1_1);
		if (!_token.empty()) request.set("Authorization", "Bearer " + _token);
		request.setContentType("application/json");
		request.setContentLength(static_cast<std::streamsize>(body.size()));
		session.sendRequest(request) << body;
		Poco::Net::HTTPResponse response;
		std::istream& in = session.receiveResponse(response);
		std::string answer;
		Poco::StreamCopier::copyToString(in, answer);
		if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK)
		{
			throw std::runtime_error("admin API http://" + _host + ":" + std::to_string(_port) + ": PUT /v1/groups/" + gid + " answered "
				+ std::to_string(static_cast<int>(response.getStatus())) + ": " + answer.substr(0, 300));
		}
	}
	catch (Poco::Exception& exc)
	{
		throw std::runtime_error("admin API http://" + _host + ":" + std::to_string(_port) + ": PUT /v1/groups/" + gid + ": " + exc.displayText());
	}
}

} } // namespace imgate::bench
