//
// ban-list.cpp
//
// Fuzz target: the blacklist plugin's list file parser (BanList::parse
// and AddressMatcher, plugins/blacklist), on any file text. Checks what
// the format promises (docs/plugins.md): every error names the file and a
// line of it; a line "ip ADDRESS[/PREFIX]" or "uid UID" that is not
// reported bans that address (the address itself lies in its own block)
// or uid; any address inet_pton reads is accepted on its own; nothing
// counts more entries than there are lines; a warning names a line that
// was used and whose block is a whole family (prefix 0), and every such
// line gets one; messages are printable ASCII (an invisible byte of the
// file shows as \xNN); a UTF-8 byte-order mark at the start changes
// nothing.
//
// Input: the file's text.
//

#include "tests/fuzz/FuzzCheck.h"
#include "plugins/blacklist/BanList.h"
#include "imgate/Address.h"
#include <arpa/inet.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using imgate::blacklist::BanList;

namespace {

const std::string FILE_NAME = "fuzz.txt";


const imgate::fuzz::FuzzCheck require("ban-list");


bool plainAddress(const std::string& text)
	/// What inet_pton reads (IPv6 without a zone), all of text.
{
	unsigned char bytes[16];
	if (text.find('\0') != std::string::npos) return false;
	return ::inet_pton(AF_INET, text.c_str(), bytes) == 1 || ::inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	static const std::string BYTE_ORDER_MARK = "\xEF\xBB\xBF";
	const std::string input(reinterpret_cast<const char*>(data), size);
	std::vector<std::string> errors, warnings;
	const BanList list = BanList::parse(input, FILE_NAME, errors, warnings);
	// The text as the parser reads it: without the mark.
	const bool marked = input.compare(0, BYTE_ORDER_MARK.size(), BYTE_ORDER_MARK) == 0;
	const std::string text = marked ? input.substr(BYTE_ORDER_MARK.size()) : input;
	// Only one mark is skipped: a second is the first line's text.
	if (marked && text.compare(0, BYTE_ORDER_MARK.size(), BYTE_ORDER_MARK) != 0)
	{
		std::vector<std::string> unmarkedErrors, unmarkedWarnings;
		const BanList unmarked = BanList::parse(text, FILE_NAME, unmarkedErrors, unmarkedWarnings);
		require(unmarkedErrors == errors && unmarkedWarnings == warnings && unmarked.addressCount() == list.addressCount()
			&& unmarked.uidCount() == list.uidCount(), "a byte-order mark changed what the file means");
	}
	for (const std::vector<std::string>* pMessages: {&errors, &warnings})
	{
		for (const std::string& message: *pMessages)
		{
			for (unsigned char c: message) require(c >= 0x20 && c <= 0x7E, "a message with a byte that is not printable ASCII: " + message);
		}
	}

	// Lines as the parser reads them (std::getline).
	std::vector<std::string> lines;
	{
		std::istringstream in(text);
		std::string line;
		while (std::getline(in, line)) lines.push_back(line);
	}
	std::set<std::size_t> reported;
	for (const std::string& error: errors)
	{
		require(error.compare(0, FILE_NAME.size() + 1, FILE_NAME + ":") == 0, "an error without the file name: " + error);
		const std::size_t colon = error.find(':', FILE_NAME.size() + 1);
		require(colon != std::string::npos && colon + 1 < error.size() && error[colon + 1] == ' ', "an error without a line: " + error);
		const std::string digits = error.substr(FILE_NAME.size() + 1, colon - FILE_NAME.size() - 1);
		require(!digits.empty() && digits.size() < 10 && digits.find_first_not_of("0123456789") == std::string::npos, "an error without a line: " + error);
		const std::size_t number = std::stoul(digits);
		require(number >= 1 && number <= lines.size(), "an error naming a line the file does not have: " + error);
		require(reported.insert(number).second, "two errors for one line: " + error);
	}
	std::map<std::size_t, std::string> warned;
	for (const std::string& warning: warnings)
	{
		require(warning.compare(0, FILE_NAME.size() + 1, FILE_NAME + ":") == 0, "a warning without the file name: " + warning);
		const std::size_t colon = warning.find(':', FILE_NAME.size() + 1);
		require(colon != std::string::npos, "a warning without a line: " + warning);
		const std::string digits = warning.substr(FILE_NAME.size() + 1, colon - FILE_NAME.size() - 1);
		require(!digits.empty() && digits.size() < 10 && digits.find_first_not_of("0123456789") == std::string::npos, "a warning without a line: " + warning);
		const std::size_t number = std::stoul(digits);
		require(number >= 1 && number <= lines.size(), "a warning naming a line the file does not have: " + warning);
		require(reported.count(number) == 0, "a warning for a line skipped: " + warning);
		require(warned.count(number) == 0, "two warnings for one line: " + warning);
		warned[number] = warning;
	}
	require(list.addressCount() + list.uidCount() <= lines.size(), "more entries than lines");

	std::size_t wholeLines = 0;
	for (std::size_t i = 0; i < lines.size(); ++i)
	{
		std::string line = lines[i];
		const std::size_t hash = line.find('#');
		if (hash != std::string::npos) line.erase(hash);
		std::istringstream words(line);
		std::string kind, value, extra;
		words >> kind >> value >> extra;
		if (kind.empty() || value.empty() || !extra.empty()) continue;
		const std::string where = FILE_NAME + ":" + std::to_string(i + 1) + " \"" + lines[i] + "\": ";
		const bool ok = reported.count(i + 1) == 0;
		if (kind == "ip")
		{
			const std::string host = value.substr(0, value.find('/'));
			if (value.find('/') == std::string::npos && plainAddress(value))
				require(ok, where + "an address refused");
			if (ok) require(list.bansAddress(host), where + "listed, yet its address is not banned");
			// A block of prefix 0 (also ::ffff:0:0/96, the IPv4 one) is
			// every address of its family: warned, naming the family.
			imgate::AddressRange range;
			std::string error;
			const bool whole = ok && imgate::AddressRange::parse(value, range, error) && range.prefix() == 0;
			const auto w = warned.find(i + 1);
			require(whole == (w != warned.end()), where + (whole ? "a whole family banned without a warning" : "a warning for less than a whole family"));
			if (whole)
			{
				++wholeLines;
				const std::string expected = FILE_NAME + ":" + std::to_string(i + 1) + ": " + value + " bans every " + (range.isIPv4() ? "IPv4" : "IPv6") + " address";
				require(w->second == expected, where + "warned as \"" + w->second + "\", expected \"" + expected + "\"");
				require(list.bansAddress(range.isIPv4() ? "198.51.100.1" : "2001:db8::1"), where + "a whole family warned, yet not banned");
			}
		}
		else if (kind == "uid" && ok)
		{
			require(list.bansUid(value), where + "listed, yet the uid is not banned");
		}
	}
	require(wholeLines == warned.size(), "a warning for a line that is not an ip line of a whole family");
	return 0;
}
