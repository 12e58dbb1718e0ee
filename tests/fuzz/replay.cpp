//
// replay.cpp
//
// The main() of a fuzz target outside the fuzzing build: runs
// LLVMFuzzerTestOneInput once on each file named on the command line, or
// on each file of a folder named there (in name order), as libFuzzer
// would. A bug the target detects aborts, so the ctest entry
// FuzzReplay.TARGET fails; under the sanitizers a memory error does too.
//

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool isDirectory(const std::string& path)
{
	struct stat st;
	return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}


std::vector<std::string> filesIn(const std::string& dir)
{
	std::vector<std::string> files;
	if (DIR* pDir = ::opendir(dir.c_str()))
	{
		while (dirent* pEntry = ::readdir(pDir))
		{
			const std::string name = pEntry->d_name;
			if (name != "." && name != ".." && !isDirectory(dir + "/" + name)) files.push_back(dir + "/" + name);
		}
		::closedir(pDir);
	}
	std::sort(files.begin(), files.end());
	return files;
}

} // namespace


int main(int argc, char** argv)
{
	std::vector<std::string> inputs;
	for (int i = 1; i < argc; ++i)
	{
		if (isDirectory(argv[i]))
		{
			const std::vector<std::string> files = filesIn(argv[i]);
			if (files.empty())
			{
				std::fprintf(stderr, "%s: no input files\n", argv[i]);
				return 2;
			}
			inputs.insert(inputs.end(), files.begin(), files.end());
		}
		else inputs.push_back(argv[i]);
	}
	if (inputs.empty())
	{
		std::fprintf(stderr, "usage: %s FILE-OR-FOLDER...\n", argv[0]);
		return 2;
	}
	for (const std::string& path: inputs)
	{
		std::ifstream in(path, std::ios::binary);
		if (!in)
		{
			std::fprintf(stderr, "%s: cannot read\n", path.c_str());
			return 2;
		}
		const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
		LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
	}
	std::printf("replayed %zu inputs, no failure\n", inputs.size());
	return 0;
}
