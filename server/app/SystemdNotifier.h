//
// SystemdNotifier.h
//
// Layer: app
// Tells systemd (Type=notify) when imgated is ready, reloading and
// stopping, by the sd_notify protocol: one datagram to the AF_UNIX socket
// named by $NOTIFY_SOCKET. Without that variable (not under systemd, or
// Type=simple) it does nothing. No libsystemd: the protocol is small and
// documented as stable (sd_notify(3)).
//

#ifndef imgate_app_SystemdNotifier_INCLUDED
#define imgate_app_SystemdNotifier_INCLUDED

#include <string>

namespace imgate {
namespace app {

class SystemdNotifier
{
public:
	static bool notify(const std::string& state);
		/// Sends state ("READY=1\nSTATUS=...") if $NOTIFY_SOCKET is set; a
		/// name starting with '@' is an abstract socket. Returns whether it
		/// was sent. Never throws; a failure is not an error of imgated.
};

} } // namespace imgate::app

#endif // imgate_app_SystemdNotifier_INCLUDED
