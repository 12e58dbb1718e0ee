//
// FuzzCheck.h
//
// How a fuzz target reports a broken promise: one line on stderr naming the
// target and the promise, then abort(), which libFuzzer and the replay
// program (replay.cpp) both report as a crash with the input that caused it.
//


#ifndef imgate_fuzz_FuzzCheck_INCLUDED
#define imgate_fuzz_FuzzCheck_INCLUDED


#include <cstdio>
#include <cstdlib>
#include <string>


namespace imgate {
namespace fuzz {


class FuzzCheck
	/// A target's promise check, named after the target:
	///
	///     const FuzzCheck require("frame-decoder");
	///     require(decoder.buffered() == 0, "a failed decoder keeps a buffer");
	///
	/// prints "frame-decoder: broken promise: a failed decoder keeps a buffer"
	/// and aborts when the condition is false. Bytes of the text outside
	/// printable ASCII (the fuzzer's input often ends up in it) are printed
	/// as \xNN, so the line stays one line and readable.
{
public:
	explicit FuzzCheck(const char* target):
		_target(target)
	{
	}

	void operator () (bool condition, const char* what) const
		/// Fails with what unless condition holds. Takes a literal without
		/// building a string, for checks in the target's hot path.
	{
		if (!condition) fail(what);
	}

	void operator () (bool condition, const std::string& what) const
		/// Fails with what unless condition holds.
	{
		if (!condition) fail(what);
	}

	[[noreturn]] void fail(const std::string& what) const
		/// Prints the broken promise and aborts.
	{
		std::string printable;
		for (unsigned char c: what)
		{
			if (c < 0x20 || c >= 0x7F || c == '\\')
			{
				char hex[5];
				std::snprintf(hex, sizeof(hex), "\\x%02x", c);
				printable += hex;
			}
			else printable += static_cast<char>(c);
		}
		std::fprintf(stderr, "%s: broken promise: %s\n", _target, printable.c_str());
		std::abort();
	}

private:
	const char* _target;
};


} } // namespace imgate::fuzz


#endif // imgate_fuzz_FuzzCheck_INCLUDED
