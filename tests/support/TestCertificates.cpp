//
// TestCertificates.cpp
//

#include "tests/support/TestCertificates.h"
#include "tests/support/ServerProcess.h"
#include "Poco/Exception.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/SocketAddress.h"

namespace imgate {
namespace test {

TestCertificates::TestCertificates():
	_dir(ServerProcess::makeTempDir() + "certs/")
{
	std::string output;
	const int rc = ServerProcess::runProgram("bash", {IMGATE_SOURCE_DIR "/tests/support/make-test-certs.sh", _dir}, output, 60000);
	if (rc != 0) throw Poco::RuntimeException("make-test-certs.sh failed (" + std::to_string(rc) + "):\n" + output);
}


TestCertificates::~TestCertificates()
{
	try
	{
		Poco::File(Poco::Path(_dir).parent()).remove(true);
	}
	catch (Poco::Exception&)
	{
	}
}


std::string TestCertificates::path(const std::string& name) const
{
	return _dir + name;
}


Poco::UInt16 TestCertificates::freePort()
{
	Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
	return socket.address().port();
}

} } // namespace imgate::test
