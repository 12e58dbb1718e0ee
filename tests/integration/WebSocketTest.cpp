//
// WebSocketTest.cpp
//
// Protocol 1.1 section 1, WebSocket: a real imgated with a WebSocket
// listener (ws and wss), and clients that write the WebSocket frames
// themselves (ImgateClient::connectWebSocket, sendWebSocketFrame).
//

#include "tests/support/AdminHttp.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/TestCertificates.h"
#include "tests/support/Wait.h"
#include "tools/imgate-cli/WebSocketFramer.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/SocketAddress.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate;
using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::client::WebSocketFramer;
using imgate::protocol::Command;
using imgate::protocol::Status;
using imgate::test::ServerProcess;
using imgate::test::TestCertificates;

class WebSocketTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(WebSocketTest);
	CPPUNIT_TEST(testTcpAndWebSocketTalk);
	CPPUNIT_TEST(testHandshakeRules);
	CPPUNIT_TEST(testOriginAllowList);
	CPPUNIT_TEST(testTextMessageCloses1003);
	CPPUNIT_TEST(testFragmentedMessageReassembles);
	CPPUNIT_TEST(testTwoFramesInOneMessageClose1002);
	CPPUNIT_TEST(testHalfAFrameCloses1002);
	CPPUNIT_TEST(testUnmaskedFrameCloses1002);
	CPPUNIT_TEST(testPingAnswered);
	CPPUNIT_TEST(testTooLargeCloses1009);
	CPPUNIT_TEST(testKickSendsCloseFrame);
	CPPUNIT_TEST(testStalledHandshakeClosedAtLoginTimeout);
	CPPUNIT_TEST(testSecureWebSocket);
	CPPUNIT_TEST(testNoPageWithoutDemo);
	CPPUNIT_TEST(testDemoPageOneRequestPerConnection);
	CPPUNIT_TEST(testSendsAnsweredBeforeTheClose);
	CPPUNIT_TEST(testMessageAtTheLimitAccepted);
	CPPUNIT_TEST_SUITE_END();

