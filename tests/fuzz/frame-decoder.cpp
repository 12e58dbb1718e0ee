//
// frame-decoder.cpp
//
// Fuzz target: protocol::FrameDecoder fed one byte stream in arbitrary
// chunks, three ways: whole in one feed (the reference), chunk by chunk
// into one decoder, and chunk by chunk with a new decoder per chunk over
// a partial-frame buffer the caller keeps (as a Session does). All three
// must yield the same frames and the same end, and each must hold the
// decoder's promises: bodies within the limit, errors final, a partial
// frame shorter than a whole one, every byte either in a frame or
// buffered, and no buffer kept when no partial frame is (an idle session
// holds none).
//
// Input: two bytes of maximum body size (big-endian), then chunks: a
// length byte L and L bytes each (L = 0, or more than is left: the rest).
//

#include "tests/fuzz/FuzzCheck.h"
#include "server/protocol/FrameDecoder.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using imgate::protocol::Frame;
using imgate::protocol::FrameDecoder;
using imgate::protocol::FrameHeader;
using imgate::protocol::Status;

namespace {

const imgate::fuzz::FuzzCheck require("frame-decoder");


struct Event
{
	FrameDecoder::Result result;
	Poco::UInt8 version;
	Poco::UInt8 flags;
	Poco::UInt16 cmd;
	Poco::UInt16 status;
	Poco::UInt32 seq;
	std::string body;

	bool operator == (const Event& other) const
	{
		return result == other.result && version == other.version && flags == other.flags && cmd == other.cmd
			&& status == other.status && seq == other.seq && body == other.body;
	}
};


struct Outcome
{
	std::vector<Event> events;      /// Frames, then the error if one ended the stream.
	std::size_t buffered = 0;       /// After the last chunk.
	std::size_t framedBytes = 0;    /// Header and body bytes of every frame.
};


void record(FrameDecoder& decoder, FrameDecoder::Result r, Poco::UInt32 maxBody, Outcome& out)
	/// Takes r and every further result of the current input.
{
	while (true)
	{
		if (r == FrameDecoder::NEED_MORE)
		{
			require(decoder.failure() == FrameDecoder::NEED_MORE, "NEED_MORE after an error");
			require(decoder.buffered() < FrameHeader::SIZE + maxBody, "a partial frame as long as a whole one");
			return;
		}
		if (r != FrameDecoder::FRAME)
		{
			require(decoder.failure() == r, "failure() differs from the error returned");
			require(decoder.errorStatus() != Status::OK, "an error without an error status");
			require(decoder.next() == r, "an error that is not final");
			require(decoder.buffered() == 0, "a failed decoder keeps a buffer");
			Event e{r, 0, 0, 0, 0, 0, std::string()};
			out.events.push_back(e);
			return;
		}
		const Frame& f = decoder.frame();
		require(f.bodyLength <= maxBody, "a body above the maximum");
		require(f.version == FrameHeader::VERSION, "a frame of another version");
		require(f.bodyLength == 0 || f.body != nullptr, "a body without bytes");
		Event e{r, f.version, f.flags, f.cmd, f.status, f.seq, std::string(f.body ? f.body : "", f.bodyLength)};
		out.events.push_back(e);
		out.framedBytes += FrameHeader::SIZE + f.bodyLength;
		r = decoder.next();
	}
}


bool failed(const Outcome& out)
{
	return !out.events.empty() && out.events.back().result != FrameDecoder::FRAME;
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	if (size < 2) return 0;
	const Poco::UInt32 maxBody = static_cast<Poco::UInt32>(data[0]) << 8 | data[1];
	std::vector<std::string> chunks;
	std::string stream;
	for (std::size_t at = 2; at < size;)
	{
		std::size_t length = data[at++];
		if (length == 0 || length > size - at) length = size - at;
		chunks.emplace_back(reinterpret_cast<const char*>(data + at), length);
		stream += chunks.back();
		at += length;
	}

	// Whole: one feed (a copy of exactly the stream, so ASan sees any read past it).
	Outcome whole;
	{
		FrameDecoder decoder(maxBody);
		const std::vector<char> input(stream.begin(), stream.end());
		record(decoder, decoder.feed(input.data(), input.size()), maxBody, whole);
		whole.buffered = decoder.buffered();
	}

	// Chunk by chunk, one decoder with its own buffer.
	Outcome own;
	{
		FrameDecoder decoder(maxBody);
		for (const std::string& chunk: chunks)
		{
			const std::vector<char> input(chunk.begin(), chunk.end());
			record(decoder, decoder.feed(input.data(), input.size()), maxBody, own);
			if (failed(own)) break;
		}
		own.buffered = decoder.buffered();
	}

	// Chunk by chunk, a decoder per chunk over the caller's buffer.
	Outcome borrowed;
	std::vector<char> partial;
	for (const std::string& chunk: chunks)
	{
		FrameDecoder decoder(maxBody, partial);
		const std::vector<char> input(chunk.begin(), chunk.end());
		record(decoder, decoder.feed(input.data(), input.size()), maxBody, borrowed);
		borrowed.buffered = decoder.buffered();
		require(decoder.buffered() == partial.size(), "buffered() is not the caller's buffer");
		if (partial.empty()) require(partial.capacity() == 0, "an empty partial-frame buffer still allocated");
		if (failed(borrowed)) break;
	}

	require(own.events == whole.events, "chunked decoding differs from whole");
	require(borrowed.events == whole.events, "a decoder per chunk differs from one decoder");
	if (!failed(whole))
	{
		require(own.buffered == whole.buffered && borrowed.buffered == whole.buffered, "different bytes left over");
		require(whole.framedBytes + whole.buffered == stream.size(), "bytes neither framed nor buffered");
	}
	return 0;
}
