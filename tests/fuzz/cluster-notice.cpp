//
// cluster-notice.cpp
//
// Fuzz target: cluster::Notice::parse() on any line from a node's Redis
// channel (Redis is shared; anything may be published there). Whatever
// comes in, a notice acted on names a valid uid, a kick has reason 1 or 2
// and a message of at most Notice::MAX_MESSAGE bytes; a DELIVER or KICK
// line written back the way ClusterNode writes it parses the same.
//

#include "tests/fuzz/FuzzCheck.h"
#include "server/cluster/Notice.h"
#include "server/protocol/Uid.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

const imgate::fuzz::FuzzCheck require("cluster-notice");

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	using imgate::cluster::Notice;
	const std::string line(reinterpret_cast<const char*>(data), size);
	const Notice notice = Notice::parse(line);
	if (notice.kind == Notice::NONE)
	{
		require(notice.uid.empty() && notice.message.empty() && notice.reason == 0, "an ignored line carries nothing");
		return 0;
	}
	require(imgate::protocol::isValidUid(notice.uid), "the uid is valid");
	std::string again;
	if (notice.kind == Notice::DELIVER)
	{
		require(notice.message.empty() && notice.reason == 0, "a delivery carries a uid only");
		again = "d " + notice.uid;
	}
	else
	{
		require(notice.reason == 1 || notice.reason == 2, "a kick's reason is 1 or 2");
		require(notice.message.size() <= Notice::MAX_MESSAGE, "a kick's message is bounded");
		again = "k " + std::to_string(notice.reason) + " " + notice.uid + " " + notice.message;
	}
	const Notice reparsed = Notice::parse(again);
	require(reparsed.kind == notice.kind && reparsed.uid == notice.uid && reparsed.reason == notice.reason
		&& reparsed.message == notice.message, "a notice written back parses the same");
	return 0;
}
