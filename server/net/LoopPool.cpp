//
// LoopPool.cpp
//
// Layer: net
//

#include "server/net/LoopPool.h"

namespace imgate {
namespace net {

LoopPool::LoopPool(std::size_t count, std::size_t maxConnections, const Clock& clock):
	_limiter(maxConnections)
{
	for (std::size_t i = 0; i < count; ++i)
	{
		_loops.emplace_back(new EventLoop(i, clock));
		_loops.back()->setLimiter(&_limiter);
	}
}


LoopPool::~LoopPool()
{
	stop();
}


void LoopPool::start()
{
	for (std::size_t i = 0; i < _loops.size(); ++i)
	{
		_threads.emplace_back(new Poco::Thread("imgate-loop-" + std::to_string(i)));
		_threads.back()->start(*_loops[i]);
	}
}


void LoopPool::stop()
{
	for (auto& pLoop: _loops) pLoop->stop();
	for (auto& pThread: _threads) pThread->join();
	_threads.clear();
}


EventLoop& LoopPool::next()
{
	return *_loops[_next.fetch_add(1, std::memory_order_relaxed) % _loops.size()];
}


bool LoopPool::inAnyLoopThread() const
{
	for (const auto& pLoop: _loops)
	{
		if (pLoop->inLoopThread()) return true;
	}
	return false;
}


std::size_t LoopPool::connectionCount() const
{
	std::size_t n = 0;
	for (auto& pLoop: _loops) n += pLoop->connectionCount();
	return n;
}

} } // namespace imgate::net
