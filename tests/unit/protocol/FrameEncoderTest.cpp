//
// FrameEncoderTest.cpp
//

#include "server/protocol/FrameEncoder.h"
#include "server/protocol/FrameHeader.h"
#include "imgate/v1/imgate.pb.h"
#include <cppunit/extensions/HelperMacros.h>

using namespace imgate::protocol;

class FrameEncoderTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(FrameEncoderTest);
	CPPUNIT_TEST(testHeaderBytesAreBigEndian);
	CPPUNIT_TEST(testBodyIsSerializedMessage);
	CPPUNIT_TEST(testAppendKeepsEarlierFrames);
	CPPUNIT_TEST(testHeaderRoundTrip);
	CPPUNIT_TEST(testNames);
	CPPUNIT_TEST_SUITE_END();

public:
	void testHeaderBytesAreBigEndian()
	{
		imgate::v1::Error e;
		e.set_message("x");
		std::string wire = FrameEncoder::encode(Command::ERROR, Status::FRAME_TOO_LARGE, 0x01020304, e);
		const unsigned char expected[] = {0x49, 0x4D, 1, 0, 0x00, 0xFF, 0x00, 0x04, 1, 2, 3, 4, 0, 0, 0, 3};
		CPPUNIT_ASSERT_EQUAL(std::size_t(16 + 3), wire.size());
		for (std::size_t i = 0; i < 16; ++i)
			CPPUNIT_ASSERT_EQUAL(static_cast<int>(expected[i]), static_cast<int>(static_cast<unsigned char>(wire[i])));
	}

	void testBodyIsSerializedMessage()
	{
		imgate::v1::MessageDeliver d;
		d.set_msg_id(77);
		d.set_from_uid("alice");
		d.set_payload(std::string("\0bin\xff", 5));
		std::string wire = FrameEncoder::encode(Command::MSG_DELIVER, Status::OK, 0, d);
		imgate::v1::MessageDeliver back;
		CPPUNIT_ASSERT(back.ParseFromString(wire.substr(16)));
		CPPUNIT_ASSERT_EQUAL(Poco::UInt64(77), static_cast<Poco::UInt64>(back.msg_id()));
		CPPUNIT_ASSERT_EQUAL(std::string("alice"), back.from_uid());
		CPPUNIT_ASSERT_EQUAL(std::string("\0bin\xff", 5), back.payload());
	}

	void testAppendKeepsEarlierFrames()
	{
		std::string out = "prefix";
		FrameEncoder::append(out, Command::HEARTBEAT_RESP, Status::OK, 5);
		CPPUNIT_ASSERT_EQUAL(std::size_t(6 + 16), out.size());
		CPPUNIT_ASSERT_EQUAL(std::string("prefix"), out.substr(0, 6));
		FrameHeader h = FrameHeader::read(out.data() + 6);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0x0004), h.cmd);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(5), h.seq);
	}

	void testHeaderRoundTrip()
	{
		FrameHeader h;
		h.flags = 0xA5;
		h.cmd = 0xBEEF;
		h.status = 0x1234;
		h.seq = 0xFFFFFFFF;
		h.bodyLength = 0x80000001;
		char wire[16];
		h.write(wire);
		FrameHeader back = FrameHeader::read(wire);
		CPPUNIT_ASSERT_EQUAL(FrameHeader::MAGIC, back.magic);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt8(0xA5), back.flags);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0xBEEF), back.cmd);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt16(0x1234), back.status);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0xFFFFFFFF), back.seq);
		CPPUNIT_ASSERT_EQUAL(Poco::UInt32(0x80000001), back.bodyLength);
	}

	void testNames()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("MSG_DELIVER_ACK"), std::string(commandName(0x0013)));
		CPPUNIT_ASSERT_EQUAL(std::string("UNKNOWN"), std::string(commandName(0x0099)));
		CPPUNIT_ASSERT_EQUAL(std::string("SHUTTING_DOWN"), std::string(statusName(Status::SHUTTING_DOWN)));
		CPPUNIT_ASSERT_EQUAL(std::string("UNKNOWN"), std::string(statusName(Poco::UInt16(99))));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(FrameEncoderTest);
