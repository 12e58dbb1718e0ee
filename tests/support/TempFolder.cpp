//
// TempFolder.cpp
//

#include "tests/support/TempFolder.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace imgate {
namespace test {

namespace {

const std::size_t MAX_BASE_LENGTH = 64;
	/// BASE/PREFIX-XXXXXX/.s.PGSQL.65535 stays well under 107 bytes.

} // namespace


TempFolder::TempFolder(const std::string& prefix, const ChildProcess::Account& owner)
{
	std::string pattern = baseFor(owner) + prefix + "-XXXXXX";
	std::vector<char> buffer(pattern.begin(), pattern.end());
	buffer.push_back('\0');
	if (::mkdtemp(buffer.data()) == nullptr) throw Poco::SystemException("mkdtemp failed", pattern);
	_path = std::string(buffer.data()) + "/";
	if (!owner.isOwn() && ::chown(buffer.data(), owner.uid, owner.gid) != 0)
	{
		::rmdir(buffer.data());
		throw Poco::SystemException("cannot give the folder to " + owner.name, _path);
	}
}


TempFolder::~TempFolder()
{
	try
	{
		Poco::File(_path).remove(true);
	}
	catch (...)
	{
	}
}


std::string TempFolder::baseFor(const ChildProcess::Account& owner)
{
	std::string base = Poco::Path::temp();
	if (base.empty() || base.back() != '/') base += '/';
	if (base.size() > MAX_BASE_LENGTH) return "/tmp/";
	if (owner.isOwn()) return base;
	// The owner must be able to pass through every folder above its own
	// (TMPDIR may be /root/tmp, mode 0700).
	for (Poco::Path p(base); ; p.popDirectory())
	{
		struct stat st;
		if (::stat(p.toString().c_str(), &st) != 0) return "/tmp/";
		const bool passes = st.st_uid == owner.uid ? (st.st_mode & S_IXUSR) != 0
			: st.st_gid == owner.gid ? (st.st_mode & S_IXGRP) != 0
			: (st.st_mode & S_IXOTH) != 0;
		if (!passes) return "/tmp/";
		if (p.depth() == 0) break;
	}
	return base;
}

} } // namespace imgate::test
