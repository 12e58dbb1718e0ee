//
// LegacyBanStore.h
//
// Layer: plugin
// A plugin's API 1.1 ban hooks (recordsBans, onBan, onUnban, listBans)
// seen as the BanStore of API 1.2, so the rest of the server knows one
// kind of ban storage (docs/plugins.md, "Bans").
//

#ifndef imgate_plugin_LegacyBanStore_INCLUDED
#define imgate_plugin_LegacyBanStore_INCLUDED

#include "imgate/Address.h"
#include "imgate/Filter.h"
#include <string>
#include <vector>

namespace imgate {
namespace plugin {

class LegacyBanStore: public BanStore
	/// Made by the FilterChain for a plugin built for API 1.1 whose
	/// recordsBans() is true (or a later one that returns no store from
	/// banStore() but says recordsBans()). Borrows the filter, which
	/// outlives it. Any thread, as the hooks it calls.
{
public:
	explicit LegacyBanStore(Filter& filter);

	bool record(const BanRequest& ban) override;
		/// Filter::onBan(), which cannot answer; then whether listBans()
		/// shows the ban held: the same target (an address also as its
		/// block, imgate/Address.h) and the same kind (until lifted, or
		/// timed with at least the seconds asked less 2 for the time
		/// since), so an older timed ban does not pass for a ban until
		/// lifted that the plugin could not keep.

	bool lift(const BanRequest& ban) override;
		/// Filter::onUnban().

	void list(const Visitor& visit) const override;
		/// Filter::listBans() into a vector, then visit for each.

private:
	struct BanRequest11
		/// BanRequest as API 1.1 plugins were built with it: they fill a
		/// std::vector<BanRequest> in listBans() with this size.
	{
		std::string address;
		std::string uid;
		unsigned seconds = 0;
		std::string reason;
		std::string origin;
	};
	static_assert(sizeof(BanRequest) == sizeof(BanRequest11),
		"BanRequest changed: API 1.1 plugins fill a std::vector of its 1.1 layout in listBans(); "
		"give LegacyBanStore::list() a vector of BanRequest11 for them");

	Filter& _filter;
};


//
// inlines
//

inline LegacyBanStore::LegacyBanStore(Filter& filter):
	_filter(filter)
{
}


inline bool LegacyBanStore::record(const BanRequest& ban)
{
	_filter.onBan(ban);
	std::vector<BanRequest> held;
	_filter.listBans(held);
	bool addressHeld = ban.address.empty();
	bool uidHeld = ban.uid.empty();
	const std::string block = ban.address.empty() ? std::string() : addressBlock(ban.address);
	for (const BanRequest& h: held)
	{
		const bool sameKind = ban.seconds == 0 ? h.seconds == 0 : h.seconds != 0 && h.seconds + 2 >= ban.seconds;
		addressHeld = addressHeld || (sameKind && !h.address.empty() && (h.address == ban.address || h.address == block));
		uidHeld = uidHeld || (sameKind && !h.uid.empty() && h.uid == ban.uid);
	}
	return addressHeld && uidHeld;
}


inline bool LegacyBanStore::lift(const BanRequest& ban)
{
	return _filter.onUnban(ban);
}


inline void LegacyBanStore::list(const Visitor& visit) const
{
	std::vector<BanRequest> bans;
	_filter.listBans(bans);
	for (const BanRequest& ban: bans) visit(ban);
}

} } // namespace imgate::plugin

#endif // imgate_plugin_LegacyBanStore_INCLUDED
