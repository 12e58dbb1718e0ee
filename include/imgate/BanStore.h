//
// BanStore.h
//
// imgate plugin SDK (API 1.2): where a plugin keeps the bans it can lift
// and list, returned by Filter::banStore() (docs/plugins.md, "Bans").
//

#ifndef imgate_BanStore_INCLUDED
#define imgate_BanStore_INCLUDED

#include "imgate/Types.h"
#include <functional>

namespace imgate {

class BanStore
	/// The ban storage of a plugin that keeps bans (the blacklist plugin).
	/// Owned by its filter, which returns it from Filter::banStore(): the
	/// server never deletes it and uses it only while the filter lives.
	///
	/// Threads: any thread, concurrently (the event loops, the accept
	/// thread, the admin threads): every member must be thread-safe and
	/// must not block for long. Errors: an exception is logged with the
	/// plugin's name and counts as "not held".
	///
	/// Versioning: members are only appended (API 1.3+), like Filter's
	/// hooks, and each is called only on plugins built at that version or
	/// later.
{
public:
	using Visitor = std::function<void(const BanRequest& ban)>;
		/// Called by list() once per ban. It copies what it needs during
		/// the call (reading only the fields of the plugin's API version,
		/// so BanRequest may gain fields); the plugin owns ban.

	virtual ~BanStore();

	virtual bool record(const BanRequest& ban) = 0;
		/// Keeps ban: every ban reaches a plugin with a store here, not in
		/// Filter::onBan(), from a filter's Verdict::ban() or Host::ban()
		/// (one address, seconds > 0) or from the admin API (also a CIDR
		/// block in canonical form, see imgate/Address.h, and seconds = 0:
		/// until lifted). Renewing a ban already held replaces it. Returns
		/// whether the ban is held now; false if it could not be kept (a
		/// full table, an address that does not parse): the admin API then
		/// answers 507.

	virtual bool lift(const BanRequest& ban) = 0;
		/// Lifts the ban of ban.address (as list() shows it) or of ban.uid;
		/// returns whether one was held. Bans a plugin has from elsewhere
		/// (the blacklist's files) stay.

	virtual void list(const Visitor& visit) const = 0;
		/// Calls visit once for each ban lift() can lift, seconds being what
		/// is left (0: until lifted). Call visit outside your own locks.

	// API 1.3+: new members are appended here, never inserted.
};


inline BanStore::~BanStore()
{
}

} // namespace imgate

#endif // imgate_BanStore_INCLUDED
