//
// Histogram.h
//
// Layer: metrics
// A Prometheus histogram with fixed bucket bounds: one relaxed atomic per
// bucket, so observing never takes a lock.
//

#ifndef imgate_metrics_Histogram_INCLUDED
#define imgate_metrics_Histogram_INCLUDED

#include "Poco/Types.h"
#include <atomic>
#include <memory>
#include <vector>

namespace imgate {
namespace metrics {

class Histogram
	/// Any thread may observe; a scrape reads a snapshot that may be a few
	/// observations apart between buckets, never inconsistent in a way the
	/// exposition could show (counts are made cumulative at snapshot time).
{
public:
	struct Snapshot
	{
		std::vector<double> bounds;            /// Upper bounds, increasing; +Inf is implied.
		std::vector<Poco::UInt64> cumulative;  /// bounds.size() + 1 counts, the last one for +Inf.
		double sum = 0;
		Poco::UInt64 count = 0;                /// == cumulative.back().
	};

	explicit Histogram(std::vector<double> bounds);
		/// bounds must be increasing (poco_assert).

	void observe(double value);

	Snapshot snapshot() const;

	static std::vector<double> exponential(double start, double factor, std::size_t count);
		/// start, start * factor, ... (count bounds).

private:
	const std::vector<double> _bounds;
	std::unique_ptr<std::atomic<Poco::UInt64>[]> _buckets; /// _bounds.size() + 1, not cumulative.
	std::atomic<Poco::UInt64> _sumMicro{0}; /// The sum in millionths, so that it can be atomic.
};

} } // namespace imgate::metrics

#endif // imgate_metrics_Histogram_INCLUDED
