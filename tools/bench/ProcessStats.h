//
// ProcessStats.h
//
// imgate-bench: a process's resident memory and CPU time, from /proc.
//

#ifndef imgate_bench_ProcessStats_INCLUDED
#define imgate_bench_ProcessStats_INCLUDED

#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace imgate {
namespace bench {

struct ProcessStats
{
	static long rssKiB(int pid)
		/// VmRSS, or -1.
	{
		std::ifstream in("/proc/" + std::to_string(pid) + "/status");
		std::string line;
		while (std::getline(in, line))
		{
			if (line.compare(0, 6, "VmRSS:") == 0) return std::stol(line.substr(6));
		}
		return -1;
	}

	static double cpuSeconds(int pid)
		/// User + system time of pid (every thread), or -1.
	{
		std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
		std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		const std::string::size_type close = text.rfind(')');
		if (close == std::string::npos) return -1;
		std::istringstream fields(text.substr(close + 2));
		std::string field;
		unsigned long utime = 0, stime = 0;
		// Fields after the name start at 3 (state); utime is 14, stime 15.
		for (int i = 3; i <= 15 && fields >> field; ++i)
		{
			if (i == 14) utime = std::stoul(field);
			if (i == 15) stime = std::stoul(field);
		}
		return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
	}

	static double selfCpuSeconds()
	{
		rusage u{};
		getrusage(RUSAGE_SELF, &u);
		return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
	}
};

} } // namespace imgate::bench

#endif // imgate_bench_ProcessStats_INCLUDED
