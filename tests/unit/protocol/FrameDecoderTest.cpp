//
// FrameDecoderTest.cpp
//

#include "server/protocol/FrameDecoder.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate::protocol;

class FrameDecoderTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(FrameDecoderTest);
	CPPUNIT_TEST(testWholeFrame);
	CPPUNIT_TEST(testSplitByteByByte);
	CPPUNIT_TEST(testPipelined);
	CPPUNIT_TEST(testPipelinedSplitAcrossBoundary);
	CPPUNIT_TEST(testOversizeRefusedFromHeaderAlone);
	CPPUNIT_TEST(testMaximumSizeAccepted);
	CPPUNIT_TEST(testBadMagic);
	CPPUNIT_TEST(testBadVersion);
	CPPUNIT_TEST(testFailureIsFinal);
	CPPUNIT_TEST(testFlagsPassThrough);
	CPPUNIT_TEST(testPartialBufferReleased);
	CPPUNIT_TEST(testEmptyBody);
	CPPUNIT_TEST_SUITE_END();

public:
	static std::string heartbeat(Poco::UInt32 seq)
	{
		std::string out;
		FrameEncoder::append(out, Command::HEARTBEAT, Status::OK, seq);
		return out;
	}

	static std::string send(Poco::UInt32 seq, const std::string& payload)
	{
		imgate::v1::MessageSend m;
		m.set_to_uid("bob");
		m.set_client_msg_id(seq);
		m.set_payload(payload);
		return FrameEncoder::encode(Command::MSG_SEND, Status::OK, seq, m);
	}

	void testWholeFrame()
	{
		FrameDecoder decoder(65536);
		std::string wire = send(9, "hello");
		CPPUNIT_ASSERT(decoder.feed(wire.data(), wire.size()) == FrameDecoder::FRAME);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0x0010), decoder.frame().cmd);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(9), decoder.frame().seq);
		imgate::v1::MessageSend m;
		CPPUNIT_ASSERT(m.ParseFromArray(decoder.frame().body, static_cast<int>(decoder.frame().bodyLength)));
		CPPUNIT_ASSERT_EQUAL(std::string("hello"), m.payload());
		CPPUNIT_ASSERT(decoder.next() == FrameDecoder::NEED_MORE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), decoder.buffered());
	}

	void testSplitByteByByte()
	{
		FrameDecoder decoder(65536);
		std::string wire = send(7, "split me");
		for (std::size_t i = 0; i + 1 < wire.size(); ++i)
			CPPUNIT_ASSERT(decoder.feed(&wire[i], 1) == FrameDecoder::NEED_MORE);
		CPPUNIT_ASSERT(decoder.feed(&wire.back(), 1) == FrameDecoder::FRAME);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(7), decoder.frame().seq);
		imgate::v1::MessageSend m;
		CPPUNIT_ASSERT(m.ParseFromArray(decoder.frame().body, static_cast<int>(decoder.frame().bodyLength)));
		CPPUNIT_ASSERT_EQUAL(std::string("split me"), m.payload());
	}

	void testPipelined()
	{
		FrameDecoder decoder(65536);
		std::string wire;
		for (Poco::UInt32 seq = 1; seq <= 100; ++seq) wire += (seq % 2) ? heartbeat(seq) : send(seq, std::string(seq, 'x'));
		Poco::UInt32 expected = 1;
		FrameDecoder::Result r = decoder.feed(wire.data(), wire.size());
		while (r == FrameDecoder::FRAME)
		{
			CPPUNIT_ASSERT_EQUAL(expected, decoder.frame().seq);
			++expected;
			r = decoder.next();
		}
		CPPUNIT_ASSERT(r == FrameDecoder::NEED_MORE);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(101), expected);
	}

	void testPipelinedSplitAcrossBoundary()
	{
		// Every way of cutting three frames in two chunks yields the three frames in order.
		std::string wire = send(1, "one") + heartbeat(2) + send(3, "three");
		for (std::size_t cut = 0; cut <= wire.size(); ++cut)
		{
			FrameDecoder decoder(65536);
			std::vector<Poco::UInt32> seqs;
			FrameDecoder::Result r = decoder.feed(wire.data(), cut);
			while (r == FrameDecoder::FRAME) { seqs.push_back(decoder.frame().seq); r = decoder.next(); }
			CPPUNIT_ASSERT(r == FrameDecoder::NEED_MORE);
			r = decoder.feed(wire.data() + cut, wire.size() - cut);
			while (r == FrameDecoder::FRAME) { seqs.push_back(decoder.frame().seq); r = decoder.next(); }
			CPPUNIT_ASSERT(r == FrameDecoder::NEED_MORE);
			CPPUNIT_ASSERT_EQUAL(std::size_t(3), seqs.size());
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(1), seqs[0]);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(2), seqs[1]);
			CPPUNIT_ASSERT_EQUAL(Poco::UInt32(3), seqs[2]);
		}
	}

	void testOversizeRefusedFromHeaderAlone()
	{
		FrameDecoder decoder(1024);
		std::string header;
		FrameEncoder::appendRaw(header, 0x0010, 0, 5, nullptr, 0);
		// Claim a 1 GiB body: refused on the header alone, nothing reserved.
		header[12] = 0x40; header[13] = 0; header[14] = 0; header[15] = 0;
		CPPUNIT_ASSERT(decoder.feed(header.data(), header.size()) == FrameDecoder::TOO_LARGE);
		CPPUNIT_ASSERT(decoder.errorStatus() == Status::FRAME_TOO_LARGE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), decoder.buffered());

		FrameDecoder split(1024);
		CPPUNIT_ASSERT(split.feed(header.data(), 10) == FrameDecoder::NEED_MORE);
		CPPUNIT_ASSERT(split.feed(header.data() + 10, 6) == FrameDecoder::TOO_LARGE);
	}

	void testMaximumSizeAccepted()
	{
		FrameDecoder decoder(1024);
		std::string body(1024, 'b');
		std::string wire;
		FrameEncoder::appendRaw(wire, 0x0003, 0, 1, body.data(), body.size());
		CPPUNIT_ASSERT(decoder.feed(wire.data(), wire.size()) == FrameDecoder::FRAME);
		CPPUNIT_ASSERT_EQUAL(std::size_t(1024), decoder.frame().bodyLength);
		std::string over;
		std::string body2(1025, 'b');
		FrameEncoder::appendRaw(over, 0x0003, 0, 2, body2.data(), body2.size());
		CPPUNIT_ASSERT(decoder.feed(over.data(), over.size()) == FrameDecoder::TOO_LARGE);
	}

	void testBadMagic()
	{
		FrameDecoder decoder(65536);
		std::string wire = heartbeat(1);
		wire[0] = 'X';
		CPPUNIT_ASSERT(decoder.feed(wire.data(), wire.size()) == FrameDecoder::BAD_MAGIC);
		CPPUNIT_ASSERT(decoder.errorStatus() == Status::BAD_REQUEST);
		std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
		FrameDecoder d2(65536);
		CPPUNIT_ASSERT(d2.feed(http.data(), http.size()) == FrameDecoder::BAD_MAGIC);
	}

	void testBadVersion()
	{
		FrameDecoder decoder(65536);
		std::string wire;
		FrameEncoder::appendRaw(wire, 0x0003, 0, 1, nullptr, 0, 0, 2);
		CPPUNIT_ASSERT(decoder.feed(wire.data(), wire.size()) == FrameDecoder::BAD_VERSION);
		CPPUNIT_ASSERT(decoder.errorStatus() == Status::UNSUPPORTED_VERSION);
	}

	void testFailureIsFinal()
	{
		FrameDecoder decoder(65536);
		std::string bad = heartbeat(1);
		bad[1] = 0;
		CPPUNIT_ASSERT(decoder.feed(bad.data(), bad.size()) == FrameDecoder::BAD_MAGIC);
		std::string good = heartbeat(2);
		CPPUNIT_ASSERT(decoder.feed(good.data(), good.size()) == FrameDecoder::BAD_MAGIC);
		CPPUNIT_ASSERT(decoder.failure() == FrameDecoder::BAD_MAGIC);
	}

	void testFlagsPassThrough()
	{
		// Flags are the session's to judge (BAD_REQUEST, connection stays open).
		FrameDecoder decoder(65536);
		std::string wire;
		FrameEncoder::appendRaw(wire, 0x0003, 0, 4, nullptr, 0, 0x80);
		CPPUNIT_ASSERT(decoder.feed(wire.data(), wire.size()) == FrameDecoder::FRAME);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt8(0x80), decoder.frame().flags);
	}

	void testPartialBufferReleased()
	{
		FrameDecoder decoder(65536);
		std::string wire = send(3, std::string(5000, 'p'));
		CPPUNIT_ASSERT(decoder.feed(wire.data(), 100) == FrameDecoder::NEED_MORE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(100), decoder.buffered());
		CPPUNIT_ASSERT(decoder.feed(wire.data() + 100, wire.size() - 100) == FrameDecoder::FRAME);
		CPPUNIT_ASSERT(decoder.next() == FrameDecoder::NEED_MORE);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), decoder.buffered());
	}

	void testEmptyBody()
	{
		FrameDecoder decoder(65536);
		std::string wire = heartbeat(42);
		CPPUNIT_ASSERT_EQUAL(std::size_t(16), wire.size());
		CPPUNIT_ASSERT(decoder.feed(wire.data(), wire.size()) == FrameDecoder::FRAME);
		CPPUNIT_ASSERT_EQUAL(std::size_t(0), decoder.frame().bodyLength);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(42), decoder.frame().seq);
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(FrameDecoderTest);
