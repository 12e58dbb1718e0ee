//
// ByteSink.h
//
// Layer: net
// Where a transport layer writes the bytes it produces.
//

#ifndef imgate_net_ByteSink_INCLUDED
#define imgate_net_ByteSink_INCLUDED

#include <cstddef>

namespace imgate {
namespace net {

class ByteSink
{
public:
	virtual void write(const char* data, std::size_t length) = 0;
		/// Takes all of data (appends it; never blocks).

protected:
	~ByteSink() = default;
};

} } // namespace imgate::net

#endif // imgate_net_ByteSink_INCLUDED
