//
// SessionConfig.h
//
// Layer: session
// The limits and timeouts the session layer works with (filled in by the
// app layer from the configuration file).
//

#ifndef imgate_session_SessionConfig_INCLUDED
#define imgate_session_SessionConfig_INCLUDED

#include "Poco/Types.h"
#include <string>

namespace imgate {
namespace session {

struct SessionConfig
{
	Poco::UInt32 maxBodySize = 65536;        /// protocol.maxBodySize, bytes
	Poco::UInt32 maxPayloadSize = 32768;     /// message.maxPayloadSize, bytes
	unsigned heartbeatInterval = 30;         /// session.heartbeatInterval, s
	unsigned heartbeatTimeout = 90;          /// session.heartbeatTimeout, s
	unsigned loginTimeout = 10;              /// session.loginTimeout, s
	unsigned takeoverGuard = 10;             /// session.takeoverGuard, s
	unsigned retransmitTimeout = 10;         /// delivery.retransmitTimeout, s
	unsigned window = 64;                    /// delivery.window, messages
	unsigned drainTime = 2;                  /// server.drainTime, s
	unsigned closeLinger = 2;                /// s to flush a KICK or ERROR before closing
	bool allowAnonymous = false;             /// auth.allowAnonymous
	std::string devicePolicy = "single";     /// session.devicePolicy: single or perDevice
	unsigned maxDevices = 8;                 /// session.maxDevices (perDevice)
	unsigned maxGroupMembers = 1000;         /// group.maxMembers
	unsigned historyRetention = 604800;      /// store.historyRetention, s: how far back HISTORY reaches

	bool perDevice() const { return devicePolicy == "perDevice"; }
};

} } // namespace imgate::session

#endif // imgate_session_SessionConfig_INCLUDED
