//
// Types.h
//
// imgate plugin SDK: the values a filter sees. Nothing of the server's
// internals: plain data, stable within a major API version.
//

#ifndef imgate_Types_INCLUDED
#define imgate_Types_INCLUDED

#include "imgate/Command.h"
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace imgate {

enum class Status: std::uint16_t
	/// Protocol v1 status codes a verdict can carry (wire values).
{
	OK                = 0,
	BAD_REQUEST       = 1,
	AUTH_FAILED       = 10,
	BANNED            = 13,
	RATE_LIMITED      = 14,
	SERVER_BUSY       = 30,
	INTERNAL          = 50
};


struct PeerInfo
	/// The remote end of a connection.
{
	std::string address; /// "203.0.113.7" or "2001:db8::1" (no brackets, no port).
	std::uint16_t port = 0;
};


struct LoginInfo
	/// A LOGIN request. token is a secret: never log it.
{
	std::string uid;     /// Already checked: [A-Za-z0-9_.@-]{1,64}.
	std::string token;
	std::string device;  /// Free text, at most 128 bytes.
	std::string clientVersion;
	PeerInfo peer;
};


struct FrameInfo
	/// A frame from a client, before the server acts on it.
{
	std::uint16_t cmd = 0;        /// Command code (LOGIN 0x0001, MSG_SEND 0x0010, ...; imgate/Command.h), or any other a client sent.
	std::uint32_t bodySize = 0;   /// Bytes.
	const std::string* pUid = nullptr; /// The session's uid, or null before LOGIN.

	Command command() const { return static_cast<Command>(cmd); }
		/// cmd as a Command: frame.command() == Command::MSG_SEND.

	// API 1.3: what a MSG_SEND asks for (protocol 1.1). Fields are only
	// appended: a plugin built for 1.0 to 1.2 reads the fields above and
	// never sees these. Set only for a MSG_SEND whose body parses; the
	// pointers are valid during the hook only.
	const std::string* pToUid = nullptr;   /// MSG_SEND to a uid: the uid as sent (not yet checked); else null.
	const std::string* pToGroup = nullptr; /// MSG_SEND to a group: the group id as sent (not yet checked); else null.
	bool transient = false;                /// MSG_SEND marked transient (delivered only to online sessions, never stored).
	std::uint32_t payloadSize = 0;         /// MSG_SEND: the payload's bytes.
};


struct SessionInfo
	/// A session that is closing.
{
	std::string uid;     /// Empty if it never logged in.
	PeerInfo peer;
};


struct BanRequest
	/// A ban: of an address, a uid, or both (empty means "not").
	///
	/// From a filter's Verdict::ban() or Host::ban(): address is one
	/// address and seconds > 0. From the admin API (API 1.1, only to
	/// plugins built for 1.1 or later): address may also be a CIDR block
	/// in its one spelling (AddressRange::toString(), imgate/Address.h:
	/// "10.0.0.0/8"), and seconds = 0 means until lifted or the server
	/// restarts. BanStore::list() reports bans in the same shape, seconds
	/// being what is left (0: until lifted).
	///
	/// Fields are only appended. A plugin's BanRequest may be older (and
	/// shorter) than the server's: the server reads from one only the
	/// fields of the plugin's API version.
{
	std::string address;
	std::string uid;
	unsigned seconds = 0;
	std::string reason;  /// For logs; never a secret.
	std::string origin;  /// The plugin (or "admin") that asked for it.
};


enum class KickReason: std::uint32_t
	/// Kick.reason values (wire values).
{
	DUPLICATE_LOGIN = 1,
	ADMIN           = 2,
	BANNED          = 3,
	SHUTDOWN        = 4
};


class Host
	/// Services the server offers to plugins (passed to Filter::start()).
	/// Thread-safe: callable from any thread, also a plugin's own; never
	/// blocks on I/O.
{
public:
	virtual ~Host() {}

	virtual bool kickUid(const std::string& uid, KickReason reason, const std::string& message) = 0;
		/// Sends the uid's session (if online) KICK with reason and message,
		/// then closes it. Returns whether the uid was online.

	virtual void kickAddresses(std::function<bool(const std::string& address)> match, KickReason reason, const std::string& message) = 0;
		/// Kicks every connection whose peer address match() accepts (match
		/// runs on the event loops, concurrently: it must be thread-safe and
		/// cheap). Asynchronous: returns before the kicks are sent.

	virtual void ban(const BanRequest& request) = 0;
		/// Hands a ban to every filter (BanStore::record() of a plugin with
		/// a store, Filter::onBan() of the others); the blacklist plugin
		/// keeps it until it expires.
};


class SlotData
	/// Base of per-session plugin state (see SessionSlot).
{
public:
	virtual ~SlotData() {}
};


class SessionSlot
	/// One per plugin per session: where a plugin keeps per-session state
	/// without locks (a session is only touched by its loop thread). Empty
	/// until the plugin stores something; destroyed with the session, after
	/// the plugin's onClose().
{
public:
	SessionSlot() = default;
	SessionSlot(const SessionSlot&) = delete;
	SessionSlot& operator = (const SessionSlot&) = delete;

	SlotData* get() const { return _pData.get(); }
	void set(std::unique_ptr<SlotData> pData) { _pData = std::move(pData); }

	template <class T>
	T* as() const
		/// The stored data as T, or null if empty or of another type.
	{
		return dynamic_cast<T*>(_pData.get());
	}

private:
	std::unique_ptr<SlotData> _pData;
};

} // namespace imgate

#endif // imgate_Types_INCLUDED
