//
// Connection.cpp
//
// Layer: net
//

#include "server/net/Connection.h"
#include "server/net/EventLoop.h"
#include "Poco/Bugcheck.h"

namespace imgate {
namespace net {

Connection::Connection(EventLoop& loop, const Poco::Net::StreamSocket& socket):
	_loop(loop),
	_socket(socket),
	_id(loop.nextId())
{
}


Connection::~Connection()
{
}


std::string& Connection::output()
{
	poco_assert_dbg(_loop.inLoopContext());
	if (_flags & TRANSFORMS)
	{
		_loop.markDirty(*this);
		return plainOutput();
	}
	return wireOutput();
}


std::string& Connection::wireOutput()
{
	poco_assert_dbg(_loop.inLoopContext());
	if (!_pOutput) _pOutput = _loop.takeOutputBuffer();
	_loop.markDirty(*this);
	return *_pOutput;
}


std::unique_ptr<std::string> Connection::takeSpareBuffer()
{
	return _loop.takeOutputBuffer();
}


void Connection::giveSpareBuffer(std::unique_ptr<std::string> pBuffer)
{
	_loop.keepSpare(std::move(pBuffer));
}


void Connection::setTransforming()
{
	_flags |= TRANSFORMS;
}


std::string& Connection::plainOutput()
{
	poco_bugcheck_msg("plainOutput() of a connection that does not transform");
	return wireOutput();
}


void Connection::encodeOutput()
{
}


void Connection::onWriteProgress()
{
}


bool Connection::onEndOfInput()
{
	return true;
}


bool Connection::expectsOutput() const
{
	return false;
}


void Connection::close()
{
	poco_assert_dbg(_loop.inLoopContext());
	_loop.closeConnection(*this);
}


void Connection::closeAfterFlush(Poco::UInt32 lingerTicks)
{
	poco_assert_dbg(_loop.inLoopContext());
	if (closing()) return;
	_flags |= DRAINING;
	_loop.timers().schedule(*this, _loop.tick() + lingerTicks);
	_loop.markDirty(*this);
	_loop.updateInterest(*this);
}

} } // namespace imgate::net
