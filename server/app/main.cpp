//
// main.cpp
//
// Layer: app
// Entry point of imgated.
//

#include "server/app/ImgateServer.h"
#include <iostream>

POCO_SERVER_MAIN(imgate::app::ImgateServer)
