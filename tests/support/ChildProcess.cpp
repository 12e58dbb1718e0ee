//
// ChildProcess.cpp
//

#include "tests/support/ChildProcess.h"
#include "tests/support/Wait.h"
#include "Poco/Environment.h"
#include "Poco/Exception.h"
#include "Poco/Path.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace imgate {
namespace test {

namespace {

int decode(int status)
{
	if (WIFEXITED(status)) return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
	return -1;
}


void say(const std::string& text)
	/// In the child between fork and exec: write(2) only.
{
	ssize_t n = ::write(2, text.data(), text.size());
	(void) n;
}


void closeFrom(int first)
{
	// close_range(2) where the kernel has it (5.9+); a bounded loop otherwise.
#ifdef SYS_close_range
	if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0u, 0u) == 0) return;
#endif
	long max = ::sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536) max = 65536;
	for (int fd = first; fd < max; ++fd) ::close(fd);
}


std::string canonical(const std::string& path)
{
	char resolved[PATH_MAX];
	if (::realpath(path.c_str(), resolved) == nullptr) return std::string();
	return resolved;
}

} // namespace


ChildProcess::Account::Account():
	uid(static_cast<uid_t>(-1)),
	gid(static_cast<gid_t>(-1))
{
}


bool ChildProcess::Account::isOwn() const
{
	return uid == static_cast<uid_t>(-1);
}


ChildProcess::ChildProcess()
{
}


ChildProcess::~ChildProcess()
{
	if (running())
	{
		::kill(_pid, SIGKILL);
		waitExit(10000);
	}
}


void ChildProcess::launch(const std::string& program, const std::vector<std::string>& args, const std::string& logPath, const std::string& workingDir, const Account& account)
{
	if (running()) throw Poco::IllegalStateException("still running", program);

	// Everything the child needs is made before fork(): after it, a child
	// of a threaded process may only make async-signal-safe calls.
	std::vector<std::string> all{program};
	all.insert(all.end(), args.begin(), args.end());
	std::vector<char*> argv;
	for (auto& a: all) argv.push_back(const_cast<char*>(a.c_str()));
	argv.push_back(nullptr);
	const std::string cannotSwitch = "imgate test: cannot switch to user " + account.name + "\n";
	const std::string cannotChdir = "imgate test: cannot change to " + workingDir + "\n";
	const std::string cannotExec = "imgate test: cannot execute " + program + "\n";
	const pid_t parent = ::getpid();

	const pid_t pid = ::fork();
	if (pid < 0) throw Poco::SystemException("fork failed", program);
	if (pid == 0)
	{
		int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
		{
			::dup2(fd, 1);
			::dup2(fd, 2);
			if (fd > 2) ::close(fd);
		}
		int null = ::open("/dev/null", O_RDONLY);
		if (null >= 0 && null != 0)
		{
			::dup2(null, 0);
			if (null > 2) ::close(null);
		}
		// No test socket or file stays open in a server that outlives it.
		closeFrom(3);
		// TestMain ignores SIGPIPE, and an ignored signal stays ignored
		// across exec: the server gets the defaults.
		sigset_t none;
		sigemptyset(&none);
		::sigprocmask(SIG_SETMASK, &none, nullptr);
		for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
		if (!account.isOwn())
		{
			if (::setgroups(1, &account.gid) != 0 || ::setgid(account.gid) != 0 || ::setuid(account.uid) != 0)
			{
				say(cannotSwitch);
				::_exit(126);
			}
		}
		// After setuid(), which clears it: if the test process dies, so
		// does its server. The parent may already be gone.
		::prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (::getppid() != parent) ::_exit(1);
		if (::chdir(workingDir.c_str()) != 0)
		{
			say(cannotChdir);
			::_exit(126);
		}
		::execv(argv[0], argv.data());
		say(cannotExec);
		::_exit(127);
	}
	_pid = pid;
	_status = 0;
	_exited = false;
}


bool ChildProcess::running() const
{
	return waitExit(0) == -1 && !_exited;
}


void ChildProcess::signal(int sig) const
{
	if (running()) ::kill(_pid, sig);
}


int ChildProcess::waitExit(long timeoutMs) const
{
	if (_exited) return _pid < 0 ? -1 : decode(_status);
	Poco::Timestamp start;
	while (true)
	{
		const pid_t r = ::waitpid(_pid, &_status, WNOHANG);
		if (r == _pid || (r < 0 && errno == ECHILD))
		{
			_exited = true;
			return decode(_status);
		}
		if (start.isElapsed(timeoutMs * 1000)) return -1;
		Poco::Thread::sleep(10);
	}
}


int ChildProcess::terminate(int sig, long timeoutMs)
{
	signal(sig);
	int rc = waitExit(timeoutMs);
	if (rc == -1 && !_exited)
	{
		::kill(_pid, SIGKILL);
		rc = waitExit(10000);
	}
	return rc;
}


