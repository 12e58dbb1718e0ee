//
// BlacklistPlugin.cpp
//
// Plugin: blacklist
// The manifest of blacklist.so. BlacklistFilter itself is in the plugin's
// static library, which unit tests link too.
//

#include "plugins/blacklist/BlacklistFilter.h"
#include "imgate/Plugin.h"


IMGATE_PLUGIN(imgate::blacklist::BlacklistFilter)
