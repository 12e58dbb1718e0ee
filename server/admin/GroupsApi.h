//
// GroupsApi.h
//
// Layer: admin
// The admin API's /v1/groups endpoints (protocol 1.1, section 4): the
// application's backend owns group membership.
//

#ifndef imgate_admin_GroupsApi_INCLUDED
#define imgate_admin_GroupsApi_INCLUDED

#include "server/admin/AdminApi.h"
#include "server/admin/AdminContext.h"
#include "server/store/MessageStore.h"
#include "Poco/Logger.h"
#include <string>
#include <vector>

namespace imgate {
namespace admin {

class GroupsApi
	/// One authorized request (AdminApi has checked the token), on an admin
	/// worker thread, which may wait for the store: a change is answered
	/// once it is as durable as messages.
	///
	///     PUT    /v1/groups/GID           {"members": [...]}  create or replace
	///     GET    /v1/groups/GID                               the group
	///     POST   /v1/groups/GID/members   {"add": [...], "remove": [...]}
	///     DELETE /v1/groups/GID                               204
	///     GET    /v1/groups?prefix=P&limit=N                  gids
{
public:
	enum
	{
		DEFAULT_LIST_LIMIT = 100,
		MAX_LIST_LIMIT = 1000,
		STORE_TIMEOUT_MS = 10000 /// How long a change waits for the store before 503.
	};

	GroupsApi(const AdminContext& context, Poco::Logger& logger);

	AdminResponse handle(const AdminRequest& request, const std::vector<std::string>& parts) const;
		/// parts: the path's segments, "v1", "groups", ...

private:
	AdminResponse put(const std::string& gid, const AdminRequest& request) const;
	AdminResponse get(const std::string& gid) const;
	AdminResponse modify(const std::string& gid, const AdminRequest& request) const;
	AdminResponse remove(const std::string& gid, const AdminRequest& request) const;
	AdminResponse list(const AdminRequest& request) const;
	AdminResponse apply(store::GroupChange& change, const AdminRequest& request, int okStatus) const;
		/// Hands change to the store and answers with its outcome.
	static bool uidList(const Poco::Dynamic::Var& value, const std::string& field, std::vector<std::string>& uids, AdminResponse& failure);
		/// value as an array of well-formed uids; else failure names field.
	static AdminResponse groupJson(const store::Group& group, int status);

	const AdminContext& _context;
	Poco::Logger& _logger;
};

} } // namespace imgate::admin

#endif // imgate_admin_GroupsApi_INCLUDED
