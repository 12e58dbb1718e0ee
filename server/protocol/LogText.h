//
// LogText.h
//
// Layer: protocol
// Client-chosen text (a device name, a token's claim, a plugin's message)
// made safe to put in a log line.
//

#ifndef imgate_protocol_LogText_INCLUDED
#define imgate_protocol_LogText_INCLUDED

#include <string>

namespace imgate {
namespace protocol {

std::string quoted(const std::string& text, std::size_t maxBytes = 256);
	/// text as one token of a log line, which it can neither end nor
	/// extend with forged fields: in double quotes, with `"` and `\`
	/// escaped; control bytes and bytes that are not UTF-8 as \xNN; the
	/// Unicode control, format and separator characters that reorder or
	/// hide text (C1 controls, bidirectional overrides and isolates,
	/// zero-width characters, the byte-order mark, U+2028/U+2029) as
	/// \u{XXXX}. At most maxBytes of text are shown; a longer one is cut
	/// and marked with "..." after the closing quote.

std::string escaped(const std::string& text, std::size_t maxBytes = 256);
	/// text escaped as quoted() escapes it, without the quotes: for
	/// client-chosen text in a message that has its own structure (a
	/// path in an admin API error). A cut text ends with "...".

std::string validUtf8(const std::string& text);
	/// text with every byte that is not part of a well-formed UTF-8
	/// sequence replaced by \xNN (overlong forms and surrogates count as
	/// not well-formed); well-formed text is returned unchanged. For text
	/// that goes into JSON, which must be UTF-8.

} } // namespace imgate::protocol

#endif // imgate_protocol_LogText_INCLUDED
