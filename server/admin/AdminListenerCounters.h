//
// AdminListenerCounters.h
//
// Layer: admin
// What the admin listener counts about its own connections, for /metrics.
//

#ifndef imgate_admin_AdminListenerCounters_INCLUDED
#define imgate_admin_AdminListenerCounters_INCLUDED

#include "server/metrics/Counter.h"

namespace imgate {
namespace admin {

struct AdminListenerCounters
	/// Written by the admin listener's loop (AdminConnectionTable), read by
	/// any thread (a scrape). Owned by AdminServer.
{
	metrics::Gauge open;                     /// Connections open.
	metrics::Counter evictedTableFull;       /// Evicted: the table was full.
	metrics::Counter evictedAddressLimit;    /// Evicted: their address had its share.
	metrics::Counter refused;                /// Answered 503 at once: nothing could be evicted.
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminListenerCounters_INCLUDED
