//
// log-text.cpp
//
// Fuzz target: protocol::quoted() on arbitrary client text. Whatever
// comes in, what goes to the log is one token: it starts with a quote,
// has no unescaped quote before its closing one, no control byte, only
// well-formed UTF-8, and none of the characters that hide or reorder
// text (those are written as \u{XXXX}). And protocol::validUtf8() on the
// same text: well-formed UTF-8 out, and text that was well-formed comes
// back unchanged.
//

#include "tests/fuzz/FuzzCheck.h"
#include "server/protocol/LogText.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

const imgate::fuzz::FuzzCheck require("log-text");


bool wellFormed(const std::string& text)
	/// An oracle written apart from LogText.cpp: Unicode's table 3-7 of
	/// well-formed byte sequences.
{
	std::size_t i = 0;
	while (i < text.size())
	{
		const unsigned char b0 = static_cast<unsigned char>(text[i]);
		if (b0 < 0x80) { ++i; continue; }
		std::size_t length;
		unsigned char lo = 0x80, hi = 0xBF;
		if (b0 >= 0xC2 && b0 <= 0xDF) length = 2;
		else if (b0 >= 0xE0 && b0 <= 0xEF)
		{
			length = 3;
			if (b0 == 0xE0) lo = 0xA0;
			if (b0 == 0xED) hi = 0x9F;
		}
		else if (b0 >= 0xF0 && b0 <= 0xF4)
		{
			length = 4;
			if (b0 == 0xF0) lo = 0x90;
			if (b0 == 0xF4) hi = 0x8F;
		}
		else return false;
		if (text.size() - i < length) return false;
		const unsigned char b1 = static_cast<unsigned char>(text[i + 1]);
		if (b1 < lo || b1 > hi) return false;
		for (std::size_t k = 2; k < length; ++k)
		{
			const unsigned char b = static_cast<unsigned char>(text[i + k]);
			if (b < 0x80 || b > 0xBF) return false;
		}
		i += length;
	}
	return true;
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	const std::string text(reinterpret_cast<const char*>(data), size);
	const std::size_t limit = size % 300;
	const std::string out = imgate::protocol::quoted(text, limit);
	require(out.size() >= 2 && out[0] == '"', "starts with a quote");
	std::size_t i = 1;
	bool closed = false;
	while (i < out.size())
	{
		const unsigned char c = static_cast<unsigned char>(out[i]);
		require(c >= 0x20 && c != 0x7F, "no control byte");
		if (c == '\\')
		{
			require(i + 1 < out.size(), "an escape is complete");
			i += 2;
			continue;
		}
		if (c == '"')
		{
			closed = true;
			++i;
			break;
		}
		std::size_t length = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		require(length > 0 && i + length <= out.size(), "well-formed UTF-8");
		unsigned cp = length == 1 ? c : length == 2 ? (c & 0x1F) : length == 3 ? (c & 0x0F) : (c & 0x07);
		for (std::size_t k = 1; k < length; ++k)
		{
			const unsigned char b = static_cast<unsigned char>(out[i + k]);
			require((b & 0xC0) == 0x80, "well-formed UTF-8");
			cp = (cp << 6) | (b & 0x3F);
		}
		require(!(cp >= 0x80 && cp <= 0x9F) && cp != 0x202E && cp != 0x202D && cp != 0xFEFF && cp != 0x200B
			&& cp != 0x2028 && cp != 0x2029 && !(cp >= 0x2066 && cp <= 0x2069), "no hiding or reordering character");
		i += length;
	}
	require(closed, "closed by a quote");
	require(i == out.size() || out.compare(i, std::string::npos, "...") == 0, "nothing but the cut mark after the quote");
	require((i < out.size()) == (size > limit), "the cut mark exactly when text was cut");

	const std::string repaired = imgate::protocol::validUtf8(text);
	require(wellFormed(repaired), "validUtf8: well-formed UTF-8");
	require(!wellFormed(text) || repaired == text, "validUtf8: well-formed text unchanged");
	return 0;
}
