//
// EventLoop.cpp
//
// Layer: net
//

#include "server/net/EventLoop.h"
#include "server/metrics/ThreadSlot.h"
#include "server/net/Connection.h"
#include "server/net/ConnectionLimiter.h"
#include "Poco/Clock.h"
#include "Poco/Exception.h"
#include "Poco/Thread.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace imgate {
namespace net {

namespace {

constexpr int MAX_EVENTS = 256;
constexpr int MAX_READS_PER_EVENT = 4; // fairness between busy connections

Poco::Int64 monotonicMicros()
	/// For the busy-time metrics only: the timers follow the loop's Clock.
{
	return Poco::Clock().raw();
}

unsigned long currentThread()
{
	return static_cast<unsigned long>(Poco::Thread::currentTid());
}

int socketFd(const Connection& c)
{
	return c.socket().impl()->sockfd();
}

} // namespace


EventLoop::EventLoop(std::size_t index, const Clock& clock):
	_index(index),
	_epollFd(::epoll_create1(EPOLL_CLOEXEC)),
	_wakeFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
	_logger(Poco::Logger::get("imgate.net")),
	_clock(clock),
	_startMs(clock.milliseconds()),
	_pReadBuffer(new char[READ_BUFFER_SIZE])
{
	_spareOutputs.reserve(SPARE_OUTPUT_BUFFERS);
	if (_epollFd < 0 || _wakeFd < 0)
	{
		int err = errno;
		if (_epollFd >= 0) ::close(_epollFd);
		if (_wakeFd >= 0) ::close(_wakeFd);
		throw Poco::SystemException("cannot create event loop descriptors", std::strerror(err));
	}
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.ptr = nullptr; // null marks the wake descriptor
	::epoll_ctl(_epollFd, EPOLL_CTL_ADD, _wakeFd, &ev);
}


EventLoop::~EventLoop()
{
	forEach([this](Connection& c) { closeConnection(c); });
	reap();
	::close(_wakeFd);
	::close(_epollFd);
}


void EventLoop::setLimiter(ConnectionLimiter* pLimiter)
{
	_pLimiter = pLimiter;
}


void EventLoop::post(Task task)
{
	bool wasEmpty;
	{
		Poco::FastMutex::ScopedLock lock(_taskMutex);
		wasEmpty = _tasks.empty();
		_tasks.push_back(std::move(task));
	}
	if (wasEmpty)
	{
		Poco::UInt64 one = 1;
		ssize_t n = ::write(_wakeFd, &one, sizeof(one));
		(void) n; // EAGAIN means the counter is already non-zero: the loop wakes anyway.
	}
}


void EventLoop::stop()
{
	_stopped = true;
	Poco::UInt64 one = 1;
	ssize_t n = ::write(_wakeFd, &one, sizeof(one));
	(void) n;
}


bool EventLoop::inLoopThread() const
{
	return _threadId.load() == currentThread();
}


bool EventLoop::inLoopContext() const
{
	const unsigned long runner = _threadId.load();
	return runner == 0 || runner == currentThread();
}


Poco::UInt64 EventLoop::nextId()
{
	return (static_cast<Poco::UInt64>(_index + 1) << 48) | ++_idCounter;
}


void EventLoop::adopt(std::unique_ptr<Connection> pConnection)
{
	poco_assert_dbg(inLoopContext());
	Connection& c = *pConnection;
	epoll_event ev{};
	ev.events = EPOLLIN;
	ev.data.ptr = &c;
	if (::epoll_ctl(_epollFd, EPOLL_CTL_ADD, socketFd(c), &ev) != 0)
	{
		_logger.error("cannot watch socket: %s", std::string(std::strerror(errno)));
		if (_pLimiter) _pLimiter->release();
		return;
	}
	_connections.emplace(c.id(), std::move(pConnection));
	_connectionCount.fetch_add(1, std::memory_order_relaxed);
}


Connection* EventLoop::find(Poco::UInt64 id) const
{
	poco_assert_dbg(inLoopContext());
	auto it = _connections.find(id);
	return it == _connections.end() ? nullptr : it->second.get();
}


void EventLoop::run()
{
	_threadId = currentThread();
	metrics::ThreadSlot::assign(_index);
	while (!_stopped)
	{
		Poco::Int64 elapsed = _clock.milliseconds() - _startMs;
		if (!turn(static_cast<int>(TICK_MS - elapsed % TICK_MS))) break;
	}
	forEach([this](Connection& c) { closeConnection(c); });
	reap();
	_threadId = 0;
	Poco::FastMutex::ScopedLock lock(_taskMutex);
	_tasks.clear();
}


bool EventLoop::runTurn(int maxWaitMs)
{
	poco_assert (_threadId.load() == 0); // not while run() runs it
	// The calling thread is the loop thread for the turn, so that code
	// which runs inline on its own loop (inLoopThread()) does so here too.
	_threadId = currentThread();
	bool more = false;
	try
	{
		more = turn(maxWaitMs);
	}
	catch (...)
	{
		_threadId = 0;
		throw;
	}
	_threadId = 0;
	return more;
}


bool EventLoop::turn(int maxWaitMs)
{
	epoll_event events[MAX_EVENTS];
	int n = ::epoll_wait(_epollFd, events, MAX_EVENTS, maxWaitMs);
	if (n < 0 && errno != EINTR)
	{
		_logger.critical("epoll_wait failed: %s", std::string(std::strerror(errno)));
		return false;
	}
	// A turn's length is how long a ready socket may wait for this loop.
	const Poco::Int64 turnStart = monotonicMicros();
	for (int i = 0; i < n; ++i)
	{
		if (events[i].data.ptr == nullptr)
		{
			Poco::UInt64 value;
			ssize_t r = ::read(_wakeFd, &value, sizeof(value));
			(void) r;
			continue;
		}
		handleEvent(*static_cast<Connection*>(events[i].data.ptr), events[i].events);
	}
	runTasks();
	advanceTimers();
	flushDirty();
	reap();
	const Poco::Int64 busy = monotonicMicros() - turnStart;
	_counters.busyMicros.add(static_cast<Poco::UInt64>(busy));
	_counters.longestTurnMicros.raiseTo(busy);
	return true;
}


void EventLoop::handleEvent(Connection& c, Poco::UInt32 events)
{
	if (c._flags & Connection::CLOSED) return;
	if (events & EPOLLIN)
	{
		readFrom(c);
	}
	else if (events & (EPOLLERR | EPOLLHUP))
	{
		closeConnection(c);
		return;
	}
	if ((events & EPOLLOUT) && !(c._flags & Connection::CLOSED)) flush(c);
}


void EventLoop::readFrom(Connection& c)
{
	const int fd = socketFd(c);
	for (int i = 0; i < MAX_READS_PER_EVENT; ++i)
	{
		if (c.closing() || (c._flags & Connection::READ_PAUSED)) return;
		ssize_t n = ::recv(fd, _pReadBuffer.get(), READ_BUFFER_SIZE, 0);
		if (n > 0)
		{
			_counters.bytesIn.add(static_cast<Poco::UInt64>(n));
			try
			{
				c.onData(_pReadBuffer.get(), static_cast<std::size_t>(n));
			}
			catch (Poco::Exception& exc)
			{
				_logger.error("connection %Lu: %s", c.id(), exc.displayText());
				closeConnection(c);
				return;
			}
			catch (std::exception& exc)
			{
				_logger.error("connection %Lu: %s", c.id(), std::string(exc.what()));
				closeConnection(c);
				return;
			}
			if (static_cast<std::size_t>(n) < READ_BUFFER_SIZE) return;
		}
		else if (n == 0)
		{
			if (c.onEndOfInput())
			{
				closeConnection(c);
				return;
			}
			c._flags |= Connection::INPUT_ENDED;
			updateInterest(c);
			return;
		}
		else if (errno == EINTR)
		{
			--i;
		}
		else
		{
			if (errno != EAGAIN && errno != EWOULDBLOCK) closeConnection(c);
			return;
		}
	}
}


void EventLoop::markDirty(Connection& c)
{
	if (c._flags & Connection::DIRTY) return;
	c._flags |= Connection::DIRTY;
	_dirty.push_back(&c);
}


std::unique_ptr<std::string> EventLoop::takeOutputBuffer()
{
	if (_spareOutputs.empty()) return std::unique_ptr<std::string>(new std::string);
	std::unique_ptr<std::string> pBuffer = std::move(_spareOutputs.back());
	_spareOutputs.pop_back();
	return pBuffer;
}


void EventLoop::releaseOutput(Connection& c)
{
	c._outputSent = 0;
	if (c._pOutput) keepSpare(std::move(c._pOutput));
}


void EventLoop::keepSpare(std::unique_ptr<std::string> pBuffer)
{
	if (pBuffer && _spareOutputs.size() < SPARE_OUTPUT_BUFFERS && pBuffer->capacity() <= SPARE_OUTPUT_CAPACITY)
	{
		pBuffer->clear();
		_spareOutputs.push_back(std::move(pBuffer));
	}
}


void EventLoop::flush(Connection& c)
{
	if (c._flags & Connection::CLOSED) return;
	if (c._flags & Connection::TRANSFORMS)
	{
		try
		{
			c.encodeOutput();
		}
		catch (std::exception& exc)
		{
			_logger.error("connection %Lu: %s", c.id(), std::string(exc.what()));
			closeConnection(c);
			return;
		}
	}
	std::string* pOut = c._pOutput.get();
	if (pOut && pOut->size() > c._outputSent)
	{
		ssize_t n;
		do n = ::send(socketFd(c), pOut->data() + c._outputSent, pOut->size() - c._outputSent, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
		{
			if (errno != EAGAIN && errno != EWOULDBLOCK)
			{
				closeConnection(c);
				return;
			}
		}
		else
		{
			c._outputSent += static_cast<Poco::UInt32>(n);
			_counters.bytesOut.add(static_cast<Poco::UInt64>(n));
			if (c._outputSent == pOut->size()) releaseOutput(c);
			else if (c._outputSent >= pOut->size() / 2)
			{
				// Compact now and then, not on every partial send: erasing
				// the front each time would be quadratic for a slow reader.
				pOut->erase(0, c._outputSent);
				c._outputSent = 0;
			}
			if (n > 0) c.onWriteProgress();
		}
	}
	else releaseOutput(c);
	if (!c._pOutput && (c._flags & Connection::DRAINING) && !c.expectsOutput())
	{
		closeConnection(c);
		return;
	}
	updateInterest(c);
}


void EventLoop::updateInterest(Connection& c)
{
	if (c._flags & Connection::CLOSED) return;
	std::size_t pending = c.outputSize();
	Poco::UInt8 flags = c._flags;
	if (pending > 0) flags |= Connection::WANT_WRITE;
	else flags &= ~Connection::WANT_WRITE;
	if ((flags & (Connection::DRAINING | Connection::INPUT_ENDED)) || pending > Connection::HIGH_WATER) flags |= Connection::READ_PAUSED;
	else if (pending <= Connection::HIGH_WATER / 2) flags &= ~Connection::READ_PAUSED;
	const Poco::UInt8 mask = Connection::WANT_WRITE | Connection::READ_PAUSED;
	if ((flags & mask) == (c._flags & mask)) return;
	c._flags = flags;
	epoll_event ev{};
	ev.events = ((flags & Connection::READ_PAUSED) ? 0u : static_cast<Poco::UInt32>(EPOLLIN))
		| ((flags & Connection::WANT_WRITE) ? static_cast<Poco::UInt32>(EPOLLOUT) : 0u);
	ev.data.ptr = &c;
	if (::epoll_ctl(_epollFd, EPOLL_CTL_MOD, socketFd(c), &ev) != 0) closeConnection(c);
}


void EventLoop::closeConnection(Connection& c)
{
	if (c._flags & Connection::CLOSED) return;
	c._flags |= Connection::CLOSED;
	TimerWheel::cancel(c);
	::epoll_ctl(_epollFd, EPOLL_CTL_DEL, socketFd(c), nullptr);
	try
	{
		c.onClose();
	}
	catch (std::exception& exc)
	{
		_logger.error("connection %Lu: error while closing: %s", c.id(), std::string(exc.what()));
	}
	try
	{
		c._socket.close();
	}
	catch (Poco::Exception&)
	{
	}
	auto it = _connections.find(c.id());
	if (it != _connections.end())
	{
		_closed.push_back(std::move(it->second));
		_connections.erase(it);
		_connectionCount.fetch_sub(1, std::memory_order_relaxed);
		if (_pLimiter) _pLimiter->release();
	}
}


void EventLoop::runTasks()
{
	{
		Poco::FastMutex::ScopedLock lock(_taskMutex);
		if (_tasks.empty()) return;
		_running.swap(_tasks);
	}
	for (auto& task: _running)
	{
		try
		{
			task();
		}
		catch (std::exception& exc)
		{
			_logger.error("loop %z: task failed: %s", _index, std::string(exc.what()));
		}
	}
	_running.clear();
}


void EventLoop::advanceTimers()
{
	Poco::UInt32 now = static_cast<Poco::UInt32>((_clock.milliseconds() - _startMs) / TICK_MS);
	if (now == _tick) return;
	_tick = now;
	_timers.advance(now, [this](TimerWheel::Entry& entry)
	{
		Connection& c = static_cast<Connection&>(entry);
		if (c._flags & Connection::CLOSED) return;
		if (c._flags & Connection::DRAINING)
		{
			closeConnection(c); // linger expired: the peer does not read
			return;
		}
		try
		{
			c.onTimer();
		}
		catch (std::exception& exc)
		{
			_logger.error("connection %Lu: timer failed: %s", c.id(), std::string(exc.what()));
			closeConnection(c);
		}
	});
}


void EventLoop::flushDirty()
{
	// flush() may close connections but never adds to _dirty: the flag
	// stays set while it runs (an encodeOutput() that writes marks dirty).
	for (std::size_t i = 0; i < _dirty.size(); ++i)
	{
		Connection* pConnection = _dirty[i];
		flush(*pConnection);
		pConnection->_flags &= ~Connection::DIRTY;
	}
	_dirty.clear();
}


void EventLoop::reap()
{
	_closed.clear();
}

} } // namespace imgate::net
