//
// FrameDecoder.cpp
//
// Layer: protocol
//

#include "server/protocol/FrameDecoder.h"
#include <algorithm>

namespace imgate {
namespace protocol {

FrameDecoder::FrameDecoder(Poco::UInt32 maxBodySize):
	_partial(_ownPartial),
	_maxBodySize(maxBodySize)
{
}


FrameDecoder::FrameDecoder(Poco::UInt32 maxBodySize, std::vector<char>& partial):
	_partial(partial),
	_maxBodySize(maxBodySize)
{
}


FrameDecoder::Result FrameDecoder::feed(const char* data, std::size_t length)
{
	_pInput = data;
	_inputLength = length;
	return next();
}


FrameDecoder::Result FrameDecoder::next()
{
	if (_failure != NEED_MORE) return _failure;
	if (_releasePartial)
	{
		// The last frame was served from _partial; free it so an idle
		// session keeps no buffer.
		std::vector<char>().swap(_partial);
		_releasePartial = false;
	}

	if (_partial.empty())
	{
		if (_inputLength >= FrameHeader::SIZE)
		{
			FrameHeader header = FrameHeader::read(_pInput);
			Result r = check(header);
			if (r != FRAME) return r;
			std::size_t total = FrameHeader::SIZE + header.bodyLength;
			if (_inputLength >= total)
			{
				makeFrame(header, _pInput + FrameHeader::SIZE);
				_pInput += total;
				_inputLength -= total;
				return FRAME;
			}
		}
		if (_inputLength == 0) return NEED_MORE;
		// A partial frame: keep what arrived. Memory grows with the bytes
		// received, not with what a header announces (17 bytes must not
		// make an unauthenticated peer cost 64 KiB).
		_partial.assign(_pInput, _pInput + _inputLength);
		_inputLength = 0;
		return NEED_MORE;
	}

	// Continue the partial frame: complete the header first.
	if (_partial.size() < FrameHeader::SIZE)
	{
		std::size_t n = std::min(FrameHeader::SIZE - _partial.size(), _inputLength);
		_partial.insert(_partial.end(), _pInput, _pInput + n);
		_pInput += n;
		_inputLength -= n;
		if (_partial.size() < FrameHeader::SIZE) return NEED_MORE;
	}
	FrameHeader header = FrameHeader::read(_partial.data());
	Result r = check(header);
	if (r != FRAME) return r;
	std::size_t total = FrameHeader::SIZE + header.bodyLength;
	std::size_t n = std::min(total - _partial.size(), _inputLength);
	_partial.insert(_partial.end(), _pInput, _pInput + n);
	_pInput += n;
	_inputLength -= n;
	if (_partial.size() < total) return NEED_MORE;
	makeFrame(header, _partial.data() + FrameHeader::SIZE);
	_releasePartial = true;
	return FRAME;
}


FrameDecoder::Result FrameDecoder::check(const FrameHeader& header)
{
	if (header.magic != FrameHeader::MAGIC) _failure = BAD_MAGIC;
	else if (header.version != FrameHeader::VERSION) _failure = BAD_VERSION;
	else if (header.bodyLength > _maxBodySize) _failure = TOO_LARGE;
	else return FRAME;
	_inputLength = 0;
	std::vector<char>().swap(_partial);
	return _failure;
}


void FrameDecoder::makeFrame(const FrameHeader& header, const char* body)
{
	_frame.version = header.version;
	_frame.flags = header.flags;
	_frame.cmd = header.cmd;
	_frame.status = header.status;
	_frame.seq = header.seq;
	_frame.body = body;
	_frame.bodyLength = header.bodyLength;
}


Status FrameDecoder::errorStatus() const
{
	switch (_failure)
	{
	case BAD_VERSION: return Status::UNSUPPORTED_VERSION;
	case TOO_LARGE:   return Status::FRAME_TOO_LARGE;
	case BAD_MAGIC:   return Status::BAD_REQUEST;
	default:          return Status::OK;
	}
}

} } // namespace imgate::protocol
