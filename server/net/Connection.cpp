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
	if (!_pOutput) _pOutput = _loop.takeOutputBuffer();
	_loop.markDirty(*this);
	return *_pOutput;
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
