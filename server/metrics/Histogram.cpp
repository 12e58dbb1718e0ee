//
// Histogram.cpp
//
// Layer: metrics
//

#include "server/metrics/Histogram.h"
#include "Poco/Bugcheck.h"
#include <algorithm>
#include <cmath>

namespace imgate {
namespace metrics {

Histogram::Histogram(std::vector<double> bounds):
	_bounds(std::move(bounds)),
	_buckets(new std::atomic<Poco::UInt64>[_bounds.size() + 1])
{
	poco_assert (std::is_sorted(_bounds.begin(), _bounds.end()));
	for (std::size_t i = 0; i <= _bounds.size(); ++i) _buckets[i].store(0, std::memory_order_relaxed);
}


void Histogram::observe(double value)
{
	// Prometheus buckets are "less than or equal to" their bound.
	const std::size_t i = static_cast<std::size_t>(std::lower_bound(_bounds.begin(), _bounds.end(), value) - _bounds.begin());
	_buckets[i].fetch_add(1, std::memory_order_relaxed);
	const double micro = value > 0 ? std::round(value * 1e6) : 0;
	_sumMicro.fetch_add(static_cast<Poco::UInt64>(micro), std::memory_order_relaxed);
}


Histogram::Snapshot Histogram::snapshot() const
{
	Snapshot s;
	s.bounds = _bounds;
	s.cumulative.resize(_bounds.size() + 1);
	Poco::UInt64 running = 0;
	for (std::size_t i = 0; i <= _bounds.size(); ++i)
	{
		running += _buckets[i].load(std::memory_order_relaxed);
		s.cumulative[i] = running;
	}
	s.count = running;
	s.sum = static_cast<double>(_sumMicro.load(std::memory_order_relaxed)) / 1e6;
	return s;
}


std::vector<double> Histogram::exponential(double start, double factor, std::size_t count)
{
	std::vector<double> bounds;
	double b = start;
	for (std::size_t i = 0; i < count; ++i, b *= factor) bounds.push_back(b);
	return bounds;
}

} } // namespace imgate::metrics
