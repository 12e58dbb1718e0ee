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
	/// are ignored; a UTF-8 byte-order mark at the start of the text is
	/// skipped (editors on Windows write one). A line that does not parse
	/// is reported and skipped. A block of every address of a family
	/// (0.0.0.0/0, ::/0, ::ffff:0:0/96) is used, and reported as a warning.
{
public:
	enum Use
		/// What the list does to the addresses in it, for the warnings.
	{
		BANS,
		ALLOWS
	};

	static BanList parse(const std::string& text, const std::string& fileName, std::vector<std::string>& errors,
		std::vector<std::string>& warnings, Use use = BANS);
		/// errors gets "FILE:LINE: what is wrong" for every bad line,
		/// warnings "FILE:LINE: 0.0.0.0/0 bans every IPv4 address" (or
		/// "allows", or "IPv6") for every line that covers a whole family.
		/// Bytes of the file outside printable ASCII are shown as \xNN
		/// (printable() of LogText.h): an invisible character in a line is
		/// seen in its message.

	static BanList parse(const std::string& text, const std::string& fileName, std::vector<std::string>& errors);
		/// For text whose warnings nobody reads (lines made from bans
		/// already checked).

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
