//
// BanList.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/BanList.h"
#include "plugins/blacklist/LogText.h"
#include "imgate/Address.h"
#include <sstream>

namespace imgate {
namespace blacklist {

namespace {

bool validUid(const std::string& uid)
{
	if (uid.empty() || uid.size() > 64) return false;
	for (char c: uid)
	{
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-';
		if (!ok) return false;
	}
	return true;
}

} // namespace


BanList BanList::parse(const std::string& text, const std::string& fileName, std::vector<std::string>& errors)
{
	std::vector<std::string> warnings;
	return parse(text, fileName, errors, warnings);
}


BanList BanList::parse(const std::string& text, const std::string& fileName, std::vector<std::string>& errors,
	std::vector<std::string>& warnings, Use use)
{
	static const std::string BYTE_ORDER_MARK = "\xEF\xBB\xBF";
	BanList list;
	std::istringstream in(text.compare(0, BYTE_ORDER_MARK.size(), BYTE_ORDER_MARK) == 0 ? text.substr(BYTE_ORDER_MARK.size()) : text);
	std::string line;
	int number = 0;
	while (std::getline(in, line))
	{
		++number;
		std::size_t hash = line.find('#');
		if (hash != std::string::npos) line.erase(hash);
		std::istringstream words(line);
		std::string kind, value, extra;
		words >> kind >> value >> extra;
		if (kind.empty()) continue;
		const std::string where = fileName + ":" + std::to_string(number) + ": ";
		if (value.empty() || !extra.empty())
		{
			errors.push_back(where + "expected \"ip ADDRESS[/PREFIX]\" or \"uid UID\"");
			continue;
		}
		if (kind == "ip")
		{
			AddressRange range;
			std::string error;
			if (!AddressRange::parse(value, range, error))
			{
				// AddressRange's text shows the value as it is.
				errors.push_back(where + printable(error));
				continue;
			}
			list._addresses.add(range);
			// Most likely a slip (a /0 for a /32), but one can mean it.
			if (range.prefix() == 0)
			{
				warnings.push_back(where + value + (use == ALLOWS ? " allows" : " bans") + " every "
					+ (range.isIPv4() ? "IPv4" : "IPv6") + " address");
			}
		}
		else if (kind == "uid")
		{
			if (validUid(value)) list._uids.insert(value);
			else errors.push_back(where + "not a valid uid: \"" + printable(value) + "\"");
		}
		else
		{
			errors.push_back(where + "unknown entry type \"" + printable(kind) + "\" (expected ip or uid)");
		}
	}
	return list;
}


bool BanList::bansAddress(const std::string& address) const
{
	return _addresses.contains(address);
}


bool BanList::bansUid(const std::string& uid) const
{
	return _uids.count(uid) != 0;
}


std::size_t BanList::addressCount() const
{
	return _addresses.size();
}


std::size_t BanList::uidCount() const
{
	return _uids.size();
}


const std::unordered_set<std::string>& BanList::uids() const
{
	return _uids;
}

} } // namespace imgate::blacklist
