//
// AbortOnBugcheck.cpp
//
// Preloaded (LD_PRELOAD) into every process of the sanitizer pass
// (tools/dev.sh test --sanitize): a failed poco_assert, poco_assert_dbg,
// poco_check_ptr or poco_bugcheck aborts the process, with a sanitizer
// report and its stack in the report folder, instead of throwing.
//
// POCO throws an AssertionViolationException, and a catch-all that keeps
// a server up (an event loop turn, a posted task, a hook) would turn a
// broken thread contract into one log line and a closed session that no
// test may notice. These definitions interpose POCO's own (the library
// exports them and our code calls them through the PLT). Built without
// the sanitizers and linked against nothing, so that the non-sanitized
// programs a test starts (cmake, the compiler) load it too.
//

#include "Poco/Bugcheck.h"
#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void fail(const char* what, const char* detail, const char* file, int line)
{
	std::fprintf(stderr, "%s%s%s in file \"%s\", line %d: aborting (tests/sanitize/AbortOnBugcheck.cpp)\n",
		what, detail ? ": " : "", detail ? detail : "", file ? file : "?", line);
	std::fflush(stderr);
	std::abort();
}

} // namespace


namespace Poco {

void Bugcheck::assertion(const char* cond, const char* file, int line, const char* text)
{
	fail("Assertion violation", text ? text : cond, file, line);
}


void Bugcheck::nullPointer(const char* ptr, const char* file, int line)
{
	fail("NULL pointer", ptr, file, line);
}


void Bugcheck::bugcheck(const char* file, int line)
{
	fail("Bugcheck", nullptr, file, line);
}


void Bugcheck::bugcheck(const char* msg, const char* file, int line)
{
	fail("Bugcheck", msg, file, line);
}

} // namespace Poco
