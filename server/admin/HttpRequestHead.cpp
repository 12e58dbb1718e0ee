//
// HttpRequestHead.cpp
//
// Layer: admin
//

#include "server/admin/HttpRequestHead.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Exception.h"
#include "Poco/String.h"
#include <limits>
#include <sstream>

namespace imgate {
namespace admin {

std::size_t HttpRequestHead::end(const std::string& bytes, std::size_t scanned)
{
	// The longest blank line, LF CR LF, is 3 bytes: one that ends in the
	// new bytes begins at most 2 bytes before them. 3 back is a safe margin.
	const std::size_t from = scanned > 3 ? scanned - 3 : 0;
	for (std::size_t i = from; i < bytes.size(); ++i)
	{
		if (bytes[i] != '\n') continue;
		// LF LF or LF CR LF: a blank line ends the head.
		if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return i + 2;
		if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return i + 3;
	}
	return 0;
}


bool HttpRequestHead::refuse(int status, const std::string& reason)
{
	_status = status;
	_reason = reason;
	return false;
}


bool HttpRequestHead::parse(const std::string& head)
{
	if (head.size() > MAX_BYTES)
		return refuse(431, "the request head is larger than " + std::to_string(MAX_BYTES) + " bytes");
	Poco::Net::HTTPRequest request;
	try
	{
		std::istringstream in(head);
		request.read(in);
	}
	catch (Poco::Exception& exc)
	{
		return refuse(400, "malformed request head: " + exc.message());
	}
	if (request.getMethod().empty() || request.getURI().empty()
		|| (request.getVersion() != Poco::Net::HTTPMessage::HTTP_1_1 && request.getVersion() != Poco::Net::HTTPMessage::HTTP_1_0))
		return refuse(400, "malformed request line: METHOD TARGET HTTP/1.1 expected");
	_method = request.getMethod();
	_uri = request.getURI();
	_authorization = request.get("Authorization", "");
	_expectContinue = request.getVersion() == Poco::Net::HTTPMessage::HTTP_1_1
		&& Poco::icompare(request.get("Expect", ""), "100-continue") == 0;
	const bool hasTransferEncoding = request.has("Transfer-Encoding");
	std::size_t lengths = 0;
	std::string length;
	for (auto it = request.find("Content-Length"); it != request.end() && Poco::icompare(it->first, "Content-Length") == 0; ++it)
	{
		++lengths;
		length = it->second;
	}
	if (hasTransferEncoding && lengths > 0)
		return refuse(400, "a request may not have both Transfer-Encoding and Content-Length");
	if (hasTransferEncoding)
		return refuse(411, "Transfer-Encoding (chunked bodies) is not accepted: send the body with a Content-Length");
	if (lengths > 1) return refuse(400, "more than one Content-Length");
	if (lengths == 1)
	{
		Poco::trimInPlace(length);
		if (length.empty() || length.size() > 20 || length.find_first_not_of("0123456789") != std::string::npos)
			return refuse(400, "Content-Length must be a decimal number of bytes");
		Poco::UInt64 value = 0;
		for (char c: length)
		{
			const Poco::UInt64 digit = static_cast<Poco::UInt64>(c - '0');
			if (value > (std::numeric_limits<Poco::UInt64>::max() - digit) / 10)
				return refuse(400, "Content-Length is out of range");
			value = value * 10 + digit;
		}
		_contentLength = value;
	}
	return true;
}

} } // namespace imgate::admin
