//
// main.cpp
//
// Layer: app
// Entry point of imgated.
//

#include "server/app/ImgateServer.h"
#include <iostream>

int main(int argc, char** argv)
{
	// POCO_SERVER_MAIN, but with the options checked before --daemon forks.
	try
	{
		imgate::app::ImgateServer app;
		return app.runCommand(argc, argv);
	}
	catch (Poco::Exception& exc)
	{
		std::cerr << exc.displayText() << std::endl;
		return Poco::Util::Application::EXIT_SOFTWARE;
	}
}
