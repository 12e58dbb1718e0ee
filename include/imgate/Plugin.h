//
// Plugin.h
//
// imgate plugin SDK: the API version and the IMGATE_PLUGIN(Class) macro
// that every plugin ends with.
//

#ifndef imgate_Plugin_INCLUDED
#define imgate_Plugin_INCLUDED

#include "imgate/Filter.h"
#include "Poco/ClassLibrary.h"

#define IMGATE_PLUGIN_API_MAJOR 1
#define IMGATE_PLUGIN_API_MINOR 3
#define IMGATE_PLUGIN_API_VERSION ((IMGATE_PLUGIN_API_MAJOR << 16) | IMGATE_PLUGIN_API_MINOR)
	/// The versioning promise: within a major version, hooks are only
	/// appended (never changed or removed), so a plugin built against 1.0
	/// loads in any 1.x server. A server refuses a plugin of another major
	/// version, or of a newer minor version than it knows.


#define IMGATE_PLUGIN(Class) \
	extern "C" __attribute__((visibility("default"))) unsigned imgate_plugin_api_version() \
	{ \
		return IMGATE_PLUGIN_API_VERSION; \
	} \
	POCO_BEGIN_MANIFEST(imgate::Filter) \
		POCO_EXPORT_CLASS(Class) \
	POCO_END_MANIFEST
	/// Emits the API version symbol (read first, with Poco::SharedLibrary)
	/// and the Poco::ClassLoader manifest naming Class.

#endif // imgate_Plugin_INCLUDED
