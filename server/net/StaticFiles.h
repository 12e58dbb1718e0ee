//
// StaticFiles.h
//
// Layer: net
// A read-only table of files compiled into the program (the chat page),
// served over HTTP by the WebSocket listener.
//

#ifndef imgate_net_StaticFiles_INCLUDED
#define imgate_net_StaticFiles_INCLUDED

#include <cstddef>
#include <string>

namespace imgate {
namespace net {

struct StaticFile
{
	const char* name;       /// The URL path without its leading '/', e.g. "index.html".
	const unsigned char* data;
	std::size_t size;
};


struct StaticFiles
	/// Files and their count; the table outlives every listener.
{
	const StaticFile* files = nullptr;
	std::size_t count = 0;

	const StaticFile* find(const std::string& name) const
		/// The file with that name, or null.
	{
		for (std::size_t i = 0; i < count; ++i)
		{
			if (name == files[i].name) return &files[i];
		}
		return nullptr;
	}
};

} } // namespace imgate::net

#endif // imgate_net_StaticFiles_INCLUDED
