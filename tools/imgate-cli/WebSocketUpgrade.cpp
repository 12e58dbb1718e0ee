//
// WebSocketUpgrade.cpp
//

#include "tools/imgate-cli/WebSocketUpgrade.h"
#include "Poco/Base64Encoder.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/SHA1Engine.h"
#include "Poco/String.h"
#include <random>
#include <sstream>

namespace imgate {
namespace client {

namespace {

constexpr std::size_t MAX_ANSWER_HEAD = 16 * 1024;
const std::string WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t length)
{
	std::ostringstream out;
	Poco::Base64Encoder encoder(out);
	encoder.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(length));
	encoder.close();
	return out.str();
}


bool containsToken(const std::string& list, const std::string& token)
	/// A comma list of HTTP tokens (Connection: keep-alive, Upgrade) holds token, any case.
{
	std::istringstream in(list);
	std::string item;
	while (std::getline(in, item, ','))
	{
		if (Poco::icompare(Poco::trim(item), token) == 0) return true;
	}
	return false;
}

} // namespace


WebSocketUpgrade::WebSocketUpgrade(const std::string& hostHeader, const std::string& target, const std::string& subprotocol,
	const std::string& origin, const Headers& headers):
	_subprotocol(subprotocol),
	_what("WebSocket upgrade of " + target + " at " + hostHeader)
{
	unsigned char nonce[16];
	std::random_device device;
	for (unsigned char& b: nonce) b = static_cast<unsigned char>(device());
	_key = base64(nonce, sizeof(nonce));
	_request = "GET " + target + " HTTP/1.1\r\n"
		"Host: " + hostHeader + "\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: " + _key + "\r\n"
		"Sec-WebSocket-Version: 13\r\n";
	if (!subprotocol.empty()) _request += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
	if (!origin.empty()) _request += "Origin: " + origin + "\r\n";
	for (const auto& header: headers) _request += header.first + ": " + header.second + "\r\n";
	_request += "\r\n";
}


bool WebSocketUpgrade::feed(const char* data, std::size_t length)
{
	_answer.append(data, length);
	_end = _answer.find("\r\n\r\n");
	if (_end != std::string::npos) return true;
	if (_answer.size() > MAX_ANSWER_HEAD) throw Poco::Net::WebSocketException(_what + ": the answer's head is over 16 KiB");
	return false;
}


void WebSocketUpgrade::check()
{
	Poco::Net::HTTPResponse response;
	try
	{
		std::istringstream in(_answer.substr(0, _end + 4));
		response.read(in);
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::WebSocketException(_what + ": not an HTTP answer: " + exc.displayText());
	}
	// The code from the status line itself: HTTPResponse::getStatus()
	// returns an enum, and a code outside it (say 732) is undefined
	// behaviour to load (found by fuzzing).
	std::istringstream statusLine(firstLine());
	std::string version;
	int status = 0;
	statusLine >> version >> status;
	if (status != Poco::Net::HTTPResponse::HTTP_SWITCHING_PROTOCOLS)
		throw Poco::Net::WebSocketException(_what + " refused: HTTP " + std::to_string(status) + " " + response.getReason(), status);
	if (Poco::icompare(response.get("Upgrade", ""), "websocket") != 0 || !containsToken(response.get("Connection", ""), "upgrade"))
		throw Poco::Net::WebSocketException(_what + ": the 101 answer lacks Upgrade: websocket or Connection: Upgrade");
	Poco::SHA1Engine sha1;
	sha1.update(_key + WEBSOCKET_GUID);
	const Poco::DigestEngine::Digest& digest = sha1.digest();
	const std::string accept = base64(digest.data(), digest.size());
	if (response.get("Sec-WebSocket-Accept", "") != accept)
		throw Poco::Net::WebSocketException(_what + ": wrong Sec-WebSocket-Accept \"" + response.get("Sec-WebSocket-Accept", "") + "\", expected " + accept);
	_protocol = response.get("Sec-WebSocket-Protocol", "");
	if (!_subprotocol.empty() && _protocol != _subprotocol)
		throw Poco::Net::WebSocketException(_what + ": the server chose subprotocol \"" + _protocol + "\", asked for " + _subprotocol);
	for (const auto& header: response) _headers.emplace_back(header.first, header.second);
}


std::string WebSocketUpgrade::rest() const
{
	return _end == std::string::npos ? std::string() : _answer.substr(_end + 4);
}


std::string WebSocketUpgrade::firstLine() const
{
	return _answer.substr(0, _answer.find("\r\n"));
}

} } // namespace imgate::client
