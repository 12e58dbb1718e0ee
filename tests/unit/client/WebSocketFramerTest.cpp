//
// WebSocketFramerTest.cpp
//
// The client side of RFC 6455 framing (tools/imgate-cli/WebSocketFramer),
// which ImgateClient and imgate-bench use: lengths in all three forms,
// masking, split input, limits.
//

#include "tools/imgate-cli/WebSocketFramer.h"
#include <cppunit/extensions/HelperMacros.h>
#include <cstring>
#include <vector>

using imgate::client::WebSocketFramer;

class WebSocketFramerTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(WebSocketFramerTest);
	CPPUNIT_TEST(testRfcExamples);
	CPPUNIT_TEST(testLengthForms);
	CPPUNIT_TEST(testMaskedRoundTrip);
	CPPUNIT_TEST(testSplitInput);
	CPPUNIT_TEST(testTooLarge);
	CPPUNIT_TEST(testFlagsAndClose);
	CPPUNIT_TEST_SUITE_END();

public:
	void testRfcExamples()
	{
		// RFC 6455 5.7: "Hello", unmasked and masked with 37 fa 21 3d.
		WebSocketFramer framer;
		const std::string unmasked("\x81\x05\x48\x65\x6c\x6c\x6f", 7);
		const std::string masked("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
		framer.feed(unmasked.data(), unmasked.size());
		framer.feed(masked.data(), masked.size());
		WebSocketFramer::Frame f;
		CPPUNIT_ASSERT(framer.next(f) == WebSocketFramer::FRAME);
		CPPUNIT_ASSERT(f.fin && !f.masked);
		CPPUNIT_ASSERT_EQUAL(unsigned(WebSocketFramer::TEXT), f.opcode);
		CPPUNIT_ASSERT_EQUAL(std::string("Hello"), std::string(f.payload, f.length));
		CPPUNIT_ASSERT(framer.next(f) == WebSocketFramer::FRAME);
		CPPUNIT_ASSERT(f.masked);
		CPPUNIT_ASSERT_EQUAL(std::string("Hello"), std::string(f.payload, f.length));
		CPPUNIT_ASSERT(framer.next(f) == WebSocketFramer::NEED_MORE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), framer.buffered());
		// appendMasked with that key writes the RFC's bytes.
		std::string out;
		const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
		std::uint32_t k;
		std::memcpy(&k, key, 4);
		WebSocketFramer::appendMasked(out, WebSocketFramer::TEXT, "Hello", 5, k);
		CPPUNIT_ASSERT(out == masked);
	}

	void testLengthForms()
	{
		// 125 in the first byte, 126 as 16 bits, 65536 as 64 bits.
		for (std::size_t length: {std::size_t(0), std::size_t(125), std::size_t(126), std::size_t(65535), std::size_t(65536), std::size_t(70000)})
		{
			std::string payload(length, 'p');
			std::string out;
			WebSocketFramer::append(out, WebSocketFramer::BINARY, payload.data(), payload.size(), true, false);
			const std::size_t header = length < 126 ? 2 : length <= 65535 ? 4 : 10;
			CPPUNIT_ASSERT_EQUAL(header + length, out.size());
			WebSocketFramer::Frame f;
			CPPUNIT_ASSERT_EQUAL(long(out.size()), WebSocketFramer::parse(out.data(), out.size(), f, 1 << 20));
			CPPUNIT_ASSERT_EQUAL(length, f.length);
			CPPUNIT_ASSERT_EQUAL(0L, WebSocketFramer::parse(out.data(), out.size() - 1, f, 1 << 20));
		}
	}

	void testMaskedRoundTrip()
	{
		// Masked by append() (a random key), unmasked by next(): every byte
		// value and a length that is not a multiple of 8.
		std::string payload;
		for (int i = 0; i < 1027; ++i) payload += static_cast<char>(i * 7);
		std::string out;
		WebSocketFramer::append(out, WebSocketFramer::BINARY, payload.data(), payload.size());
		CPPUNIT_ASSERT(static_cast<unsigned char>(out[1]) & 0x80);
		CPPUNIT_ASSERT(out.find(payload) == std::string::npos);
		WebSocketFramer framer;
		framer.feed(out.data(), out.size());
		WebSocketFramer::Frame f;
		CPPUNIT_ASSERT(framer.next(f) == WebSocketFramer::FRAME);
		CPPUNIT_ASSERT(f.masked);
		CPPUNIT_ASSERT(std::string(f.payload, f.length) == payload);
	}

	void testSplitInput()
	{
		std::string wire;
		WebSocketFramer::append(wire, WebSocketFramer::BINARY, "first", 5, false, false);
		WebSocketFramer::append(wire, WebSocketFramer::CONTINUATION, std::string(300, 'x').data(), 300, true, false);
		WebSocketFramer::append(wire, WebSocketFramer::PING, "p", 1, true, false);
		WebSocketFramer framer;
		std::vector<std::string> payloads;
		WebSocketFramer::Frame f;
		for (char c: wire)
		{
			framer.feed(&c, 1);
			while (framer.next(f) == WebSocketFramer::FRAME) payloads.emplace_back(f.payload, f.length);
		}
		CPPUNIT_ASSERT_EQUAL(std::size_t(3), payloads.size());
		CPPUNIT_ASSERT_EQUAL(std::string("first"), payloads[0]);
		CPPUNIT_ASSERT_EQUAL(std::string(300, 'x'), payloads[1]);
		CPPUNIT_ASSERT_EQUAL(std::string("p"), payloads[2]);
	}

	void testTooLarge()
	{
		// Known from the header alone, before the payload arrives.
		std::string header("\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x01", 10);
		WebSocketFramer framer(1 << 20);
		framer.feed(header.data(), header.size());
		WebSocketFramer::Frame f;
		CPPUNIT_ASSERT(framer.next(f) == WebSocketFramer::TOO_LARGE);
		CPPUNIT_ASSERT_EQUAL(-1L, WebSocketFramer::parse(header.data(), header.size(), f, 1 << 20));
	}

	void testFlagsAndClose()
	{
		std::string out;
		WebSocketFramer::append(out, 0x3, "", 0, false, false, 5);
		WebSocketFramer::Frame f;
		CPPUNIT_ASSERT_EQUAL(2L, WebSocketFramer::parse(out.data(), out.size(), f, 10));
		CPPUNIT_ASSERT(!f.fin);
		CPPUNIT_ASSERT_EQUAL(5u, f.rsv);
		CPPUNIT_ASSERT_EQUAL(3u, f.opcode);
		const std::string close = WebSocketFramer::closePayload(1002, "bad");
		CPPUNIT_ASSERT_EQUAL(std::string("\x03\xea" "bad", 5), close);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(WebSocketFramerTest);
