//
// Uid.h
//
// Layer: protocol
// The syntax of a user id: [A-Za-z0-9_.@-]{1,64}.
//

#ifndef imgate_protocol_Uid_INCLUDED
#define imgate_protocol_Uid_INCLUDED

#include <string>

namespace imgate {
namespace protocol {

constexpr std::size_t MAX_UID_LENGTH = 64;

bool isValidUid(const std::string& uid);
	/// True if uid is 1 to 64 characters of A-Z a-z 0-9 _ . @ -.

} } // namespace imgate::protocol

#endif // imgate_protocol_Uid_INCLUDED
