//
// websocket-upgrade.cpp
//
// Fuzz target: the client side of the WebSocket opening handshake
// (client::WebSocketUpgrade, used by the C++ client library and
// ImgateClient) on an arbitrary answer from a server, fed in two pieces.
// feed() finds the end of the answer's head or refuses a head above
// 16 KiB; check() of a complete head either accepts it or throws a
// Poco::Exception saying why (a random key makes acceptance all but
// impossible here: the point is that nothing crashes and nothing else
// escapes); rest() is exactly what follows the head in what was fed.
//

#include "tests/fuzz/FuzzCheck.h"
#include "tools/imgate-cli/WebSocketUpgrade.h"
#include "Poco/Exception.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using imgate::client::WebSocketUpgrade;

namespace {

const imgate::fuzz::FuzzCheck require("websocket-upgrade");

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	const std::string bytes(reinterpret_cast<const char*>(data), size);
	WebSocketUpgrade upgrade("127.0.0.1:7800", "/imgate", "imgate.v1", "http://localhost");
	require(upgrade.request().compare(0, 19, "GET /imgate HTTP/1.") == 0, "a GET request");
	// A caller stops feeding once the head is complete: the second piece
	// goes in only when the first did not complete it.
	const std::size_t split = size / 2;
	std::size_t fed = split;
	bool complete = false;
	try
	{
		complete = upgrade.feed(bytes.data(), split);
		if (!complete)
		{
			fed = size;
			complete = upgrade.feed(bytes.data() + split, size - split);
		}
	}
	catch (Poco::Exception&)
	{
		const std::size_t end = bytes.substr(0, fed).find("\r\n\r\n");
		require(end == std::string::npos || end > 16 * 1024 - 4, "only a head above 16 KiB is refused");
		return 0;
	}
	const std::string given = bytes.substr(0, fed);
	const std::size_t end = given.find("\r\n\r\n");
	require(complete == (end != std::string::npos), "complete exactly when the head has ended");
	if (!complete) return 0;
	require(upgrade.rest() == given.substr(end + 4), "rest() is what follows the head in what was fed");
	try
	{
		upgrade.check();
	}
	catch (Poco::Exception&)
	{
		// Refused, with a reason: the expected outcome.
	}
	return 0;
}
