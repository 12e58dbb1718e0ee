//
// TestCertificates.h
//
// A throw-away CA and server certificates for one test, made with
// tests/support/make-test-certs.sh in a temporary folder.
//

#ifndef imgate_test_TestCertificates_INCLUDED
#define imgate_test_TestCertificates_INCLUDED

#include "Poco/Types.h"
#include <string>

namespace imgate {
namespace test {

class TestCertificates
	/// Makes the files on construction (throws Poco::RuntimeException with
	/// openssl's output if it fails) and removes them on destruction.
{
public:
	TestCertificates();
	~TestCertificates();

	TestCertificates(const TestCertificates&) = delete;
	TestCertificates& operator = (const TestCertificates&) = delete;

	std::string path(const std::string& name) const;
		/// The file name ("ca.pem", "server.pem", "server.key", "second.pem",
		/// "second.key", "expired.pem", "expired.key", "chain.pem") in the folder.

	const std::string& dir() const;

	static Poco::UInt16 freePort();
		/// A TCP port on 127.0.0.1 that was free a moment ago (for listeners
		/// whose port 0 means off, as tls.port and websocket.port).

private:
	std::string _dir;
};


inline const std::string& TestCertificates::dir() const
{
	return _dir;
}

} } // namespace imgate::test

#endif // imgate_test_TestCertificates_INCLUDED
