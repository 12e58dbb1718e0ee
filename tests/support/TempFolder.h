//
// TempFolder.h
//
// Test support: a fresh temporary folder (mkdtemp) for an engine fixture,
// owned by the user its server runs as, removed with everything in it.
//

#ifndef imgate_test_TempFolder_INCLUDED
#define imgate_test_TempFolder_INCLUDED

#include "tests/support/ChildProcess.h"
#include <string>

namespace imgate {
namespace test {

class TempFolder
	/// Made on construction, removed (recursively) on destruction.
	/// Its place is Poco::Path::temp(), unless that path is too long for
	/// a unix socket inside the folder (sun_path holds 107 bytes) or, for
	/// another owner, not reachable by that owner: then /tmp.
{
public:
	explicit TempFolder(const std::string& prefix, const ChildProcess::Account& owner = ChildProcess::Account());
		/// Makes BASE/PREFIX-XXXXXX, mode 0700, and gives it to owner
		/// (as root) unless owner is the default. Throws
		/// Poco::SystemException if mkdtemp() or chown() fails.

	~TempFolder();
		/// Never throws; a folder that cannot be removed is left.

	TempFolder(const TempFolder&) = delete;
	TempFolder& operator = (const TempFolder&) = delete;

	const std::string& path() const;
		/// The folder, with a trailing '/'.

private:
	static std::string baseFor(const ChildProcess::Account& owner);

	std::string _path;
};


inline const std::string& TempFolder::path() const
{
	return _path;
}

} } // namespace imgate::test

#endif // imgate_test_TempFolder_INCLUDED
