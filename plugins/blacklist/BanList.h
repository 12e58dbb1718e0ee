//
// BanList.h
//
// Plugin: blacklist
// One parsed list file: "ip ADDRESS[/PREFIX]" and "uid UID" lines.
//

#ifndef imgate_blacklist_BanList_INCLUDED
#define imgate_blacklist_BanList_INCLUDED

#include "plugins/blacklist/AddressMatcher.h"
#include <string>
#include <unordered_set>
#include <vector>

namespace imgate {
namespace blacklist {

class BanList
	/// Immutable once parsed; shared between threads as
	/// std::shared_ptr<const BanList>.
	///
	/// Format: one entry per line, "ip 203.0.113.7", "ip 10.0.0.0/8",
	/// "ip 2001:db8::/32" or "uid alice"; '#' starts a comment; blank lines
	/// are ignored. A line that does not parse is reported and skipped.
{
public:
	static BanList parse(const std::string& text, const std::string& fileName, std::vector<std::string>& errors);
		/// errors gets "FILE:LINE: what is wrong" for every bad line.

	bool bansAddress(const std::string& address) const;
	bool bansUid(const std::string& uid) const;

	std::size_t addressCount() const;
	std::size_t uidCount() const;
	const std::unordered_set<std::string>& uids() const;

private:
	AddressMatcher _addresses;
	std::unordered_set<std::string> _uids;
};

} } // namespace imgate::blacklist

#endif // imgate_blacklist_BanList_INCLUDED
