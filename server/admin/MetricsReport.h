//
// MetricsReport.h
//
// Layer: admin
// GET /metrics: every metric of the server in the Prometheus text format
// (docs/operations.md has the table).
//

#ifndef imgate_admin_MetricsReport_INCLUDED
#define imgate_admin_MetricsReport_INCLUDED

#include "server/admin/AdminContext.h"
#include "server/admin/AdminListenerCounters.h"
#include <string>

namespace imgate {
namespace admin {

class MetricsReport
	/// Sums the loops' counter blocks and reads the store's, the plugins'
	/// and the process's figures at the time of the call; takes no lock
	/// an event loop could wait for. Any thread.
{
public:
	static std::string render(const AdminContext& context, const AdminListenerCounters* pListener = nullptr);
		/// "imgate_event_loop_lag_seconds" is the longest loop turn since the
		/// previous scrape: rendering resets it. pListener: the admin
		/// listener's own connections (left out if null).

	static long residentBytes();
		/// VmRSS of this process, or -1.

	static long openFiles();
		/// Entries in /proc/self/fd, or -1.
};

} } // namespace imgate::admin

#endif // imgate_admin_MetricsReport_INCLUDED
