//
// outbox-file.cpp
//
// Fuzz target: the C++ client's outbox file (client::OutboxFile) on
// arbitrary bytes. Opening either refuses the file with a
// Poco::FileException (not an outbox, damaged) and leaves it as it was,
// or takes it: then it has rewritten the file with what it restored, and
// opening that again restores the same sends, in the same order, and the
// same delivered ids. Nothing crashes.
//

#include "tests/fuzz/FuzzCheck.h"
#include "clients/cpp/src/OutboxFile.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/TemporaryFile.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

using imgate::client::OutboxFile;

namespace {

const imgate::fuzz::FuzzCheck require("outbox-file");


const std::string& folder()
{
	static const std::string dir = []()
	{
		const std::string d = Poco::TemporaryFile::tempName() + "/";
		Poco::File(d).createDirectories();
		Poco::TemporaryFile::registerForDeletion(d);
		return d;
	}();
	return dir;
}


std::string read(const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	const std::string path = folder() + "outbox";
	const std::string bytes(reinterpret_cast<const char*>(data), size);
	{
		std::ofstream out(path, std::ios::binary | std::ios::trunc);
		out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
	}
	std::vector<imgate::client::Client::Outgoing> sends;
	std::deque<Poco::UInt64> ids;
	try
	{
		OutboxFile file(path);
		sends = file.restoredSends();
		ids = file.restoredIds();
		require(file.droppedBytes() <= bytes.size(), "dropped no more than there was");
	}
	catch (Poco::FileException&)
	{
		require(read(path) == bytes, "a refused file is left as it was");
		return 0;
	}
	OutboxFile again(path);
	require(again.droppedBytes() == 0, "the rewritten file reads whole");
	require(again.restoredSends().size() == sends.size(), "the same sends after the rewrite");
	for (std::size_t i = 0; i < sends.size(); ++i)
	{
		const auto& a = sends[i];
		const auto& b = again.restoredSends()[i];
		require(a.clientMsgId == b.clientMsgId && a.toUid == b.toUid && a.toGroup == b.toGroup && a.payload == b.payload,
			"each send the same, in the same order");
	}
	require(again.restoredIds() == ids, "the same delivered ids");
	return 0;
}
