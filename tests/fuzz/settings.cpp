//
// settings.cpp
//
// Fuzz target: the properties loader, as imgated reads its --config file:
// Poco::Util::PropertyFileConfiguration reads the file, then
// app::Settings::load() checks it against the schema. Any file must end
// in settings or in a ConfigException naming the file (a bad value names
// its key, and its line when the key is written on one); nothing else may
// escape. Settings that loaded must load again, unchanged, from their own
// values() (what a reload compares).
//
// Input: the file's text (written to a temporary file, since load() reads
// the file again to find the line of a bad key).
//

#include "server/app/Settings.h"
#include "Poco/AutoPtr.h"
#include "Poco/Exception.h"
#include "Poco/Util/MapConfiguration.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <unistd.h>

using imgate::app::ConfigException;
using imgate::app::Settings;

namespace {

std::string g_path;


void removeFile()
{
	if (!g_path.empty()) ::unlink(g_path.c_str());
}


const std::string& path()
{
	if (g_path.empty())
	{
		char name[] = "/tmp/imgate-fuzz-settings-XXXXXX";
		const int fd = ::mkstemp(name);
		if (fd < 0) std::abort();
		::close(fd);
		g_path = name;
		std::atexit(removeFile);
	}
	return g_path;
}


[[noreturn]] void fail(const std::string& what)
{
	std::fprintf(stderr, "settings: %s\n", what.c_str());
	std::abort();
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	{
		std::ofstream out(path(), std::ios::binary | std::ios::trunc);
		out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
		if (!out) std::abort();
	}
	Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> pConfig;
	try
	{
		pConfig = new Poco::Util::PropertyFileConfiguration(path());
	}
	catch (Poco::Exception&)
	{
		return 0; // Poco's parser refused it (imgated reports that as it is)
	}
	Settings settings;
	try
	{
		settings = Settings::load(*pConfig, path());
	}
	catch (ConfigException& exc)
	{
		if (exc.message().compare(0, path().size(), path()) != 0) fail("an error that does not name the file: " + exc.displayText());
		return 0;
	}
	catch (Poco::Exception& exc)
	{
		fail("load() threw " + exc.displayText() + " instead of a ConfigException");
	}
	catch (std::exception& exc)
	{
		fail(std::string("load() threw ") + exc.what() + " instead of a ConfigException");
	}

	// Again from the values in force, for the keys the file set (a default
	// may lie outside the bounds a written value is held to).
	const std::map<std::string, std::string> values = settings.values();
	Poco::AutoPtr<Poco::Util::MapConfiguration> pAgain(new Poco::Util::MapConfiguration);
	for (const auto& kv: values)
	{
		if (pConfig->has(kv.first)) pAgain->setString(kv.first, kv.second);
	}
	try
	{
		if (Settings::load(*pAgain, "").values() != values) fail("values() load as other settings");
	}
	catch (Poco::Exception& exc)
	{
		fail("values() do not load again: " + exc.displayText());
	}
	return 0;
}
