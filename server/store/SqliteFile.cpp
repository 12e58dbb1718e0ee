//
// SqliteFile.cpp
//
// Layer: store
//

#include "server/store/SqliteFile.h"
#include "server/store/SqliteDatabase.h"
#include "server/store/SqliteReader.h"
#include "server/store/SqliteWriter.h"
#include "Poco/Path.h"
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imgate {
namespace store {

SqliteFile::SqliteFile(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes):
	_path(path),
	_fullSync(fullSync),
	_maxDatabaseBytes(maxDatabaseBytes),
	_logger(Poco::Logger::get("imgate.store"))
{
	createFolder();
	_pLock.reset(new StoreLock(path));
	createDatabaseFile();
}


SqliteFile::~SqliteFile()
{
}


std::string SqliteFile::name() const
{
	return _path;
}


std::string SqliteFile::describe() const
{
	return "sqlite " + _path + " (WAL, sync=" + (_fullSync ? "full" : "normal") + ", group commit)";
}


std::unique_ptr<StoreWriter> SqliteFile::openWriter(const StoreWriter::Limits& limits)
{
	return std::unique_ptr<StoreWriter>(new SqliteWriter(_path, _fullSync, _maxDatabaseBytes, limits));
}


std::unique_ptr<StoreReader> SqliteFile::openReader()
{
	return std::unique_ptr<StoreReader>(new SqliteReader(_path));
}


std::string SqliteFile::cause(const Poco::Exception& exc) const
{
	return SqliteDatabase::cause(exc);
}


bool SqliteFile::isFull(const Poco::Exception& exc) const
{
	return SqliteDatabase::isFull(exc);
}


void SqliteFile::createFolder()
{
	// Message payloads are private: every folder created here is 0750,
	// whatever the umask (which could only narrow it).
	std::string dir = Poco::Path(_path).parent().toString();
	while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
	if (dir.empty()) dir = ".";
	std::vector<std::string> missing;
	for (;;)
	{
		struct stat st;
		if (::stat(dir.c_str(), &st) == 0)
		{
			if (!S_ISDIR(st.st_mode))
				throw StoreException(_path + ": cannot create its folder: " + dir + " is not a directory");
			if (missing.empty()) warnIfOpen(dir, st.st_mode, "folder");
			break;
		}
		missing.push_back(dir);
		const std::size_t slash = dir.rfind('/');
		if (slash == std::string::npos) break; // relative: its first part is created in the working folder
		dir = slash == 0 ? std::string("/") : dir.substr(0, slash);
	}
	for (auto it = missing.rbegin(); it != missing.rend(); ++it)
	{
		if (::mkdir(it->c_str(), 0750) != 0 && errno != EEXIST)
			throw StoreException(_path + ": cannot create its folder " + *it + ": " + std::strerror(errno));
		::chmod(it->c_str(), 0750);
		_logger.information("created %s (mode 0750)", *it);
	}
}


void SqliteFile::createDatabaseFile()
{
	// SQLite would create the file 0644 less the umask, readable by every
	// local user; an empty file is a valid new database, and its -wal and
	// -shm files take its mode.
	const int fd = ::open(_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd >= 0)
	{
		::fchmod(fd, 0640);
		::close(fd);
		return;
	}
	struct stat st;
	if (errno == EEXIST && ::stat(_path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
		warnIfOpen(_path, st.st_mode, "database");
	// Any other failure: the writer's open names it.
}


void SqliteFile::warnIfOpen(const std::string& path, unsigned mode, const char* what)
{
	if ((mode & 0007) == 0) return;
	char octal[8];
	std::snprintf(octal, sizeof(octal), "%04o", mode & 07777);
	_logger.warning("%s: the store's %s is open to other local users (mode %s): chmod o-rwx %s",
		path, std::string(what), std::string(octal), path);
}


} } // namespace imgate::store
