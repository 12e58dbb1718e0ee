//
// HttpRequestHeadTest.cpp
//
// The admin listener's request head: where it ends, what it carries, and
// what is refused with which status and reason.
//

#include "server/admin/HttpRequestHead.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::admin::HttpRequestHead;

class HttpRequestHeadTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(HttpRequestHeadTest);
	CPPUNIT_TEST(testEnd);
	CPPUNIT_TEST(testFields);
	CPPUNIT_TEST(testContentLength);
	CPPUNIT_TEST(testTransferEncodingRefused);
	CPPUNIT_TEST(testMalformed);
	CPPUNIT_TEST_SUITE_END();

public:
	static HttpRequestHead parsed(const std::string& head)
	{
		HttpRequestHead h;
		CPPUNIT_ASSERT_MESSAGE(h.reason(), h.parse(head));
		return h;
	}

	static void refused(const std::string& head, int status, const std::string& reason)
	{
		HttpRequestHead h;
		CPPUNIT_ASSERT(!h.parse(head));
		CPPUNIT_ASSERT_EQUAL(status, h.status());
		CPPUNIT_ASSERT_MESSAGE(h.reason(), h.reason().find(reason) != std::string::npos);
	}

	void testEnd()
	{
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), HttpRequestHead::end("GET / HTTP/1.1\r\nHost: x\r\n"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(27), HttpRequestHead::end("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(16), HttpRequestHead::end("GET / HTTP/1.1\n\nbody"));
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), HttpRequestHead::end(""));
	}

	void testFields()
	{
		HttpRequestHead h = parsed("POST /v1/bans?x=1 HTTP/1.1\r\nHost: x\r\nauthorization: Bearer abc\r\nExpect: 100-Continue\r\nContent-Length: 12\r\n\r\n");
		CPPUNIT_ASSERT_EQUAL(std::string("POST"), h.method());
		CPPUNIT_ASSERT_EQUAL(std::string("/v1/bans?x=1"), h.uri());
		CPPUNIT_ASSERT_EQUAL(std::string("Bearer abc"), h.authorization());
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(12), h.contentLength());
		CPPUNIT_ASSERT(h.expectContinue());
		HttpRequestHead g = parsed("GET /healthz HTTP/1.1\r\n\r\n");
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(0), g.contentLength());
		CPPUNIT_ASSERT(!g.expectContinue());
		CPPUNIT_ASSERT_EQUAL(std::string(), g.authorization());
	}

	void testContentLength()
	{
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(18446744073709551615ull), parsed("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n").contentLength());
		refused("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400, "out of range");
		refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "decimal number");
		refused("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "decimal number");
		refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "decimal number");
		refused("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "decimal number");
		refused("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "decimal number");
		refused("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n", 400, "more than one Content-Length");
	}

	void testTransferEncodingRefused()
	{
		refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "Content-Length");
		refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, "both Transfer-Encoding and Content-Length");
	}

	void testMalformed()
	{
		refused("NOT A REQUEST\r\n\r\n", 400, "malformed");
		refused("\r\n\r\n", 400, "malformed");
		refused("GET / HTTP/1.1\r\n" + std::string(HttpRequestHead::MAX_BYTES, 'a') + "\r\n\r\n", 431, "larger than 16384 bytes");
		refused("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 400, "malformed");
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(HttpRequestHeadTest);
