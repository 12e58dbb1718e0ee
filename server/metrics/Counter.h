//
// Counter.h
//
// Layer: metrics
// The two cheap instruments of the hot path: a monotonic Counter and a
// Gauge. Both are one relaxed atomic: no lock, and a thread that owns its
// instruments (an event loop's LoopCounters) never shares a cache line
// with another writer.
//

#ifndef imgate_metrics_Counter_INCLUDED
#define imgate_metrics_Counter_INCLUDED

#include "Poco/Types.h"
#include <atomic>

namespace imgate {
namespace metrics {

class Counter
	/// Only grows. Any thread; a scrape reads it while writers add.
{
public:
	void add(Poco::UInt64 n = 1)
	{
		_value.fetch_add(n, std::memory_order_relaxed);
	}

	Poco::UInt64 value() const
	{
		return _value.load(std::memory_order_relaxed);
	}

private:
	std::atomic<Poco::UInt64> _value{0};
};


class Gauge
	/// Goes up and down. Any thread.
{
public:
	void add(Poco::Int64 n)
	{
		_value.fetch_add(n, std::memory_order_relaxed);
	}

	void set(Poco::Int64 n)
	{
		_value.store(n, std::memory_order_relaxed);
	}

	void raiseTo(Poco::Int64 n)
		/// Keeps the larger of the value and n.
	{
		Poco::Int64 current = _value.load(std::memory_order_relaxed);
		while (n > current && !_value.compare_exchange_weak(current, n, std::memory_order_relaxed))
		{
		}
	}

	Poco::Int64 take()
		/// Returns the value and resets it to 0 (a maximum since the last scrape).
	{
		return _value.exchange(0, std::memory_order_relaxed);
	}

	Poco::Int64 value() const
	{
		return _value.load(std::memory_order_relaxed);
	}

private:
	std::atomic<Poco::Int64> _value{0};
};

} } // namespace imgate::metrics

#endif // imgate_metrics_Counter_INCLUDED
