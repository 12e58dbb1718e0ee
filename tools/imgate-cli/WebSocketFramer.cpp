//
// WebSocketFramer.cpp
//

#include "tools/imgate-cli/WebSocketFramer.h"
#include <cstring>
#include <random>

namespace imgate {
namespace client {

namespace {

std::uint32_t randomKey()
{
	// A fresh unpredictable key per frame (RFC 6455 5.3); the test client
	// sends few frames, so the cost of random_device does not matter.
	static thread_local std::random_device device;
	return device();
}


void appendHeader(std::string& out, unsigned first, std::size_t length, bool mask)
{
	out += static_cast<char>(first);
	const unsigned maskBit = mask ? 0x80u : 0u;
	if (length < 126)
	{
		out += static_cast<char>(maskBit | static_cast<unsigned>(length));
	}
	else if (length <= 0xFFFF)
	{
		out += static_cast<char>(maskBit | 126u);
		out += static_cast<char>((length >> 8) & 0xFF);
		out += static_cast<char>(length & 0xFF);
	}
	else
	{
		out += static_cast<char>(maskBit | 127u);
		for (int shift = 56; shift >= 0; shift -= 8)
			out += static_cast<char>((static_cast<std::uint64_t>(length) >> shift) & 0xFF);
	}
}


void appendMaskedPayload(std::string& out, const char* data, std::size_t length, std::uint32_t key)
{
	unsigned char k[4];
	std::memcpy(k, &key, 4);
	out.append(reinterpret_cast<const char*>(k), 4);
	const std::size_t at = out.size();
	out.append(data, length);
	char* p = &out[at];
	// Eight bytes at a time, then the tail.
	std::uint64_t k8;
	unsigned char kk[8] = {k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]};
	std::memcpy(&k8, kk, 8);
	std::size_t i = 0;
	for (; i + 8 <= length; i += 8)
	{
		std::uint64_t v;
		std::memcpy(&v, p + i, 8);
		v ^= k8;
		std::memcpy(p + i, &v, 8);
	}
	for (; i < length; ++i) p[i] = static_cast<char>(p[i] ^ k[i & 3]);
}

} // namespace


WebSocketFramer::WebSocketFramer(std::size_t maxPayload):
	_maxPayload(maxPayload)
{
}


void WebSocketFramer::feed(const char* data, std::size_t length)
{
	if (_at > 0 && _at == _in.size())
	{
		_in.clear();
		_at = 0;
	}
	else if (_at > 65536 && _at * 2 > _in.size())
	{
		_in.erase(0, _at);
		_at = 0;
	}
	_in.append(data, length);
}


long WebSocketFramer::parse(const char* data, std::size_t size, Frame& frame, std::size_t maxPayload)
{
	if (size < 2) return 0;
	const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
	std::size_t header = 2;
	std::uint64_t length = p[1] & 0x7F;
	if (length == 126)
	{
		header += 2;
		if (size < header) return 0;
		length = (static_cast<std::uint64_t>(p[2]) << 8) | p[3];
	}
	else if (length == 127)
	{
		header += 8;
		if (size < header) return 0;
		length = 0;
		for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
	}
	if (length > maxPayload) return -1;
	const bool masked = (p[1] & 0x80) != 0;
	if (masked) header += 4;
	if (size < header + length) return 0;
	frame.fin = (p[0] & 0x80) != 0;
	frame.rsv = (p[0] >> 4) & 0x7;
	frame.opcode = p[0] & 0x0F;
	frame.masked = masked;
	frame.payload = data + header;
	frame.length = static_cast<std::size_t>(length);
	return static_cast<long>(header + length);
}


WebSocketFramer::Result WebSocketFramer::next(Frame& frame)
{
	const long used = parse(_in.data() + _at, _in.size() - _at, frame, _maxPayload);
	if (used == 0) return NEED_MORE;
	if (used < 0) return TOO_LARGE;
	if (frame.masked)
	{
		char* payload = &_in[_at + static_cast<std::size_t>(used) - frame.length];
		const char* key = payload - 4;
		for (std::size_t i = 0; i < frame.length; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i & 3]);
		frame.payload = payload;
	}
	_at += static_cast<std::size_t>(used);
	return FRAME;
}


void WebSocketFramer::append(std::string& out, unsigned opcode, const char* data, std::size_t length, bool fin, bool mask, unsigned rsv)
{
	appendHeader(out, (fin ? 0x80u : 0u) | ((rsv & 7u) << 4) | (opcode & 0x0Fu), length, mask);
	if (mask) appendMaskedPayload(out, data, length, randomKey());
	else out.append(data, length);
}


void WebSocketFramer::appendMasked(std::string& out, unsigned opcode, const char* data, std::size_t length, std::uint32_t maskKey)
{
	appendHeader(out, 0x80u | (opcode & 0x0Fu), length, true);
	appendMaskedPayload(out, data, length, maskKey);
}


std::string WebSocketFramer::closePayload(std::uint16_t code, const std::string& reason)
{
	std::string payload;
	payload += static_cast<char>(code >> 8);
	payload += static_cast<char>(code & 0xFF);
	payload += reason;
	return payload;
}

} } // namespace imgate::client
