//
// FrameDecoder.h
//
// Layer: protocol
// Splits a byte stream into frames: reassembles split frames, yields
// pipelined ones in order, refuses oversize bodies before buffering them.
//

#ifndef imgate_protocol_FrameDecoder_INCLUDED
#define imgate_protocol_FrameDecoder_INCLUDED

#include "server/protocol/FrameHeader.h"
#include "server/protocol/Status.h"
#include <vector>

namespace imgate {
namespace protocol {

struct Frame
	/// A decoded frame. body points into the caller's input or into the
	/// decoder's own buffer and is valid until the next call to the decoder.
{
	Poco::UInt8 version = 0;
	Poco::UInt8 flags = 0;
	Poco::UInt16 cmd = 0;
	Poco::UInt16 status = 0;
	Poco::UInt32 seq = 0;
	const char* body = nullptr;
	std::size_t bodyLength = 0;
};


class FrameDecoder
	/// Incremental decoder for one connection. Not thread-safe; owned by
	/// the session, used on its loop only.
	///
	/// Usage: feed() a chunk of input, then call next() until it returns
	/// NEED_MORE or an error. Input is read in place (no copy) as long as
	/// frames are whole; only the trailing partial frame is copied, so an
	/// idle decoder holds no buffer.
	///
	/// Errors are final: the stream cannot be resynchronised, the
	/// connection must answer ERROR with errorStatus() and close.
{
public:
	enum Result
	{
		NEED_MORE,   /// All input consumed; a partial frame may be kept.
		FRAME,       /// frame() holds the next frame.
		BAD_MAGIC,   /// Header magic is not 0x494D.
		BAD_VERSION, /// Header version is not 1.
		TOO_LARGE    /// body_len is above the maximum; the body was not read.
	};

	explicit FrameDecoder(Poco::UInt32 maxBodySize);
		/// Bodies above maxBodySize bytes are refused with TOO_LARGE. The
		/// decoder keeps partial frames in a buffer of its own.

	FrameDecoder(Poco::UInt32 maxBodySize, std::vector<char>& partial);
		/// Keeps partial frames in the caller's buffer instead: a server
		/// session holds only that buffer between reads and makes a decoder
		/// on the stack for each read. Consume the input (next() until
		/// NEED_MORE) before the decoder goes; after an error the caller
		/// closes the connection.

	FrameDecoder(const FrameDecoder&) = delete;
	FrameDecoder& operator = (const FrameDecoder&) = delete;

	Result feed(const char* data, std::size_t length);
		/// Takes the next chunk of input (borrowed until next() returns
		/// NEED_MORE) and returns the first result, as next() does.
		/// The previous input must have been consumed.

	Result next();
		/// Returns the next frame of the current input, NEED_MORE when the
		/// input is exhausted, or an error (then the decoder stays failed).

	const Frame& frame() const;
		/// The frame of the last FRAME result.

	Status errorStatus() const;
		/// The status to report for the last error result.

	std::size_t buffered() const;
		/// Bytes of a partial frame held between feeds.

	Result failure() const;
		/// The error result this decoder failed with, or NEED_MORE if none.

private:
	Result check(const FrameHeader& header);
	void makeFrame(const FrameHeader& header, const char* body);

	const char* _pInput = nullptr;
	std::size_t _inputLength = 0;
	std::vector<char> _ownPartial;
	std::vector<char>& _partial;
	Frame _frame;
	Poco::UInt32 _maxBodySize;
	Result _failure = NEED_MORE;
	bool _releasePartial = false;
};


inline const Frame& FrameDecoder::frame() const
{
	return _frame;
}


inline std::size_t FrameDecoder::buffered() const
{
	return _releasePartial ? 0 : _partial.size();
}


inline FrameDecoder::Result FrameDecoder::failure() const
{
	return _failure;
}

} } // namespace imgate::protocol

#endif // imgate_protocol_FrameDecoder_INCLUDED
