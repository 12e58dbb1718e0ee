//
// http-head.cpp
//
// Fuzz target: the admin listener's request head (admin::HttpRequestHead)
// on arbitrary bytes: end() finds the end of a head or says it is not
// complete, and parse() of what it found either accepts it, with fields
// that keep the listener's rules, or refuses it with a 400-class status
// and a reason. Nothing crashes, and nothing is accepted that the rules
// refuse.
//

#include "tests/fuzz/FuzzCheck.h"
#include "server/admin/HttpRequestHead.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using imgate::admin::HttpRequestHead;

namespace {

const imgate::fuzz::FuzzCheck require("http-head");

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	const std::string bytes(reinterpret_cast<const char*>(data), size);
	const std::size_t end = HttpRequestHead::end(bytes);
	require(end <= bytes.size(), "end within the bytes");
	if (end > 0)
	{
		require(end >= 2 && bytes[end - 1] == '\n', "a head ends with a line feed");
		require(HttpRequestHead::end(bytes.substr(0, end)) == end, "the head alone ends at the same place");
	}
	// Parse what a listener would: the head found, or everything (as if
	// the client had ended it there).
	HttpRequestHead head;
	const std::string text = end > 0 ? bytes.substr(0, end) : bytes;
	if (head.parse(text))
	{
		require(!head.method().empty() && !head.uri().empty(), "an accepted head has a request line");
		require(head.status() == 0 && head.reason().empty(), "an accepted head has no error");
		require(text.size() <= HttpRequestHead::MAX_BYTES, "an accepted head is within the limit");
	}
	else
	{
		require(head.status() == 400 || head.status() == 411 || head.status() == 431, "a refusal is 400, 411 or 431");
		require(!head.reason().empty(), "a refusal says why");
	}
	return 0;
}
