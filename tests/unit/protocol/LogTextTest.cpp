//
// LogTextTest.cpp
//
// Client-chosen text in log lines: quoted, escaped, never able to forge a
// field or reorder the line.
//

#include "server/protocol/LogText.h"
#include <cppunit/extensions/HelperMacros.h>

using imgate::protocol::escaped;
using imgate::protocol::quoted;
using imgate::protocol::validUtf8;

class LogTextTest: public CppUnit::TestFixture
{
	CPPUNIT_TEST_SUITE(LogTextTest);
	CPPUNIT_TEST(testFieldsCannotBeForged);
	CPPUNIT_TEST(testQuotesAndBackslashes);
	CPPUNIT_TEST(testControlBytes);
	CPPUNIT_TEST(testFormatCharacters);
	CPPUNIT_TEST(testInvalidUtf8);
	CPPUNIT_TEST(testReadableTextKept);
	CPPUNIT_TEST(testLongTextCut);
	CPPUNIT_TEST(testEscapedHasNoQuotes);
	CPPUNIT_TEST(testValidUtf8);
	CPPUNIT_TEST_SUITE_END();

public:
	void testFieldsCannotBeForged()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("\"phone session=0 uid=root peer=10.0.0.1:1\""),
			quoted("phone session=0 uid=root peer=10.0.0.1:1"));
		CPPUNIT_ASSERT_EQUAL(std::string("\"\""), quoted(""));
	}

	void testQuotesAndBackslashes()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("\"a\\\" uid=root \\\"b\""), quoted("a\" uid=root \"b"));
		CPPUNIT_ASSERT_EQUAL(std::string("\"c:\\\\x\""), quoted("c:\\x"));
	}

	void testControlBytes()
	{
		static const char forged[] = "a\n2026-12-03 fake line\r\0\x7f";
		CPPUNIT_ASSERT_EQUAL(std::string("\"a\\x0A2026-12-03 fake line\\x0D\\x00\\x7F\""),
			quoted(std::string(forged, sizeof(forged) - 1)));
		CPPUNIT_ASSERT_EQUAL(std::string("\"\\x1B[31mred\""), quoted("\x1b[31mred"));
	}

	void testFormatCharacters()
	{
		// U+202E right-to-left override, U+FEFF, U+200B, U+2066, U+2028, U+0085 (C1).
		CPPUNIT_ASSERT_EQUAL(std::string("\"abc\\u{202E}fed\""), quoted("abc\xE2\x80\xAE" "fed"));
		CPPUNIT_ASSERT_EQUAL(std::string("\"\\u{FEFF}x\\u{200B}y\\u{2066}z\\u{2028}\\u{0085}\""),
			quoted("\xEF\xBB\xBFx\xE2\x80\x8By\xE2\x81\xA6z\xE2\x80\xA8\xC2\x85"));
	}

	void testInvalidUtf8()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("\"\\xFF\\xC0\\xAF\\xED\\xA0\\x80\\xE2\\x80\""),
			quoted("\xFF\xC0\xAF\xED\xA0\x80\xE2\x80")); // stray, overlong '/', surrogate, truncated
	}

	void testReadableTextKept()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("\"h\xC3\xA9llo \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x93\xB1\""),
			quoted("h\xC3\xA9llo \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x93\xB1"));
	}

	void testLongTextCut()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("\"abcd\"..."), quoted("abcdefgh", 4));
		// A character cut in the middle shows as bytes, never half a character.
		CPPUNIT_ASSERT_EQUAL(std::string("\"ab\\xC3\"..."), quoted("ab\xC3\xA9z", 3));
		CPPUNIT_ASSERT_EQUAL(std::string("\"abcd\""), quoted("abcd", 4));
	}

	void testEscapedHasNoQuotes()
	{
		CPPUNIT_ASSERT_EQUAL(std::string("/v1/a\\\\\\\"b\\x0A\\xFF"), escaped("/v1/a\\\"b\n\xFF"));
		CPPUNIT_ASSERT_EQUAL(std::string("abc..."), escaped("abcdef", 3));
		CPPUNIT_ASSERT_EQUAL(std::string("abc"), escaped("abc", 3));
	}

	void testValidUtf8()
	{
		// Well-formed text, quotes and control characters are left alone
		// (JSON escapes those itself); only broken bytes are replaced.
		const std::string fine = "h\xC3\xA9llo \"x\"\n \xF0\x9F\x93\xB1";
		CPPUNIT_ASSERT_EQUAL(fine, validUtf8(fine));
		CPPUNIT_ASSERT_EQUAL(std::string("a\\xFFb\\xC0\\xAF\\xED\\xA0\\x80\\xE2\\x80"),
			validUtf8("a\xFF" "b\xC0\xAF\xED\xA0\x80\xE2\x80"));
	}
};

CPPUNIT_TEST_SUITE_REGISTRATION(LogTextTest);
