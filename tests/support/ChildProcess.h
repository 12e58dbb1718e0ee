//
// ChildProcess.h
//
// Test support: one child process of the engine fixtures (PostgresProcess,
// RedisProcess), started with fork and exec, its output appended to a log
// file, run as another user if the tests run as root, reaped, never left
// behind.
//

#ifndef imgate_test_ChildProcess_INCLUDED
#define imgate_test_ChildProcess_INCLUDED

#include <string>
#include <vector>
#include <sys/types.h>

namespace imgate {
namespace test {

class ChildProcess
	/// A child started by launch() and reaped by this object. The child
	/// gets SIGKILL if the thread that launched it exits (PR_SET_PDEATHSIG):
	/// a test process killed by ctest's timeout leaves no server behind.
	/// Launch from a thread that outlives the child (the test's own).
	/// The destructor sends SIGKILL and reaps the child if it still runs.
	/// Not thread-safe: one thread uses it.
{
public:
	struct Account
		/// The user a child runs as. The default, uid -1, is the test's own.
	{
		Account();
			/// The test's own: uid and gid -1.

		uid_t uid;
		gid_t gid;
		std::string name;

		bool isOwn() const;
			/// True for the default: no switch of user.
	};

	ChildProcess();
	~ChildProcess();

	ChildProcess(const ChildProcess&) = delete;
	ChildProcess& operator = (const ChildProcess&) = delete;

	void launch(const std::string& program, const std::vector<std::string>& args, const std::string& logPath, const std::string& workingDir, const Account& account = Account());
		/// Starts program (a path) with args in workingDir. Its stdout and
		/// stderr are appended to logPath, stdin is /dev/null, no other
		/// descriptor is inherited and every signal is at its default.
		/// With an account other than the default (the test must run as
		/// root) the child switches to that user and group first. A failed
		/// switch, chdir or exec ends the child with 126 or 127, the reason
		/// in the log. Throws Poco::IllegalStateException if the previous
		/// child still runs, Poco::SystemException if fork() fails.

	bool running() const;
		/// True from launch() until the child has exited (which reaps it).

	pid_t pid() const;
		/// The last child's process id, or -1 before launch().

	void signal(int sig) const;
		/// Sends sig to the child if it still runs.

	int waitExit(long timeoutMs) const;
		/// The child's exit code, 128 + signal if a signal ended it, or -1
		/// if it still runs after timeoutMs (or was never launched).

	int terminate(int sig, long timeoutMs);
		/// Sends sig and waits up to timeoutMs; then SIGKILL, and waits for
		/// that. Returns the exit code as waitExit() does (137 after SIGKILL).

	bool killWithWorkers(const std::string& dir, long timeoutMs);
		/// A crash of a server that forks workers which work in dir (see
		/// processesIn()): SIGSTOP to the child and its workers, so that none
		/// acts on another's death, then SIGKILL to all, until none is left.
		/// The workers, orphaned by the child's death, are reparented to
		/// this process (a child subreaper for that moment) and reaped here:
		/// none is left even as a zombie for init to collect. Returns false
		/// if some still ran after timeoutMs. Works without a running child.

	static int run(const std::string& program, const std::vector<std::string>& args, const std::string& logPath, const std::string& workingDir, const Account& account, long timeoutMs);
		/// Runs program as launch() does, to completion. Returns its exit
		/// code, or -1 if it had to be killed after timeoutMs.

	static Account account(const std::string& name);
		/// The uid and primary gid of the user name. Throws
		/// Poco::NotFoundException if there is no such user.

	static std::vector<pid_t> processesIn(const std::string& dir);
		/// The processes, whoever their parent, whose working directory is
		/// dir: a server's workers, which outlive their killed parent for a
		/// moment, are found this way. Only processes whose /proc entry this
		/// user may read are seen: all as root, one's own otherwise. The
		/// calling process is never included.

	static bool killProcessesIn(const std::string& dir, long timeoutMs);
		/// SIGKILLs processesIn(dir) until none is left (true) or timeoutMs
		/// passes (false).

	static std::string readFile(const std::string& path, std::size_t offset = 0);
		/// The file's content from offset on; empty if it cannot be read.

	static std::string findProgram(const std::string& variable, const std::string& usual, const std::string& name);
		/// The program a fixture runs: $variable if set (Poco::NotFoundException
		/// if it is not executable), else usual if executable (Debian's
		/// place, e.g. /usr/sbin/haproxy), else name on PATH. Throws
		/// Poco::NotFoundException saying where it looked.

private:
	pid_t _pid = -1;
	mutable int _status = 0;
	mutable bool _exited = true;
};


inline pid_t ChildProcess::pid() const
{
	return _pid;
}

} } // namespace imgate::test

#endif // imgate_test_ChildProcess_INCLUDED