bool ChildProcess::killWithWorkers(const std::string& dir, long timeoutMs)
{
	::prctl(PR_SET_CHILD_SUBREAPER, 1);
	std::set<pid_t> workers;
	signal(SIGSTOP);
	for (pid_t pid: processesIn(dir))
	{
		if (pid != _pid) workers.insert(pid);
		::kill(pid, SIGSTOP);
	}
	for (pid_t pid: workers) ::kill(pid, SIGKILL);
	if (running()) ::kill(_pid, SIGKILL);
	waitExit(timeoutMs);
	const bool gone = waitUntil([&]()
	{
		const std::vector<pid_t> pids = processesIn(dir);
		for (pid_t pid: pids)
		{
			if (pid != _pid) workers.insert(pid);
			::kill(pid, SIGKILL);
		}
		return pids.empty();
	}, timeoutMs);
	// Only the workers' ids: waitpid(-1) could take another fixture's child.
	waitUntil([&]()
	{
		for (auto it = workers.begin(); it != workers.end(); )
		{
			const pid_t r = ::waitpid(*it, nullptr, WNOHANG);
			it = r == 0 ? std::next(it) : workers.erase(it); // reaped, or not (or no longer) a child
		}
		return workers.empty();
	}, timeoutMs);
	::prctl(PR_SET_CHILD_SUBREAPER, 0);
	return gone;
}


int ChildProcess::run(const std::string& program, const std::vector<std::string>& args, const std::string& logPath, const std::string& workingDir, const Account& account, long timeoutMs)
{
	ChildProcess child;
	child.launch(program, args, logPath, workingDir, account);
	const int rc = child.waitExit(timeoutMs);
	if (rc == -1) child.terminate(SIGKILL, 0);
	return rc;
}


ChildProcess::Account ChildProcess::account(const std::string& name)
{
	struct passwd entry;
	struct passwd* pResult = nullptr;
	std::vector<char> buffer(16384);
	if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &pResult) != 0 || pResult == nullptr)
		throw Poco::NotFoundException("no such user", name);
	Account account;
	account.uid = entry.pw_uid;
	account.gid = entry.pw_gid;
	account.name = name;
	return account;
}


std::vector<pid_t> ChildProcess::processesIn(const std::string& dir)
{
	std::vector<pid_t> found;
	const std::string target = canonical(dir);
	if (target.empty()) return found;
	DIR* pProc = ::opendir("/proc");
	if (pProc == nullptr) return found;
	const pid_t self = ::getpid();
	while (struct dirent* pEntry = ::readdir(pProc))
	{
		char* end = nullptr;
		const long pid = std::strtol(pEntry->d_name, &end, 10);
		if (end == pEntry->d_name || *end != '\0' || pid == self) continue;
		char cwd[PATH_MAX];
		const std::string link = std::string("/proc/") + pEntry->d_name + "/cwd";
		// Fails for another user's process (unless root) and for a zombie,
		// which holds nothing any more.
		const ssize_t n = ::readlink(link.c_str(), cwd, sizeof(cwd) - 1);
		if (n <= 0) continue;
		if (target.compare(0, std::string::npos, cwd, static_cast<std::size_t>(n)) == 0)
			found.push_back(static_cast<pid_t>(pid));
	}
	::closedir(pProc);
	return found;
}


bool ChildProcess::killProcessesIn(const std::string& dir, long timeoutMs)
{
	return waitUntil([&]()
	{
		const std::vector<pid_t> pids = processesIn(dir);
		for (pid_t pid: pids) ::kill(pid, SIGKILL);
		return pids.empty();
	}, timeoutMs);
}


std::string ChildProcess::readFile(const std::string& path, std::size_t offset)
{
	std::ifstream in(path, std::ios::binary);
	if (!in) return std::string();
	in.seekg(static_cast<std::streamoff>(offset));
	if (!in) return std::string();
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}


std::string ChildProcess::findProgram(const std::string& variable, const std::string& usual, const std::string& name)
{
	const std::string fromEnvironment = Poco::Environment::get(variable, "");
	if (!fromEnvironment.empty())
	{
		if (::access(fromEnvironment.c_str(), X_OK) != 0) throw Poco::NotFoundException(variable + " is not executable", fromEnvironment);
		return fromEnvironment;
	}
	if (::access(usual.c_str(), X_OK) == 0) return usual;
	Poco::Path found;
	if (Poco::Path::find(Poco::Environment::get("PATH", ""), name, found)) return found.toString();
	const std::string folder = Poco::Path(usual).parent().toString();
	throw Poco::NotFoundException(name + ": looked in $" + variable + ", " + folder.substr(0, folder.size() - 1) + " and PATH");
}

} } // namespace imgate::test
