//
// SystemdNotifier.cpp
//
// Layer: app
//

#include "server/app/SystemdNotifier.h"
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace imgate {
namespace app {

bool SystemdNotifier::notify(const std::string& state)
{
	const char* path = std::getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@')) return false;
	const std::size_t length = std::strlen(path);
	sockaddr_un address;
	std::memset(&address, 0, sizeof(address));
	if (length >= sizeof(address.sun_path)) return false;
	address.sun_family = AF_UNIX;
	std::memcpy(address.sun_path, path, length);
	if (address.sun_path[0] == '@') address.sun_path[0] = '\0'; // abstract namespace
	const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return false;
	const socklen_t size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
	const bool sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), size)
		== static_cast<ssize_t>(state.size());
	::close(fd);
	return sent;
}

} } // namespace imgate::app
