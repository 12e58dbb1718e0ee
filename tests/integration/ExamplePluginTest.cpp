//
// ExamplePluginTest.cpp
//
// A user can extend imgate without its source tree: examples/plugins/
// hello-filter is configured and built on its own, against include/imgate/
// and POCO only, and the resulting .so is loaded by a real imgated.
//

#include "tests/support/ServerProcess.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/File.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::client::Reply;
using imgate::test::ServerProcess;
using ProtocolStatus = imgate::protocol::Status;

class ExamplePluginTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(ExamplePluginTest);
	CPPUNIT_TEST(testHelloFilterBuildsOutOfTreeAndLoads);
	CPPUNIT_TEST_SUITE_END();

public:
	void testHelloFilterBuildsOutOfTreeAndLoads()
	{
		std::string build = ServerProcess::makeTempDir();
		std::string source = std::string(IMGATE_SOURCE_DIR) + "/examples/plugins/hello-filter";
		std::string out;
		int rc = ServerProcess::runProgram(CMAKE_COMMAND_PATH,
			{"-S", source, "-B", build, "-DIMGATE_INCLUDE_DIR=" + std::string(IMGATE_SOURCE_DIR) + "/include"}, out, 120000);
		CPPUNIT_ASSERT_MESSAGE(out, rc == 0);
		rc = ServerProcess::runProgram(CMAKE_COMMAND_PATH, {"--build", build}, out, 300000);
		CPPUNIT_ASSERT_MESSAGE(out, rc == 0);
		CPPUNIT_ASSERT(Poco::File(build + "hello-filter.so").exists());

		{
			ServerProcess server(ServerProcess::Settings{
				{"plugins.dir", build},
				{"plugins.load", "hello-filter"},
				{"plugins.hello-filter.greeting", "Welcome"},
				{"plugins.hello-filter.deny", "mallory, eve"}});
			auto alice = server.login("alice");
			CPPUNIT_ASSERT(server.waitForLog("imgate.plugin.hello-filter: Welcome, alice"));
			auto c = server.connect();
			Reply r = c->login("eve", "");
			CPPUNIT_ASSERT(r.result() == ProtocolStatus::RATE_LIMITED);
			CPPUNIT_ASSERT_EQUAL(std::string("hello-filter: not today, eve"), r.parse<imgate::v1::LoginResponse>().message());
		}
		Poco::File(build).remove(true);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExamplePluginTest);
