//
// HttpRequestHead.h
//
// Layer: admin
// The head of one admin HTTP request (request line and header fields),
// parsed and checked before anything else is done with the request.
//

#ifndef imgate_admin_HttpRequestHead_INCLUDED
#define imgate_admin_HttpRequestHead_INCLUDED

#include "Poco/Types.h"
#include <string>

namespace imgate {
namespace admin {

class HttpRequestHead
	/// Parses with POCO's HTTPRequest (its limits: method 32, URI 16 KiB,
	/// field name 256 and value 8 KiB bytes, 100 fields), then applies the
	/// admin listener's own rules:
	///   - Content-Length: one, decimal digits only; none means no body;
	///   - no Transfer-Encoding (411: the admin API reads no chunked body);
	///   - both Content-Length and Transfer-Encoding: 400 (a smuggling
	///     shape, RFC 9112 6.3).
	/// A value object; any thread.
{
public:
	static const std::size_t MAX_BYTES = 16384;
		/// The most a head may take, its blank line included; a longer one
		/// is refused (431) before it is parsed.

	static std::size_t end(const std::string& bytes, std::size_t scanned = 0);
		/// The length of the head at the start of bytes (through the first
		/// blank line: CRLF CRLF, LF CRLF or LF LF), or 0 if it is not
		/// complete yet. scanned: how many bytes of the front of bytes an
		/// earlier call found no end in (the size it had then); only the
		/// rest is looked at, and the 3 bytes before it, where a blank
		/// line split by the reads may begin. A client that trickles its
		/// head costs one pass over it, not one per read.

	bool parse(const std::string& head);
		/// Parses a complete head (end() bytes). Returns false with
		/// status() and reason() set when it is refused.

	const std::string& method() const;
	const std::string& uri() const;
	const std::string& authorization() const;   /// "" if none.
	Poco::UInt64 contentLength() const;         /// 0 if none.
	bool expectContinue() const;
		/// Expect: 100-continue in an HTTP/1.1 request. An HTTP/1.0 client
		/// cannot read an interim answer: its expectation is ignored
		/// (RFC 9110, 10.1.1).

	int status() const;
		/// After a refused parse: 400, 411 or 431.
	const std::string& reason() const;
		/// After a refused parse: what is wrong, for the client.

private:
	bool refuse(int status, const std::string& reason);

	std::string _method;
	std::string _uri;
	std::string _authorization;
	Poco::UInt64 _contentLength = 0;
	bool _expectContinue = false;
	int _status = 0;
	std::string _reason;
};


inline const std::string& HttpRequestHead::method() const
{
	return _method;
}


inline const std::string& HttpRequestHead::uri() const
{
	return _uri;
}


inline const std::string& HttpRequestHead::authorization() const
{
	return _authorization;
}


inline Poco::UInt64 HttpRequestHead::contentLength() const
{
	return _contentLength;
}


inline bool HttpRequestHead::expectContinue() const
{
	return _expectContinue;
}


inline int HttpRequestHead::status() const
{
	return _status;
}


inline const std::string& HttpRequestHead::reason() const
{
	return _reason;
}

} } // namespace imgate::admin

#endif // imgate_admin_HttpRequestHead_INCLUDED
