//
// LogText.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/LogText.h"
#include <cstdio>

namespace imgate {
namespace blacklist {

namespace {

void appendEscaped(const std::string& text, std::size_t end, bool escapeQuote, std::string& out)
{
	char hex[8];
	for (std::size_t i = 0; i < end; ++i)
	{
		const unsigned char c = static_cast<unsigned char>(text[i]);
		if (c == '\\' || (escapeQuote && c == '"'))
		{
			out += '\\';
			out += static_cast<char>(c);
		}
		else if (c < 0x20 || c > 0x7E)
		{
			std::snprintf(hex, sizeof(hex), "\\x%02X", c);
			out += hex;
		}
		else out += static_cast<char>(c);
	}
}

} // namespace


std::string printable(const std::string& text)
{
	std::string out;
	out.reserve(text.size());
	appendEscaped(text, text.size(), false, out);
	return out;
}


std::string quoted(const std::string& text, std::size_t maxBytes)
{
	const std::size_t end = text.size() < maxBytes ? text.size() : maxBytes;
	std::string out;
	out.reserve(end + 5);
	out += '"';
	appendEscaped(text, end, true, out);
	out += '"';
	if (text.size() > maxBytes) out += "...";
	return out;
}

} } // namespace imgate::blacklist
