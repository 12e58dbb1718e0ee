//
// TlsChannelTest.cpp
//
// net::TlsChannel against a real OpenSSL client in the same process: the
// bytes each side writes are handed to the other in memory, so a test
// decides exactly how records are grouped into reads.
//

#include "server/net/TlsChannel.h"
#include "tests/support/TestCertificates.h"
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <cppunit/extensions/HelperMacros.h>
#include <memory>
#include <string>
#include <vector>

using namespace imgate::net;
using imgate::test::TestCertificates;

namespace {

struct Wire: public ByteSink
{
	void write(const char* data, std::size_t length) override
	{
		bytes.append(data, length);
	}

	std::string bytes;
};


class Echo: public TlsChannel::Handler
	/// Answers every piece of plaintext at once from onPlain(), as the
	/// WebSocket layer answers a ping (a send() inside receive()).
{
public:
	Echo(TlsChannel& channel, Wire& wire): _channel(channel), _wire(wire)
	{
	}

	void onPlain(const char* data, std::size_t length) override
	{
		received.append(data, length);
		const std::string answer = "re:" + std::string(data, length) + ";";
		CPPUNIT_ASSERT_EQUAL(answer.size(), _channel.send(answer.data(), answer.size(), _wire));
	}

	bool stopped() const override
	{
		return false;
	}

	std::string received;

private:
	TlsChannel& _channel;
	Wire& _wire;
};


class Client
	/// An OpenSSL client on memory BIOs.
{
public:
	explicit Client(const std::string& caFile):
		_pContext(SSL_CTX_new(TLS_client_method()))
	{
		SSL_CTX_load_verify_locations(_pContext, caFile.c_str(), nullptr);
		SSL_CTX_set_verify(_pContext, SSL_VERIFY_PEER, nullptr);
		_pSsl = SSL_new(_pContext);
		_pIn = BIO_new(BIO_s_mem());
		_pOut = BIO_new(BIO_s_mem());
		SSL_set_bio(_pSsl, _pIn, _pOut);
		SSL_set_connect_state(_pSsl);
		SSL_set1_host(_pSsl, "127.0.0.1");
	}

	~Client()
	{
		SSL_free(_pSsl);
		SSL_CTX_free(_pContext);
	}

	std::string output()
		/// What the client wrote since the last call.
	{
		std::string out;
		char buffer[16384];
		int n;
		while ((n = BIO_read(_pOut, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<std::size_t>(n));
		return out;
	}

	void input(const std::string& bytes)
	{
		BIO_write(_pIn, bytes.data(), static_cast<int>(bytes.size()));
	}

	bool handshake()
	{
		return SSL_do_handshake(_pSsl) == 1;
	}

	void write(const std::string& text)
	{
		CPPUNIT_ASSERT_EQUAL(static_cast<int>(text.size()), SSL_write(_pSsl, text.data(), static_cast<int>(text.size())));
	}

	std::string read()
	{
		std::string text;
		char buffer[16384];
		int n;
		while ((n = SSL_read(_pSsl, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<std::size_t>(n));
		return text;
	}

	SSL* ssl() const
	{
		return _pSsl;
	}

private:
	SSL_CTX* _pContext;
	SSL* _pSsl;
	BIO* _pIn;
	BIO* _pOut;
};

} // namespace


class TlsChannelTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(TlsChannelTest);
	CPPUNIT_TEST(testHandshakeAndExchange);
	CPPUNIT_TEST(testAnswerInsideReceiveKeepsTheRestOfTheRead);
	CPPUNIT_TEST(testSendBeforeTheHandshakeTakesNothing);
	CPPUNIT_TEST(testGarbageFails);
	CPPUNIT_TEST(testCloseNotify);
	CPPUNIT_TEST_SUITE_END();

public:
	void setUp() override
	{
		_pCerts.reset(new TestCertificates);
		TlsContext::Files files;
		files.certificateFile = _pCerts->path("server.pem");
		files.privateKeyFile = _pCerts->path("server.key");
		std::vector<std::string> warnings;
		_pContext = TlsContext::load(files, warnings);
		CPPUNIT_ASSERT(warnings.empty());
	}

	void tearDown() override
	{
		_pContext.reset();
		_pCerts.reset();
	}

	void connect(Client& client, TlsChannel& server, Wire& wire, TlsChannel::Handler& handler)
	{
		for (int step = 0; step < 8 && !client.handshake(); ++step)
		{
			const std::string hello = client.output();
			if (!hello.empty()) CPPUNIT_ASSERT(server.receive(hello.data(), hello.size(), wire, handler) == TlsChannel::MORE);
			client.input(wire.bytes);
			wire.bytes.clear();
		}
		// The client's Finished completes the server's side.
		const std::string finished = client.output();
		CPPUNIT_ASSERT(server.receive(finished.data(), finished.size(), wire, handler) == TlsChannel::MORE);
		client.input(wire.bytes); // session tickets
		wire.bytes.clear();
		CPPUNIT_ASSERT(server.established());
		CPPUNIT_ASSERT_EQUAL(std::string("TLSv1.3"), std::string(server.version()));
	}

	void testHandshakeAndExchange()
	{
		TlsChannel server(_pContext);
		Client client(_pCerts->path("ca.pem"));
		Wire wire;
		Echo echo(server, wire);
		connect(client, server, wire, echo);
		client.write("hello");
		const std::string record = client.output();
		CPPUNIT_ASSERT(server.receive(record.data(), record.size(), wire, echo) == TlsChannel::MORE);
		CPPUNIT_ASSERT_EQUAL(std::string("hello"), echo.received);
		client.input(wire.bytes);
		CPPUNIT_ASSERT_EQUAL(std::string("re:hello;"), client.read());
	}

	void testAnswerInsideReceiveKeepsTheRestOfTheRead()
	{
		// Three records in one read; the handler answers the first from
		// within receive(): the other two must still be read.
		TlsChannel server(_pContext);
		Client client(_pCerts->path("ca.pem"));
		Wire wire;
		Echo echo(server, wire);
		connect(client, server, wire, echo);
		client.write("one");
		client.write("two");
		client.write("three");
		const std::string records = client.output();
		CPPUNIT_ASSERT(server.receive(records.data(), records.size(), wire, echo) == TlsChannel::MORE);
		CPPUNIT_ASSERT_EQUAL(std::string("onetwothree"), echo.received);
		client.input(wire.bytes);
		CPPUNIT_ASSERT_EQUAL(std::string("re:one;re:two;re:three;"), client.read());
	}

	void testSendBeforeTheHandshakeTakesNothing()
	{
		TlsChannel server(_pContext);
		Wire wire;
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), server.send("early", 5, wire));
		CPPUNIT_ASSERT(wire.bytes.empty());
	}

	void testGarbageFails()
	{
		TlsChannel server(_pContext);
		Wire wire;
		Echo echo(server, wire);
		const std::string plain = "GET / HTTP/1.1\r\n\r\n";
		CPPUNIT_ASSERT(server.receive(plain.data(), plain.size(), wire, echo) == TlsChannel::FAILED);
		CPPUNIT_ASSERT_MESSAGE(server.failure(), server.failure().find("http request") != std::string::npos); // OpenSSL names it
		CPPUNIT_ASSERT(echo.received.empty());
	}

	void testCloseNotify()
	{
		TlsChannel server(_pContext);
		Client client(_pCerts->path("ca.pem"));
		Wire wire;
		Echo echo(server, wire);
		connect(client, server, wire, echo);
		server.shutdown(wire);
		client.input(wire.bytes);
		char buffer[16];
		CPPUNIT_ASSERT_EQUAL(0, SSL_read(client.ssl(), buffer, sizeof(buffer)));
		CPPUNIT_ASSERT_EQUAL(SSL_ERROR_ZERO_RETURN, SSL_get_error(client.ssl(), 0));
		// And the client's close_notify ends the server's side.
		SSL_shutdown(client.ssl());
		const std::string notify = client.output();
		CPPUNIT_ASSERT(server.receive(notify.data(), notify.size(), wire, echo) == TlsChannel::CLOSED);
	}

private:
	std::unique_ptr<TestCertificates> _pCerts;
	std::shared_ptr<TlsContext> _pContext;
};


CPPUNIT_TEST_SUITE_REGISTRATION(TlsChannelTest);
