//
// AdminContext.h
//
// Layer: admin
// The parts of a running server the admin side reads and acts on.
//

#ifndef imgate_admin_AdminContext_INCLUDED
#define imgate_admin_AdminContext_INCLUDED

#include "server/cluster/ClusterNode.h"
#include "server/net/LoopPool.h"
#include "server/plugin/FilterChain.h"
#include "server/session/SessionManager.h"
#include "server/session/SessionQuery.h"
#include "server/store/MessageStore.h"
#include "Poco/Timestamp.h"
#include <atomic>
#include <string>

namespace imgate {
namespace admin {

struct AdminContext
	/// Borrowed references: the Server owns all of them and stops the
	/// admin listener before any of them goes away.
{
	net::LoopPool& loops;
	session::SessionManager& sessions;
	session::SessionQuery& query;
	store::MessageStore& store;
	const plugin::FilterChain& filters;
	const std::atomic<bool>& accepting; /// The client listener accepts connections.
	std::string version;
	Poco::Timestamp started;
	cluster::ClusterNode* pCluster = nullptr; /// This node, with cluster.enabled.
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminContext_INCLUDED
