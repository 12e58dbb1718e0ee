//
// websocket.cpp
//
// Fuzz target: the WebSocket listener's parsers on arbitrary bytes.
// The first byte chooses:
//  - even: the rest is an HTTP request head for WebSocketHandshake::answer()
//    (with the demo's files, an allow list, a small message limit);
//  - odd: a valid upgrade request, then the rest as the client's stream,
//    handed to a WebSocketChannel in chunks whose sizes the input's bytes
//    choose. The channel frames with wslay through the thread's context.
// Promises: nothing crashes; an answer is a complete HTTP response with the
// status it says; messages passed on are within the limit; after the
// channel finished, nothing more is passed on; the thread's context stays
// usable for the next input.
//

#include "tests/fuzz/FuzzCheck.h"
#include "server/net/WebSocketChannel.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace imgate::net;

namespace {

const imgate::fuzz::FuzzCheck require("websocket");


const unsigned char PAGE[] = "<!doctype html><title>x</title>";
const StaticFile FILES[] = {{"index.html", PAGE, sizeof(PAGE) - 1}, {"chat.js", PAGE, 5}};
const StaticFiles TABLE{FILES, 2};


WebSocketOptions options()
{
	WebSocketOptions o;
	o.pFiles = &TABLE;
	o.allowedOrigins = {"https://chat.example.com"};
	o.maxMessageSize = 4096;
	return o;
}


class Sink: public ByteSink
{
public:
	void write(const char* data, std::size_t length) override
	{
		bytes.append(data, length);
		require(bytes.size() < 64 * 1024 * 1024, "output stays bounded");
	}

	std::string bytes;
};


class Handler: public WebSocketChannel::Handler
{
public:
	explicit Handler(std::size_t limit): _limit(limit)
	{
	}

	Poco::UInt16 onMessage(const char* data, std::size_t length) override
	{
		require(length <= _limit, "a message within the limit");
		require(!finished, "no message after the channel finished");
		++messages;
		// Refuse some, as the session does for a message that is not one frame.
		return (length > 0 && data[0] == 'X') ? WebSocketChannel::PROTOCOL_ERROR : 0;
	}

	bool stopped() const override
	{
		return false;
	}

	void onRequest(const WebSocketHandshake::Answer& answer) override
	{
		require(answer.response.compare(0, 9, "HTTP/1.1 ") == 0, "an answer is HTTP/1.1");
		require(answer.response.find("\r\n\r\n") != std::string::npos, "an answer has a whole head");
		++requests;
	}

	bool finished = false;
	unsigned messages = 0;
	unsigned requests = 0;

private:
	std::size_t _limit;
};

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	if (size == 0) return 0;
	static const WebSocketOptions OPTIONS = options();
	const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
	if ((data[0] & 1) == 0)
	{
		const WebSocketHandshake::Answer answer = WebSocketHandshake::answer(rest, OPTIONS);
		require(answer.response.compare(0, 9, "HTTP/1.1 ") == 0, "an answer is HTTP/1.1");
		require(answer.response.compare(9, 3, std::to_string(answer.status)) == 0, "the status line says the status");
		require((answer.outcome == WebSocketHandshake::UPGRADE) == (answer.status == 101), "101 is the upgrade");
		require((answer.outcome == WebSocketHandshake::SERVED) == (answer.status == 200), "200 is a file");
		require(answer.outcome != WebSocketHandshake::REFUSED || !answer.reason.empty(), "a refusal says why");
		return 0;
	}
	Sink out;
	Handler handler(OPTIONS.maxMessageSize);
	WebSocketChannel channel(OPTIONS);
	const std::string upgrade = "GET /imgate HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: imgate.v1\r\n\r\n";
	channel.receive(upgrade.data(), upgrade.size(), out, handler);
	require(channel.state() == WebSocketChannel::OPEN, "the upgrade opens");
	std::size_t at = 0;
	std::size_t i = 0;
	while (at < rest.size())
	{
		const std::size_t chunk = 1 + static_cast<unsigned char>(rest[i++ % rest.size()]) % 97;
		const std::size_t n = chunk < rest.size() - at ? chunk : rest.size() - at;
		channel.receive(rest.data() + at, n, out, handler);
		at += n;
		if (channel.state() == WebSocketChannel::FINISHED)
		{
			handler.finished = true;
			require(channel.closeCode() != 0, "a finished channel sent a close code");
		}
	}
	// Output both ways still works (or is dropped once finished).
	const char frame[] = "0123456789";
	channel.send(frame, sizeof(frame) - 1, out, [](const char*, std::size_t length) { return length; });
	channel.close(WebSocketChannel::NORMAL, "", out);
	require(channel.state() == WebSocketChannel::FINISHED, "close finishes");
	return 0;
}
