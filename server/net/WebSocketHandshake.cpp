//
// WebSocketHandshake.cpp
//
// Layer: net
//

#include "server/net/WebSocketHandshake.h"
#include "Poco/Base64Decoder.h"
#include "Poco/Exception.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/WebSocket.h"
#include "Poco/NumberFormatter.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"
#include <sstream>

namespace imgate {
namespace net {

namespace {

struct AcceptKey: public Poco::Net::WebSocket
	/// POCO computes Sec-WebSocket-Accept (a protected member of its
	/// WebSocket); never instantiated.
{
	using Poco::Net::WebSocket::computeAccept;
};


bool hasToken(const Poco::Net::HTTPRequest& request, const std::string& name, const std::string& token)
	/// Whether a comma-separated header (any of its occurrences) holds token, in any case.
{
	for (const auto& field: request)
	{
		if (Poco::icompare(field.first, name) != 0) continue;
		Poco::StringTokenizer tokens(field.second, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
		for (const auto& t: tokens)
		{
			if (Poco::icompare(t, token) == 0) return true;
		}
	}
	return false;
}


bool validKey(const std::string& key)
	/// Sec-WebSocket-Key: base64 of 16 bytes.
{
	if (key.size() != 24) return false;
	try
	{
		std::istringstream in(key);
		Poco::Base64Decoder decoder(in);
		std::string bytes((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
		return bytes.size() == 16;
	}
	catch (Poco::Exception&)
	{
		return false;
	}
}


WebSocketHandshake::Answer refuse(int status, const std::string& reason)
{
	WebSocketHandshake::Answer answer;
	answer.outcome = WebSocketHandshake::REFUSED;
	answer.status = status;
	answer.reason = reason;
	answer.response = WebSocketHandshake::refusal(status, reason);
	return answer;
}

} // namespace


std::string WebSocketHandshake::refusal(int status, const std::string& message)
{
	const std::string body = message + "\n";
	std::string response = "HTTP/1.1 " + Poco::NumberFormatter::format(status) + " "
		+ Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status)) + "\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Length: " + Poco::NumberFormatter::format(body.size()) + "\r\n";
	if (status == 426) response += "Sec-WebSocket-Version: 13\r\n";
	if (status == 405) response += "Allow: GET, HEAD\r\n";
	response += "Connection: close\r\n\r\n" + body;
	return response;
}


std::string WebSocketHandshake::contentType(const std::string& name)
{
	const std::string::size_type dot = name.rfind('.');
	const std::string ext = dot == std::string::npos ? std::string() : Poco::toLower(name.substr(dot + 1));
	if (ext == "html") return "text/html; charset=utf-8";
	if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
	if (ext == "css") return "text/css; charset=utf-8";
	if (ext == "json") return "application/json";
	if (ext == "proto" || ext == "txt") return "text/plain; charset=utf-8";
	if (ext == "png") return "image/png";
	if (ext == "svg") return "image/svg+xml";
	if (ext == "ico") return "image/x-icon";
	return "application/octet-stream";
}


WebSocketHandshake::Answer WebSocketHandshake::answer(const std::string& head, const WebSocketOptions& options)
{
	Poco::Net::HTTPRequest request;
	try
	{
		std::istringstream in(head);
		request.read(in);
	}
	catch (Poco::Exception& exc)
	{
		return refuse(400, "bad HTTP request: " + exc.message());
	}
	if (request.getVersion() != Poco::Net::HTTPMessage::HTTP_1_1)
		return refuse(400, "HTTP/1.1 required");
	std::string target = request.getURI();
	const std::string::size_type query = target.find('?');
	if (query != std::string::npos) target.resize(query);

	const bool upgrade = target == options.path;
	const StaticFile* pFile = nullptr;
	if (!upgrade && options.pFiles && !target.empty() && target[0] == '/')
		pFile = options.pFiles->find(target == "/" ? std::string("index.html") : target.substr(1));
	if (!upgrade && !pFile) return refuse(404, "not found: " + target.substr(0, 200));
	const bool headOnly = pFile && request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD;
	if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET && !headOnly)
		return refuse(405, "method not allowed: " + request.getMethod().substr(0, 20));

	if (pFile)
	{
		Answer answer;
		answer.outcome = SERVED;
		answer.status = 200;
		answer.response = "HTTP/1.1 200 OK\r\n"
			"Content-Type: " + contentType(pFile->name) + "\r\n"
			"Content-Length: " + Poco::NumberFormatter::format(pFile->size) + "\r\n"
			"Cache-Control: no-cache\r\n"
			"X-Content-Type-Options: nosniff\r\n"
			"Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'\r\n"
			"Connection: close\r\n"
			"\r\n";
		if (!headOnly) answer.response.append(reinterpret_cast<const char*>(pFile->data), pFile->size);
		return answer;
	}

	if (!options.allowedOrigins.empty() && request.has("Origin"))
	{
		const std::string& origin = request.get("Origin");
		bool allowed = false;
		for (const auto& o: options.allowedOrigins)
		{
			if (Poco::icompare(o, origin) == 0) allowed = true;
		}
		if (!allowed) return refuse(403, "origin not allowed: " + origin.substr(0, 200));
	}
	if (!hasToken(request, "Upgrade", "websocket")) return refuse(400, "not a WebSocket upgrade (Upgrade: websocket missing)");
	if (!hasToken(request, "Connection", "upgrade")) return refuse(400, "not a WebSocket upgrade (Connection: Upgrade missing)");
	if (request.get("Sec-WebSocket-Version", "") != "13") return refuse(426, "Sec-WebSocket-Version 13 required");
	const std::string key = Poco::trim(request.get("Sec-WebSocket-Key", ""));
	if (!validKey(key)) return refuse(400, "Sec-WebSocket-Key missing or not 16 bytes of base64");
	if (!hasToken(request, "Sec-WebSocket-Protocol", options.subprotocol))
		return refuse(400, "subprotocol " + options.subprotocol + " required (Sec-WebSocket-Protocol)");

	Answer answer;
	answer.outcome = UPGRADE;
	answer.status = 101;
	answer.response = "HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Accept: " + AcceptKey::computeAccept(key) + "\r\n"
		"Sec-WebSocket-Protocol: " + options.subprotocol + "\r\n"
		"\r\n";
	return answer;
}

} } // namespace imgate::net
