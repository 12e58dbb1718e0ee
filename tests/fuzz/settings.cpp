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

#include "tests/fuzz/FuzzCheck.h"
#include "server/app/Settings.h"
#include "Poco/AutoPtr.h"
#include "Poco/Exception.h"
#include "Poco/Util/MapConfiguration.h"
#include "Poco/Util/PropertyFileConfiguration.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <unistd.h>

using imgate::app::ConfigException;
using imgate::app::Settings;

namespace {

std::string writeInput(const std::uint8_t* data, std::size_t size)
	/// A new file holding the input (mkstemp: never one that exists).
{
	char name[] = "/tmp/imgate-fuzz-settings-XXXXXX";
	const int fd = ::mkstemp(name);
	if (fd < 0) std::abort();
	std::size_t written = 0;
	while (written < size)
	{
		const ssize_t n = ::write(fd, data + written, size - written);
		if (n <= 0) std::abort();
		written += static_cast<std::size_t>(n);
	}
	::close(fd);
	return name;
}


struct Unlink
	/// Removes the input's file when the input is done, however it ends:
	/// a fuzzing run leaves no files behind (an atexit() handler is not
	/// run when libFuzzer stops a run).
{
	const std::string& path;
	~Unlink() { ::unlink(path.c_str()); }
};


const imgate::fuzz::FuzzCheck check("settings");

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	const std::string path = writeInput(data, size);
	const Unlink unlink{path};
	Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> pConfig;
	try
	{
		pConfig = new Poco::Util::PropertyFileConfiguration(path);
	}
	catch (Poco::Exception&)
	{
		return 0; // Poco's parser refused it (imgated reports that as it is)
	}
	Settings settings;
	try
	{
		settings = Settings::load(*pConfig, path);
	}
	catch (ConfigException& exc)
	{
		if (exc.message().compare(0, path.size(), path) != 0) check.fail("an error that does not name the file: " + exc.displayText());
		return 0;
	}
	catch (Poco::Exception& exc)
	{
		check.fail("load() threw " + exc.displayText() + " instead of a ConfigException");
	}
	catch (std::exception& exc)
	{
		check.fail(std::string("load() threw ") + exc.what() + " instead of a ConfigException");
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
		if (Settings::load(*pAgain, "").values() != values) check.fail("values() load as other settings");
	}
	catch (Poco::Exception& exc)
	{
		check.fail("values() do not load again: " + exc.displayText());
	}
	return 0;
}
