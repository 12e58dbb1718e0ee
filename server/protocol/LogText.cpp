//
// LogText.cpp
//
// Layer: protocol
//

#include "server/protocol/LogText.h"
#include <cstdio>

namespace imgate {
namespace protocol {

namespace {

bool hidesOrReorders(unsigned cp)
	/// Unicode general categories Cc (C1), Cf, Zl and Zp.
{
	return (cp >= 0x80 && cp <= 0x9F)
		|| cp == 0xAD
		|| (cp >= 0x600 && cp <= 0x605) || cp == 0x61C || cp == 0x6DD || cp == 0x70F || cp == 0x8E2
		|| cp == 0x180E
		|| (cp >= 0x200B && cp <= 0x200F)
		|| (cp >= 0x2028 && cp <= 0x202E)
		|| (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F)
		|| cp == 0xFEFF
		|| (cp >= 0xFFF9 && cp <= 0xFFFB)
		|| cp == 0x110BD || cp == 0x110CD
		|| (cp >= 0x13430 && cp <= 0x1343F)
		|| (cp >= 0x1BCA0 && cp <= 0x1BCA3)
		|| (cp >= 0x1D173 && cp <= 0x1D17A)
		|| cp == 0xE0001 || (cp >= 0xE0020 && cp <= 0xE007F);
}

std::size_t decodeUtf8(const std::string& text, std::size_t at, unsigned& cp)
	/// The length of the well-formed UTF-8 sequence at text[at] (1 to 4),
	/// with its code point in cp; 0 if there is none (overlong forms and
	/// surrogates included).
{
	const unsigned char b0 = static_cast<unsigned char>(text[at]);
	std::size_t length;
	unsigned min;
	if (b0 < 0x80) { cp = b0; return 1; }
	else if ((b0 & 0xE0) == 0xC0) { length = 2; cp = b0 & 0x1F; min = 0x80; }
	else if ((b0 & 0xF0) == 0xE0) { length = 3; cp = b0 & 0x0F; min = 0x800; }
	else if ((b0 & 0xF8) == 0xF0) { length = 4; cp = b0 & 0x07; min = 0x10000; }
	else return 0;
	if (text.size() - at < length) return 0;
	for (std::size_t i = 1; i < length; ++i)
	{
		const unsigned char b = static_cast<unsigned char>(text[at + i]);
		if ((b & 0xC0) != 0x80) return 0;
		cp = (cp << 6) | (b & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
	return length;
}


void appendEscaped(const std::string& text, std::size_t maxBytes, std::string& out)
{
	const std::size_t end = text.size() < maxBytes ? text.size() : maxBytes;
	char buffer[16];
	std::size_t at = 0;
	while (at < end)
	{
		unsigned cp;
		std::size_t length = decodeUtf8(text, at, cp);
		if (length == 0 || at + length > end)
		{
			std::snprintf(buffer, sizeof(buffer), "\\x%02X", static_cast<unsigned char>(text[at]));
			out += buffer;
			++at;
			continue;
		}
		if (cp == '"' || cp == '\\')
		{
			out += '\\';
			out += static_cast<char>(cp);
		}
		else if (cp < 0x20 || cp == 0x7F)
		{
			std::snprintf(buffer, sizeof(buffer), "\\x%02X", cp);
			out += buffer;
		}
		else if (hidesOrReorders(cp))
		{
			std::snprintf(buffer, sizeof(buffer), "\\u{%04X}", cp);
			out += buffer;
		}
		else out.append(text, at, length);
		at += length;
	}
}

} // namespace


std::string quoted(const std::string& text, std::size_t maxBytes)
{
	std::string out;
	out.reserve(text.size() < maxBytes ? text.size() + 2 : maxBytes + 5);
	out += '"';
	appendEscaped(text, maxBytes, out);
	out += '"';
	if (text.size() > maxBytes) out += "...";
	return out;
}


std::string escaped(const std::string& text, std::size_t maxBytes)
{
	std::string out;
	out.reserve(text.size() < maxBytes ? text.size() : maxBytes + 3);
	appendEscaped(text, maxBytes, out);
	if (text.size() > maxBytes) out += "...";
	return out;
}


std::string validUtf8(const std::string& text)
{
	std::string out;
	out.reserve(text.size());
	char buffer[8];
	std::size_t at = 0;
	while (at < text.size())
	{
		unsigned cp;
		const std::size_t length = decodeUtf8(text, at, cp);
		if (length == 0)
		{
			std::snprintf(buffer, sizeof(buffer), "\\x%02X", static_cast<unsigned char>(text[at]));
			out += buffer;
			++at;
		}
		else
		{
			out.append(text, at, length);
			at += length;
		}
	}
	return out;
}

} } // namespace imgate::protocol
