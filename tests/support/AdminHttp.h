//
// AdminHttp.h
//
// Test support: one request to a real imgated's admin API over HTTP/1.1.
//

#ifndef imgate_test_AdminHttp_INCLUDED
#define imgate_test_AdminHttp_INCLUDED

#include "Poco/JSON/Object.h"
#include "Poco/Types.h"
#include <string>

namespace imgate {
namespace test {

struct Http
	/// What the admin API answered.
{
	int status = 0;
	std::string body;
	std::string contentType;
	std::string allow;
	std::string challenge;
	bool hasContentLength = false;
};


Http request(Poco::UInt16 port, const std::string& method, const std::string& path, const std::string& token = "",
	const std::string& body = "", bool sendBody = false);
	/// method path on 127.0.0.1:port, with "Authorization: Bearer token" if
	/// token is set, and body (as JSON) if set or sendBody. Throws on a
	/// network error; waits 10 s at most.

Poco::JSON::Object::Ptr json(const std::string& text);
	/// text as a JSON object; throws if it is not one.

double metricValue(const std::string& text, const std::string& series);
	/// The value of series ("name" or "name{labels}", as GET /metrics
	/// writes it) in text, a /metrics body; -1 if it is not there.

} } // namespace imgate::test

#endif // imgate_test_AdminHttp_INCLUDED
