//
// Uid.cpp
//
// Layer: protocol
//

#include "server/protocol/Uid.h"

namespace imgate {
namespace protocol {

bool isValidUid(const std::string& uid)
{
	if (uid.empty() || uid.size() > MAX_UID_LENGTH) return false;
	for (char c: uid)
	{
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
			|| c == '_' || c == '.' || c == '@' || c == '-';
		if (!ok) return false;
	}
	return true;
}

} } // namespace imgate::protocol
