//
// Notice.cpp
//
// Layer: cluster
//

#include "server/cluster/Notice.h"
#include "server/protocol/Uid.h"

namespace imgate {
namespace cluster {

Notice Notice::parse(const std::string& line)
{
	Notice notice;
	if (line.size() < 3 || line[1] != ' ') return notice;
	if (line[0] == 'd')
	{
		std::string uid = line.substr(2);
		if (!protocol::isValidUid(uid)) return notice;
		notice.kind = DELIVER;
		notice.uid = std::move(uid);
		return notice;
	}
	if (line[0] != 'k') return notice;
	// "k REASON UID MESSAGE": one digit, then a uid, then the rest.
	if (line.size() < 5 || (line[2] != '1' && line[2] != '2') || line[3] != ' ') return notice;
	const std::size_t uidEnd = line.find(' ', 4);
	std::string uid = line.substr(4, uidEnd == std::string::npos ? std::string::npos : uidEnd - 4);
	if (!protocol::isValidUid(uid)) return notice;
	notice.kind = KICK;
	notice.reason = static_cast<unsigned>(line[2] - '0');
	notice.uid = std::move(uid);
	if (uidEnd != std::string::npos) notice.message = line.substr(uidEnd + 1, MAX_MESSAGE);
	return notice;
}

} } // namespace imgate::cluster