public:
	std::unique_ptr<ServerProcess> start(ServerProcess::Settings more = ServerProcess::Settings())
	{
		ServerProcess::Settings settings{
			{"websocket.port", std::to_string(TestCertificates::freePort())},
			{"admin.allowNoToken", "true"}};
		for (const auto& kv: more) settings[kv.first] = kv.second;
		std::unique_ptr<ServerProcess> pServer(new ServerProcess(settings));
		CPPUNIT_ASSERT(pServer->webSocketPort() != 0);
		return pServer;
	}

	static std::string url(const ServerProcess& server, const std::string& path = "/imgate", const char* scheme = "ws")
	{
		return std::string(scheme) + "://127.0.0.1:" + std::to_string(server.webSocketPort()) + path;
	}

	static std::string loginFrame(const std::string& uid)
	{
		imgate::v1::LoginRequest login;
		login.set_uid(uid);
		login.set_token("t");
		return protocol::FrameEncoder::encode(Command::LOGIN, Status::OK, 1, login);
	}

	static int refusal(const std::function<void()>& connect)
		/// The HTTP status of a refused upgrade (0 if it was not refused).
	{
		try
		{
			connect();
		}
		catch (Poco::Net::WebSocketException& exc)
		{
			return exc.code();
		}
		return 0;
	}

	void testTcpAndWebSocketTalk()
	{
		auto pServer = start();
		auto alice = ImgateClient::connectWebSocket(url(*pServer));
		CPPUNIT_ASSERT(alice->login("alice", "t").result() == Status::OK);
		auto bob = pServer->login("bob");

		CPPUNIT_ASSERT(alice->sendMessage("bob", 1, "from the browser side").result() == Status::OK);
		Reply r;
		CPPUNIT_ASSERT(bob->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		auto m = r.parse<imgate::v1::MessageDeliver>();
		CPPUNIT_ASSERT_EQUAL(std::string("from the browser side"), m.payload());
		bob->ackDeliveries({m.msg_id()});
		// Several frames in one turn each go as their own binary message.
		for (int i = 1; i <= 20; ++i) CPPUNIT_ASSERT(bob->sendMessage("alice", static_cast<Poco::UInt64>(i), "tcp " + std::to_string(i)).result() == Status::OK);
		for (int i = 1; i <= 20; ++i)
		{
			CPPUNIT_ASSERT(alice->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
			auto d = r.parse<imgate::v1::MessageDeliver>();
			CPPUNIT_ASSERT_EQUAL("tcp " + std::to_string(i), d.payload());
			alice->ackDeliveries({d.msg_id()});
		}

		test::Http session = test::request(pServer->adminPort(), "GET", "/v1/sessions/alice");
		CPPUNIT_ASSERT_MESSAGE(session.body, session.body.find("\"transport\":\"ws\"") != std::string::npos);
		test::Http metrics = test::request(pServer->adminPort(), "GET", "/metrics");
		CPPUNIT_ASSERT_MESSAGE(metrics.body, metrics.body.find("imgate_sessions_online{transport=\"ws\"} 1\n") != std::string::npos);

		alice->send(Command::LOGOUT, alice->nextSeq());
		CPPUNIT_ASSERT(alice->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1000), alice->webSocketCloseCode());
	}

	void testHandshakeRules()
	{
		auto pServer = start();
		CPPUNIT_ASSERT_EQUAL(404, refusal([&]() { ImgateClient::connectWebSocket(url(*pServer, "/other")); }));
		client::WebSocketOptions none;
		none.subprotocol = "";
		CPPUNIT_ASSERT_EQUAL(400, refusal([&]() { ImgateClient::connectWebSocket(url(*pServer), none); }));
		client::WebSocketOptions foreign;
		foreign.subprotocol = "mqtt";
		CPPUNIT_ASSERT_EQUAL(400, refusal([&]() { ImgateClient::connectWebSocket(url(*pServer), foreign); }));
		// A list that names it among others is fine: the answer names it alone.
		const std::string answer = rawRequest(*pServer, "GET /imgate HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt, imgate.v1\r\n\r\n", false);
		CPPUNIT_ASSERT_MESSAGE(answer, answer.compare(0, 34, "HTTP/1.1 101 Switching Protocols\r\n") == 0);
		CPPUNIT_ASSERT_MESSAGE(answer, answer.find("\r\nSec-WebSocket-Protocol: imgate.v1\r\n") != std::string::npos);
		CPPUNIT_ASSERT_MESSAGE(answer, answer.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos); // RFC 6455's example
		// Another version gets 426 and the one we speak.
		const std::string old = rawRequest(*pServer, "GET /imgate HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: imgate.v1\r\n\r\n", true);
		CPPUNIT_ASSERT_MESSAGE(old, old.compare(0, 12, "HTTP/1.1 426") == 0 && old.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
		// Refusals are counted and logged.
		CPPUNIT_ASSERT(pServer->waitForLog("WebSocket handshake refused with 404"));
		CPPUNIT_ASSERT(test::waitUntil([&]()
		{
			return test::request(pServer->adminPort(), "GET", "/metrics").body.find("imgate_transport_errors_total{transport=\"ws\"} 4\n") != std::string::npos;
		}, 5000));
	}

	void testOriginAllowList()
	{
		auto pServer = start({{"websocket.allowedOrigins", "https://chat.example.com, http://localhost:8080"}});
		CPPUNIT_ASSERT_EQUAL(403, refusal([&]() { ImgateClient::connectWebSocket(url(*pServer), "", "https://evil.example.net"); }));
		auto allowed = ImgateClient::connectWebSocket(url(*pServer), "", "HTTPS://chat.example.com");
		CPPUNIT_ASSERT(allowed->login("alice", "t").result() == Status::OK);
		auto native = ImgateClient::connectWebSocket(url(*pServer)); // no Origin: not a browser
		CPPUNIT_ASSERT(native->login("bob", "t").result() == Status::OK);
	}

	void testTextMessageCloses1003()
	{
		auto pServer = start();
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		c->sendWebSocketFrame(WebSocketFramer::TEXT, "hello");
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1003), c->webSocketCloseCode());
	}

	void testFragmentedMessageReassembles()
	{
		auto pServer = start();
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		const std::string frame = loginFrame("alice");
		c->sendWebSocketFrame(WebSocketFramer::BINARY, frame.substr(0, 5), false);
		c->sendWebSocketFrame(WebSocketFramer::PING, "between"); // control frames may come between fragments
		c->sendWebSocketFrame(WebSocketFramer::CONTINUATION, frame.substr(5, 10), false);
		c->sendWebSocketFrame(WebSocketFramer::CONTINUATION, frame.substr(15), true);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::LOGIN_RESP, 1, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::OK);
		CPPUNIT_ASSERT(c->waitPong("between", Poco::Timespan(5, 0)));
	}

	void testTwoFramesInOneMessageClose1002()
	{
		auto pServer = start();
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		c->sendWebSocketFrame(WebSocketFramer::BINARY, loginFrame("alice") + loginFrame("alice"));
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1002), c->webSocketCloseCode());
		Reply r;
		CPPUNIT_ASSERT(!c->receiveCommand(r, Command::LOGIN_RESP, Poco::Timespan(0, 1000))); // neither frame was read
	}

	void testHalfAFrameCloses1002()
	{
		auto pServer = start();
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		c->sendWebSocketFrame(WebSocketFramer::BINARY, loginFrame("alice").substr(0, 20));
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1002), c->webSocketCloseCode());
	}

	void testUnmaskedFrameCloses1002()
	{
		auto pServer = start();
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		c->sendWebSocketFrame(WebSocketFramer::BINARY, loginFrame("alice"), true, false);
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1002), c->webSocketCloseCode());
	}

	void testPingAnswered()
	{
		auto pServer = start();
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		CPPUNIT_ASSERT(c->login("alice", "t").result() == Status::OK);
		c->sendWebSocketFrame(WebSocketFramer::PING, "are you there");
		CPPUNIT_ASSERT(c->waitPong("are you there", Poco::Timespan(5, 0)));
		// Still a working session.
		c->send(Command::HEARTBEAT, 7);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::HEARTBEAT_RESP, 7, Poco::Timespan(5, 0)));
	}

	void testTooLargeCloses1009()
	{
		auto pServer = start({{"protocol.maxBodySize", "4096"}, {"message.maxPayloadSize", "1024"}});
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		c->sendWebSocketFrame(WebSocketFramer::BINARY, std::string(16 + 4096 + 1, 'x'));
		CPPUNIT_ASSERT(c->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1009), c->webSocketCloseCode());
	}

	void testKickSendsCloseFrame()
	{
		// A KICK (here: DUPLICATE_LOGIN) is the last frame, then a close frame.
		auto pServer = start();
		auto first = ImgateClient::connectWebSocket(url(*pServer));
		CPPUNIT_ASSERT(first->login("alice", "t").result() == Status::OK);
		auto second = ImgateClient::connectWebSocket(url(*pServer));
		CPPUNIT_ASSERT(second->login("alice", "t").result() == Status::OK);
		Reply r;
		CPPUNIT_ASSERT(first->receiveCommand(r, Command::KICK, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(first->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1000), first->webSocketCloseCode());
	}

	void testStalledHandshakeClosedAtLoginTimeout()
	{
		auto pServer = start({{"session.loginTimeout", "1"}});
		Poco::Net::StreamSocket half(Poco::Net::SocketAddress("127.0.0.1", pServer->webSocketPort()));
		const std::string head = "GET /imgate HTTP/1.1\r\nHost: x\r\n"; // never ends
		half.sendBytes(head.data(), static_cast<int>(head.size()));
		half.setReceiveTimeout(Poco::Timespan(6, 0));
		Poco::Timestamp started;
		char buffer[256];
		int n = -1;
		try
		{
			n = half.receiveBytes(buffer, sizeof(buffer));
		}
		catch (Poco::Net::ConnectionResetException&)
		{
			n = 0;
		}
		CPPUNIT_ASSERT_EQUAL(0, n);
		// Closed by the login timeout (1 s), not at once.
		CPPUNIT_ASSERT(started.elapsed() >= Poco::Timestamp::resolution() / 2);
		CPPUNIT_ASSERT(started.elapsed() < 5 * Poco::Timestamp::resolution());
	}

	void testSecureWebSocket()
	{
		TestCertificates certs;
		auto pServer = start({{"websocket.tls", "true"},
			{"tls.certificateFile", certs.path("server.pem")}, {"tls.privateKeyFile", certs.path("server.key")}});
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0), pServer->tlsPort());
		auto alice = ImgateClient::connectWebSocket(url(*pServer, "/imgate", "wss"), certs.path("ca.pem"));
		CPPUNIT_ASSERT(alice->login("alice", "t").result() == Status::OK);
		auto bob = pServer->login("bob");
		CPPUNIT_ASSERT(bob->sendMessage("alice", 1, "to wss").result() == Status::OK);
		Reply r;
		CPPUNIT_ASSERT(alice->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("to wss"), r.parse<imgate::v1::MessageDeliver>().payload());
		test::Http session = test::request(pServer->adminPort(), "GET", "/v1/sessions/alice");
		CPPUNIT_ASSERT_MESSAGE(session.body, session.body.find("\"transport\":\"wss\"") != std::string::npos);
		// Plain ws:// to a wss port fails in the TLS handshake.
		CPPUNIT_ASSERT_THROW(ImgateClient::connectWebSocket(url(*pServer)), Poco::Exception);
	}

	void testNoPageWithoutDemo()
	{
		auto pServer = start();
		const std::string answer = rawRequest(*pServer, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true);
		CPPUNIT_ASSERT_MESSAGE(answer, answer.compare(0, 22, "HTTP/1.1 404 Not Found") == 0);
	}

	void testDemoPageOneRequestPerConnection()
	{
		auto pServer = start({{"websocket.demo", "true"}});
		// Pipelined requests get one answer, then the connection closes:
		// a client cannot pile up answers without reading them.
		const std::string answer = rawRequest(*pServer, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /chat.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true);
		CPPUNIT_ASSERT_MESSAGE(answer.substr(0, 300), answer.compare(0, 17, "HTTP/1.1 200 OK\r\n") == 0);
		CPPUNIT_ASSERT(answer.find("\r\nContent-Type: text/html; charset=utf-8\r\n") != std::string::npos);
		CPPUNIT_ASSERT(answer.find("\r\nConnection: close\r\n") != std::string::npos);
		CPPUNIT_ASSERT(answer.find("\r\nContent-Security-Policy: default-src 'self';") != std::string::npos);
		CPPUNIT_ASSERT(answer.find("<html") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(std::string::npos, answer.find("HTTP/1.1", 1));
		// HEAD: the headers alone.
		const std::string head = rawRequest(*pServer, "HEAD /chat.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true);
		CPPUNIT_ASSERT_MESSAGE(head, head.compare(0, 17, "HTTP/1.1 200 OK\r\n") == 0);
		CPPUNIT_ASSERT(head.find("\r\nContent-Type: text/javascript; charset=utf-8\r\n") != std::string::npos);
		CPPUNIT_ASSERT_EQUAL(head.size(), head.find("\r\n\r\n") + 4);
		// The upgrade still works beside the page.
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		CPPUNIT_ASSERT(c->login("alice", "t").result() == Status::OK);
	}

	void testSendsAnsweredBeforeTheClose()
	{
		// MSG_SENDs read before a text message are stored and answered,
		// then the close frame (1003) goes last, as on TCP an ERROR that
		// closes waits for the earlier sends' answers.
		auto pServer = start();
		auto alice = ImgateClient::connectWebSocket(url(*pServer));
		CPPUNIT_ASSERT(alice->login("alice", "t").result() == Status::OK);
		for (Poco::UInt32 i = 1; i <= 3; ++i)
		{
			imgate::v1::MessageSend send;
			send.set_to_uid("bob");
			send.set_client_msg_id(i);
			send.set_payload("before the close " + std::to_string(i));
			alice->send(Command::MSG_SEND, 100 + i, send);
		}
		alice->sendWebSocketFrame(WebSocketFramer::TEXT, "not a frame");
		for (Poco::UInt32 i = 1; i <= 3; ++i)
		{
			Reply r;
			CPPUNIT_ASSERT(alice->receiveReply(r, Command::MSG_SEND_ACK, 100 + i, Poco::Timespan(5, 0)));
			CPPUNIT_ASSERT(r.result() == Status::OK);
		}
		CPPUNIT_ASSERT(alice->waitClosed(Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(1003), alice->webSocketCloseCode());
		auto bob = pServer->login("bob");
		Reply r;
		CPPUNIT_ASSERT(bob->receiveCommand(r, Command::MSG_DELIVER, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT_EQUAL(std::string("before the close 1"), r.parse<imgate::v1::MessageDeliver>().payload());
		CPPUNIT_ASSERT(pServer->waitForLog("WebSocket closed with 1003 (a text message)"));
	}

	void testMessageAtTheLimitAccepted()
	{
		// 16 + protocol.maxBodySize is the largest message: read, and
		// answered as TCP answers it (here: an unknown command).
		auto pServer = start({{"protocol.maxBodySize", "4096"}, {"message.maxPayloadSize", "1024"}});
		auto c = ImgateClient::connectWebSocket(url(*pServer));
		std::string frame;
		const std::string body(4096, 'x');
		protocol::FrameEncoder::appendRaw(frame, 0x7777, 0, 9, body.data(), body.size());
		CPPUNIT_ASSERT_EQUAL(std::size_t(16 + 4096), frame.size());
		c->sendWebSocketFrame(WebSocketFramer::BINARY, frame);
		Reply r;
		CPPUNIT_ASSERT(c->receiveReply(r, Command::ERROR, 9, Poco::Timespan(5, 0)));
		CPPUNIT_ASSERT(r.result() == Status::UNKNOWN_COMMAND);
		CPPUNIT_ASSERT(!c->closed());
	}

private:
	static std::string rawRequest(const ServerProcess& server, const std::string& request, bool untilClosed)
		/// What the WebSocket port answers to request: until it closes, or
		/// the head of the answer.
	{
		Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", server.webSocketPort()));
		s.sendBytes(request.data(), static_cast<int>(request.size()));
		s.setReceiveTimeout(Poco::Timespan(5, 0));
		std::string answer;
		char buffer[1024];
		int n;
		while ((untilClosed || answer.find("\r\n\r\n") == std::string::npos) && (n = s.receiveBytes(buffer, sizeof(buffer))) > 0)
			answer.append(buffer, static_cast<std::size_t>(n));
		return answer;
	}
};


CPPUNIT_TEST_SUITE_REGISTRATION(WebSocketTest);
