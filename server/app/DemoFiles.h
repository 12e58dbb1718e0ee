//
// DemoFiles.h
//
// Layer: app
// The chat page's files (web/ and clients/js, built by the imgate-web
// target), compiled into imgated and served with websocket.demo = true.
//

#ifndef imgate_app_DemoFiles_INCLUDED
#define imgate_app_DemoFiles_INCLUDED

#include "server/net/StaticFiles.h"

namespace imgate {
namespace app {

const net::StaticFiles& demoFiles();
	/// The table generated at build time by cmake/EmbedFiles.cmake (empty
	/// in a build without the page).

} } // namespace imgate::app

#endif // imgate_app_DemoFiles_INCLUDED
