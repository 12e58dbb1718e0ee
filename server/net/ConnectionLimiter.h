//
// ConnectionLimiter.h
//
// Layer: net
// Counts open connections against a maximum; acquired at accept time,
// released by the loop that closes the connection.
//

#ifndef imgate_net_ConnectionLimiter_INCLUDED
#define imgate_net_ConnectionLimiter_INCLUDED

#include <atomic>
#include <cstddef>

namespace imgate {
namespace net {

class ConnectionLimiter
	/// Thread-safe.
{
public:
	explicit ConnectionLimiter(std::size_t maximum);

	bool tryAcquire();
		/// Takes one unit if fewer than maximum are taken.

	void release();

	std::size_t count() const;
	std::size_t maximum() const;

private:
	std::atomic<std::size_t> _count{0};
	const std::size_t _maximum;
};


inline ConnectionLimiter::ConnectionLimiter(std::size_t maximum):
	_maximum(maximum)
{
}


inline bool ConnectionLimiter::tryAcquire()
{
	std::size_t current = _count.load(std::memory_order_relaxed);
	do
	{
		if (current >= _maximum) return false;
	}
	while (!_count.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
	return true;
}


inline void ConnectionLimiter::release()
{
	_count.fetch_sub(1, std::memory_order_relaxed);
}


inline std::size_t ConnectionLimiter::count() const
{
	return _count.load(std::memory_order_relaxed);
}


inline std::size_t ConnectionLimiter::maximum() const
{
	return _maximum;
}

} } // namespace imgate::net

#endif // imgate_net_ConnectionLimiter_INCLUDED
