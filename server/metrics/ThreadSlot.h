//
// ThreadSlot.h
//
// Layer: metrics
// Which row of a per-thread counter table the calling thread writes, so
// that counters bumped from several loops (plugin verdicts) never share a
// cache line between writers.
//

#ifndef imgate_metrics_ThreadSlot_INCLUDED
#define imgate_metrics_ThreadSlot_INCLUDED

#include <cstddef>

namespace imgate {
namespace metrics {

class ThreadSlot
	/// Event loop i writes row i (it calls assign(i) when it starts); every
	/// other thread, and loops beyond ROWS - 1, share the last row (its
	/// counters are atomic, so sharing costs speed, never a count).
{
public:
	static constexpr std::size_t ROWS = 17;

	static void assign(std::size_t loopIndex);
		/// For the calling thread.

	static std::size_t row();
		/// The calling thread's row.
};

} } // namespace imgate::metrics

#endif // imgate_metrics_ThreadSlot_INCLUDED
