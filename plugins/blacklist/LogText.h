//
// LogText.h
//
// Plugin: blacklist
// Text the plugin did not choose (a ban's reason, a file's line) made safe
// and visible in a log line. The server's own escaper (server/protocol/
// LogText.h) is out of a plugin's reach: plugins include only the SDK.
//

#ifndef imgate_blacklist_LogText_INCLUDED
#define imgate_blacklist_LogText_INCLUDED

#include <string>

namespace imgate {
namespace blacklist {

std::string printable(const std::string& text);
	/// text with every byte outside printable ASCII (control bytes, DEL,
	/// every byte of a non-ASCII character: a byte-order mark, a
	/// zero-width space) written as \xNN, and `\` as `\\`: what a line
	/// of a list file really holds, invisible characters included.

std::string quoted(const std::string& text, std::size_t maxBytes = 256);
	/// printable(text) as one token of a log line, which it can neither
	/// end nor extend with forged fields: in double quotes, `"` escaped
	/// as `\"`. At most maxBytes of text are shown; a longer one is cut
	/// and marked with "..." after the closing quote. Non-ASCII text is
	/// shown as its UTF-8 bytes (\xNN), never raw: no bidirectional
	/// override or zero-width character reaches the log.

} } // namespace imgate::blacklist

#endif // imgate_blacklist_LogText_INCLUDED
