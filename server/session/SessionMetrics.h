//
// SessionMetrics.h
//
// Layer: session
// The distributions the session layer observes for GET /metrics (the
// per-loop counters are in metrics::LoopCounters).
//

#ifndef imgate_session_SessionMetrics_INCLUDED
#define imgate_session_SessionMetrics_INCLUDED

#include "server/metrics/Histogram.h"

namespace imgate {
namespace session {

struct SessionMetrics
	/// Any thread observes (the histograms are lock-free); a scrape reads.
{
	SessionMetrics():
		groupFanout({1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}),
		historySeconds(metrics::Histogram::exponential(0.0001, 2, 16)) // 0.1 ms .. 3.3 s
	{
	}

	metrics::Histogram groupFanout;    /// Members (the sender included) of each group message accepted: stored, or transient.
	metrics::Histogram historySeconds; /// HISTORY: from the request to its answer queued to the client (the store's read included).
};

} } // namespace imgate::session

#endif // imgate_session_SessionMetrics_INCLUDED
