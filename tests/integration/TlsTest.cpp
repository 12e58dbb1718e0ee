//
// TlsTest.cpp
//
// Protocol 1.1 section 1, TLS: a real imgated with a TLS listener and a
// certificate made for the test by a throw-away CA (make-test-certs.sh),
// and real OpenSSL clients (ImgateClient::connectTls).
//

#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/TestCertificates.h"
#include "tests/support/Wait.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/File.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/SocketAddress.h"
#include <cppunit/extensions/HelperMacros.h>
#include <csignal>
#include <sys/stat.h>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;
using imgate::test::TestCertificates;

class TlsTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(TlsTest);
	CPPUNIT_TEST(testLoginAndExchangeWithTcp);
	CPPUNIT_TEST(testOldVersionsRefused);
	CPPUNIT_TEST(testMinVersion13);
	CPPUNIT_TEST(testUntrustedClientCountsAnError);
	CPPUNIT_TEST(testPlainBytesClosed);
	CPPUNIT_TEST(testStalledHandshakeClosedAtLoginTimeout);
	CPPUNIT_TEST(testCertificateReloadedOnSighup);
	CPPUNIT_TEST(testBadReloadKeepsTheCertificate);
	CPPUNIT_TEST(testBadFilesStopTheStart);
	CPPUNIT_TEST(testExpiredCertificateWarns);
	CPPUNIT_TEST(testLargeFramesBothWays);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pCerts.reset(new TestCertificates);
		// The server reads its own copies: the reload tests overwrite them.
		copy(_pCerts->path("server.pem"), _pCerts->path("live.pem"));
		copy(_pCerts->path("server.key"), _pCerts->path("live.key"));
	}

	void tearDown() override
	{
		_pCerts.reset();
	}

	std::unique_ptr<ServerProcess> start(ServerProcess::Settings more = ServerProcess::Settings())
	{
		ServerProcess::Settings settings{
			{"tls.port", std::to_string(TestCertificates::freePort())},
			{"tls.certificateFile", _pCerts->path("live.pem")},
			{"tls.privateKeyFile", _pCerts->path("live.key")},
			{"admin.allowNoToken", "true"}};
		for (const auto& kv: more) settings[kv.first] = kv.second;
		std::unique_ptr<ServerProcess> pServer(new ServerProcess(settings));
		CPPUNIT_ASSERT(pServer->tlsPort() != 0);
		return pServer;
	}

	std::unique_ptr<ImgateClient> tls(const ServerProcess& server) const
	{
		return ImgateClient::connectTls("127.0.0.1", server.tlsPort(), _pCerts->path("ca.pem"));
	}

	void testLoginAndExchangeWithTcp()
	{
		auto pServer = start();
		auto alice = tls(*pServer);
		CPPUNIT_ASSERT_EQUAL(std::string("TLSv1.3"), alice->tlsVersion());
		CPPUNIT_ASSERT(alice->login("alice", "t").result() == Status::OK);
		auto bob = pServer->login("bob");

		CPPUNIT_ASSERT(alice->sendMessage("bob", 1, "over TLS").result() == Status::OK);
		Reply r;
		CPPUNIT_ASSERT(bob->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		auto delivered = r.parse<imgate::v1::MessageDeliver>();
		CPPUNIT_ASSERT_EQUAL(std::string("over TLS"), delivered.payload());
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), delivered.from_uid());
		bob->ackDeliveries({delivered.msg_id()});

		CPPUNIT_ASSERT(bob->sendMessage("alice", 1, "over TCP").result() == Status::OK);
		CPPUNIT_ASSERT(alice->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("over TCP"), r.parse<imgate::v1::MessageDeliver>().payload());

		// The same session everywhere: the admin API and the metrics say how it came.
		test::Http session = test::request(pServer->adminPort(), "GET", "/v1/sessions/alice");
		CPPUNIT_ASSERT_EQUAL(200, session.status);
		CPPUNIT_ASSERT_MESSAGE(session.body, session.body.find("\"transport\":\"tls\"") != std::string::npos);
		test::Http bobSession = test::request(pServer->adminPort(), "GET", "/v1/sessions/bob");
		CPPUNIT_ASSERT_MESSAGE(bobSession.body, bobSession.body.find("\"transport\":\"tcp\"") != std::string::npos);
		test::Http metrics = test::request(pServer->adminPort(), "GET", "/metrics");
		CPPUNIT_ASSERT_MESSAGE(metrics.body, metrics.body.find("imgate_sessions_online{transport=\"tls\"} 1\n") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(metrics.body, metrics.body.find("imgate_connections_open{transport=\"tls\"} 1\n") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(metrics.body, metrics.body.find("imgate_connections_open{transport=\"tcp\"} 1\n") != std::string::npos);

		// LOGOUT over TLS closes as on TCP, close_notify last.
		alice->send(Command::LOGOUT, alice->nextSeq());
		CPPUNIT_ASSERT(alice->waitClosed(Poco::Timespan(5, 0)));
	}

	void testOldVersionsRefused()
	{
		auto pServer = start();
		for (const char* version: {"1.0", "1.1"})
		{
			client::TlsOptions options;
			options.caFile = _pCerts->path("ca.pem");
			options.minVersion = version;
			options.maxVersion = version;
			CPPUNIT_ASSERT_THROW_MESSAGE(version, ImgateClient::connectTls("127.0.0.1", pServer->tlsPort(), options), Poco::Net::NetException);
		}
		client::TlsOptions options;
		options.caFile = _pCerts->path("ca.pem");
		options.maxVersion = "1.2";
		auto c = ImgateClient::connectTls("127.0.0.1", pServer->tlsPort(), options);
		CPPUNIT_ASSERT_EQUAL(std::string("TLSv1.2"), c->tlsVersion());
		CPPUNIT_ASSERT(c->login("carol", "t").result() == Status::OK);
	}

	void testMinVersion13()
	{
		auto pServer = start({{"tls.minVersion", "1.3"}});
		client::TlsOptions options;
		options.caFile = _pCerts->path("ca.pem");
		options.maxVersion = "1.2";
		CPPUNIT_ASSERT_THROW(ImgateClient::connectTls("127.0.0.1", pServer->tlsPort(), options), Poco::Net::NetException);
		CPPUNIT_ASSERT(tls(*pServer)->login("dave", "t").result() == Status::OK);
	}

	void testUntrustedClientCountsAnError()
	{
		// A client that trusts another CA gives up in the handshake: the
		// server logs it (within its budget) and counts it.
		auto pServer = start();
		TestCertificates other;
		CPPUNIT_ASSERT_THROW(ImgateClient::connectTls("127.0.0.1", pServer->tlsPort(), other.path("ca.pem")), Poco::Net::NetException);
		CPPUNIT_ASSERT(pServer->waitForLog("TLS handshake failed"));
		CPPUNIT_ASSERT(test::waitUntil([&]()
		{
			return test::request(pServer->adminPort(), "GET", "/metrics").body.find("imgate_transport_errors_total{transport=\"tls\"} 1\n") != std::string::npos;
		}, 5000));
	}

	void testPlainBytesClosed()
	{
		auto pServer = start();
		ImgateClient plain("127.0.0.1", pServer->tlsPort());
		imgate::v1::LoginRequest login;
		login.set_uid("mallory");
		login.set_token("t");
		plain.send(Command::LOGIN, 1, login);
		CPPUNIT_ASSERT(plain.waitClosed(Poco::Timespan(5, 0)));
		Reply r;
		CPPUNIT_ASSERT(!plain.receive(r, Poco::Timespan(0, 1000))); // no v1 frame ever came back
		CPPUNIT_ASSERT(pServer->waitForLog("TLS handshake failed"));
	}

	void testStalledHandshakeClosedAtLoginTimeout()
	{
		auto pServer = start({{"session.loginTimeout", "1"}});
		// Connected, then silent: no ClientHello.
		Poco::Net::StreamSocket silent(Poco::Net::SocketAddress("127.0.0.1", pServer->tlsPort()));
		// Half a ClientHello: a record header that promises more.
		Poco::Net::StreamSocket half(Poco::Net::SocketAddress("127.0.0.1", pServer->tlsPort()));
		const unsigned char record[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
		half.sendBytes(record, sizeof(record));
		Poco::Timestamp started;
		for (Poco::Net::StreamSocket* p: {&silent, &half})
		{
			p->setReceiveTimeout(Poco::Timespan(6, 0));
			char buffer[256];
			int n = 0;
			try
			{
				n = p->receiveBytes(buffer, sizeof(buffer));
			}
			catch (Poco::Net::ConnectionResetException&)
			{
			}
			CPPUNIT_ASSERT_EQUAL(0, n);
		}
		// Closed by the login timeout (1 s), not at once.
		CPPUNIT_ASSERT(started.elapsed() >= Poco::Timestamp::resolution() / 2);
		CPPUNIT_ASSERT(started.elapsed() < 5 * Poco::Timestamp::resolution());
	}

	void testCertificateReloadedOnSighup()
	{
		auto pServer = start();
		auto before = tls(*pServer);
		CPPUNIT_ASSERT(before->tlsPeerSubject().find("CN=imgate-test") != std::string::npos);
		CPPUNIT_ASSERT(before->login("erin", "t").result() == Status::OK);
		const std::string firstSerial = before->tlsPeerSerial();

		copy(_pCerts->path("second.pem"), _pCerts->path("live.pem"));
		copy(_pCerts->path("second.key"), _pCerts->path("live.key"));
		pServer->signal(SIGHUP);
		CPPUNIT_ASSERT(pServer->waitForLog("new TLS connections use the certificate just read"));

		auto after = tls(*pServer);
		CPPUNIT_ASSERT_MESSAGE(after->tlsPeerSubject(), after->tlsPeerSubject().find("CN=imgate-test-2") != std::string::npos);
		CPPUNIT_ASSERT(after->tlsPeerSerial() != firstSerial);
		CPPUNIT_ASSERT(after->login("frank", "t").result() == Status::OK);
		// The open connection keeps its session.
		CPPUNIT_ASSERT(before->sendMessage("frank", 1, "still here").result() == Status::OK);
		Reply r;
		CPPUNIT_ASSERT(after->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("still here"), r.parse<imgate::v1::MessageDeliver>().payload());
	}

	void testBadReloadKeepsTheCertificate()
	{
		auto pServer = start();
		const std::string serial = tls(*pServer)->tlsPeerSerial();
		// A key that does not match the certificate.
		copy(_pCerts->path("second.key"), _pCerts->path("live.key"));
		pServer->signal(SIGHUP);
		CPPUNIT_ASSERT(pServer->waitForLog("the TLS certificate in use stays"));
		CPPUNIT_ASSERT(pServer->log().find("does not match the certificate") != std::string::npos);
		auto c = tls(*pServer);
		CPPUNIT_ASSERT_EQUAL(serial, c->tlsPeerSerial());
		CPPUNIT_ASSERT(c->login("grace", "t").result() == Status::OK);
	}

	void testBadFilesStopTheStart()
	{
		const std::string dir = ServerProcess::makeTempDir();
		const std::string config = dir + "imgate.properties";
		auto startWith = [&](const std::string& cert, const std::string& key, std::string& output)
		{
			ServerProcess::writeFile(config, "server.address = 127.0.0.1\nserver.port = 0\nadmin.enabled = false\nstore.type = memory\n"
				"tls.port = " + std::to_string(TestCertificates::freePort()) + "\n"
				"tls.certificateFile = " + cert + "\ntls.privateKeyFile = " + key + "\n");
			return ServerProcess::run({"--config=" + config}, output);
		};
		std::string output;
		const std::string missing = dir + "missing.pem";
		CPPUNIT_ASSERT_EQUAL(78, startWith(missing, _pCerts->path("server.key"), output));
		CPPUNIT_ASSERT_MESSAGE(output, output.find("tls.certificateFile " + missing + ": no such file") != std::string::npos);

		CPPUNIT_ASSERT_EQUAL(78, startWith(_pCerts->path("server.pem"), _pCerts->path("second.key"), output));
		CPPUNIT_ASSERT_MESSAGE(output, output.find("tls.privateKeyFile " + _pCerts->path("second.key") + ": the key does not match the certificate") != std::string::npos);

		const std::string notPem = dir + "not.pem";
		ServerProcess::writeFile(notPem, "this is not a certificate\n");
		CPPUNIT_ASSERT_EQUAL(78, startWith(notPem, _pCerts->path("server.key"), output));
		CPPUNIT_ASSERT_MESSAGE(output, output.find("tls.certificateFile " + notPem + ": not a PEM certificate") != std::string::npos);

		// A key every user may read is no secret.
		const std::string open = dir + "open.key";
		copy(_pCerts->path("server.key"), open);
		::chmod(open.c_str(), 0644);
		CPPUNIT_ASSERT_EQUAL(78, startWith(_pCerts->path("server.pem"), open, output));
		CPPUNIT_ASSERT_MESSAGE(output, output.find("tls.privateKeyFile " + open + ": readable by every user") != std::string::npos);

		// tls.port without a certificate names the key at its line.
		ServerProcess::writeFile(config, "server.address = 127.0.0.1\nadmin.enabled = false\ntls.port = 7443\n");
		CPPUNIT_ASSERT_EQUAL(78, ServerProcess::run({"--config=" + config}, output));
		CPPUNIT_ASSERT_MESSAGE(output, output.find("tls.port needs tls.certificateFile and tls.privateKeyFile") != std::string::npos);
		Poco::File(dir).remove(true);
	}

	void testExpiredCertificateWarns()
	{
		copy(_pCerts->path("expired.pem"), _pCerts->path("live.pem"));
		copy(_pCerts->path("expired.key"), _pCerts->path("live.key"));
		auto pServer = start();
		CPPUNIT_ASSERT(pServer->log().find("the certificate expired on Jan  2 00:00:00 2020 GMT; clients will refuse it") != std::string::npos);
		// It serves it, and a verifying client refuses it.
		try
		{
			tls(*pServer);
			CPPUNIT_FAIL("an expired certificate was accepted");
		}
		catch (Poco::Net::NetException& exc)
		{
			CPPUNIT_ASSERT_MESSAGE(exc.displayText(), exc.displayText().find("expired") != std::string::npos);
		}
	}

	void testLargeFramesBothWays()
	{
		// Several TLS records per frame, and a burst that fills the socket.
		auto pServer = start();
		auto alice = tls(*pServer);
		CPPUNIT_ASSERT(alice->login("alice", "t").result() == Status::OK);
		auto bob = tls(*pServer);
		CPPUNIT_ASSERT(bob->login("bob", "t").result() == Status::OK);
		const std::string big(30000, 'x');
		for (int i = 1; i <= 40; ++i)
			CPPUNIT_ASSERT(alice->sendMessage("bob", static_cast<Poco::UInt64>(i), big + std::to_string(i)).result() == Status::OK);
		for (int i = 1; i <= 40; ++i)
		{
			Reply r;
			CPPUNIT_ASSERT(bob->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(10, 0)));
			auto m = r.parse<imgate::v1::MessageDeliver>();
			CPPUNIT_ASSERT_EQUAL(big + std::to_string(i), m.payload());
			bob->ackDeliveries({m.msg_id()});
		}
	}

private:
	static void copy(const std::string& from, const std::string& to)
	{
		Poco::File target(to);
		if (target.exists()) target.remove();
		Poco::File(from).copyTo(to);
		::chmod(to.c_str(), 0600);
	}

	std::unique_ptr<TestCertificates> _pCerts;
};


CPPUNIT_TEST_SUITE_REGISTRATION(TlsTest);
