//
// LoopPool.h
//
// Layer: net
// The server's event loops, one thread each, handed out round-robin.
//

#ifndef imgate_net_LoopPool_INCLUDED
#define imgate_net_LoopPool_INCLUDED

#include "server/net/EventLoop.h"
#include "server/net/ConnectionLimiter.h"
#include "Poco/Thread.h"
#include <atomic>
#include <memory>
#include <vector>

namespace imgate {
namespace net {

class LoopPool
	/// Owns the loops and their threads. start() and stop() from the main
	/// thread; next(), loop() and size() from any thread once started.
{
public:
	LoopPool(std::size_t count, std::size_t maxConnections, const Clock& clock = Clock::monotonic());
		/// Creates count loops (not yet running) sharing one limiter, their
		/// ticks following clock (which must outlive them).

	~LoopPool();
		/// Stops and joins the threads if still running.

	void start();
		/// Starts one thread per loop ("imgate-loop-N").

	void stop();
		/// Stops every loop (closing its connections) and joins the threads.

	EventLoop& next();
		/// The next loop, round-robin.

	EventLoop& loop(std::size_t index);
	std::size_t size() const;

	ConnectionLimiter& limiter();

	std::size_t connectionCount() const;
		/// Open connections over all loops.

	bool inAnyLoopThread() const;
		/// True on the thread of one of the loops: for "any thread but a
		/// loop's" asserts (a loop must never wait for the loops).

private:
	ConnectionLimiter _limiter;
	std::vector<std::unique_ptr<EventLoop>> _loops;
	std::vector<std::unique_ptr<Poco::Thread>> _threads;
	std::atomic<std::size_t> _next{0};
};


inline EventLoop& LoopPool::loop(std::size_t index)
{
	return *_loops[index];
}


inline std::size_t LoopPool::size() const
{
	return _loops.size();
}


inline ConnectionLimiter& LoopPool::limiter()
{
	return _limiter;
}

} } // namespace imgate::net

#endif // imgate_net_LoopPool_INCLUDED
