//
// RateLimitPlugin.cpp
//
// Plugin: ratelimit
// The manifest of ratelimit.so. RateLimitFilter itself is in the plugin's
// static library, which unit tests link too.
//

#include "plugins/ratelimit/RateLimitFilter.h"
#include "imgate/Plugin.h"


IMGATE_PLUGIN(imgate::ratelimit::RateLimitFilter)
