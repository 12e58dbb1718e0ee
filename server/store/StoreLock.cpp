//
// StoreLock.cpp
//
// Layer: store
//

#include "server/store/StoreLock.h"
#include "server/store/MessageStore.h"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace imgate {
namespace store {

StoreLock::StoreLock(const std::string& databasePath):
	_path(databasePath + ".lock")
{
	_fd = ::open(_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (_fd < 0)
		throw StoreException(_path + ": cannot create the lock file: " + std::strerror(errno));
	if (::flock(_fd, LOCK_EX | LOCK_NB) != 0)
	{
		int error = errno;
		char buffer[32] = {0};
		ssize_t n = ::pread(_fd, buffer, sizeof(buffer) - 1, 0);
		std::string holder = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
		while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
		::close(_fd);
		_fd = -1;
		if (error == EWOULDBLOCK)
			throw StoreException(databasePath + " is in use by another imgated" + (holder.empty() ? std::string() : " (pid " + holder + ")"));
		throw StoreException(_path + ": cannot lock: " + std::strerror(error));
	}
	// The pid is for the message above only; the lock is the flock.
	std::string pid = std::to_string(::getpid()) + "\n";
	if (::ftruncate(_fd, 0) == 0 && ::pwrite(_fd, pid.data(), pid.size(), 0) < 0)
	{
		// Best effort: without the pid the message just names no process.
	}
}


StoreLock::~StoreLock()
{
	if (_fd >= 0) ::close(_fd);
}

} } // namespace imgate::store
