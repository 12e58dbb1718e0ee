//
// AdminHttp.cpp
//

#include "tests/support/AdminHttp.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/StreamCopier.h"
#include <cstdlib>
#include <sstream>

namespace imgate {
namespace test {

Http request(Poco::UInt16 port, const std::string& method, const std::string& path, const std::string& token,
	const std::string& body, bool sendBody)
{
	Poco::Net::HTTPClientSession session("127.0.0.1", port);
	session.setTimeout(Poco::Timespan(10, 0));
	Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
	if (!token.empty()) req.set("Authorization", "Bearer " + token);
	if (sendBody || !body.empty())
	{
		req.setContentType("application/json");
		req.setContentLength(static_cast<std::streamsize>(body.size()));
	}
	std::ostream& out = session.sendRequest(req);
	out << body;
	Poco::Net::HTTPResponse resp;
	std::istream& in = session.receiveResponse(resp);
	Http h;
	h.status = resp.getStatus();
	Poco::StreamCopier::copyToString(in, h.body);
	h.contentType = resp.getContentType();
	h.allow = resp.get("Allow", "");
	h.challenge = resp.get("WWW-Authenticate", "");
	h.hasContentLength = resp.has("Content-Length");
	return h;
}


Poco::JSON::Object::Ptr json(const std::string& text)
{
	return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}


double metricValue(const std::string& text, const std::string& series)
{
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line))
	{
		if (line.compare(0, series.size() + 1, series + " ") == 0) return std::atof(line.c_str() + series.size() + 1);
	}
	return -1;
}

} } // namespace imgate::test
