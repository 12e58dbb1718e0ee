//
// GroupsApi.cpp
//
// Layer: admin
//

#include "server/admin/GroupsApi.h"
#include "server/protocol/LogText.h"
#include "server/protocol/Uid.h"
#include "server/session/SessionManager.h"
#include "Poco/Event.h"
#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"
#include "Poco/Timestamp.h"
#include <memory>

namespace imgate {
namespace admin {

namespace {

const std::string GID_RULE = "1 to 64 characters of A-Z a-z 0-9 _ . @ -";

} // namespace


GroupsApi::GroupsApi(const AdminContext& context, Poco::Logger& logger):
	_context(context),
	_logger(logger)
{
}


AdminResponse GroupsApi::handle(const AdminRequest& request, const std::vector<std::string>& parts) const
{
	if (parts.size() == 2)
		return request.method == "GET" ? list(request) : AdminApi::methodNotAllowed("GET");
	const std::string& gid = parts[2];
	if (!protocol::isValidUid(gid)) return AdminApi::error(400, "not a valid gid: " + GID_RULE);
	if (parts.size() == 3)
	{
		if (request.method == "GET") return get(gid);
		if (request.method == "PUT") return put(gid, request);
		if (request.method == "DELETE") return remove(gid, request);
		return AdminApi::methodNotAllowed("GET, PUT, DELETE");
	}
	if (parts.size() == 4 && parts[3] == "members")
		return request.method == "POST" ? modify(gid, request) : AdminApi::methodNotAllowed("POST");
	return AdminApi::error(404, "no such resource: " + protocol::escaped(request.path) + " (see docs/operations.md, \"Admin API\")");
}


AdminResponse GroupsApi::put(const std::string& gid, const AdminRequest& request) const
{
	Poco::JSON::Object::Ptr pObject;
	AdminResponse failure;
	if (!AdminApi::parseObject(request.body, "{\"members\": [\"alice\", \"bob\"]}", pObject, failure)) return failure;
	store::GroupChange change;
	change.kind = store::GroupChange::PUT;
	change.gid = gid;
	bool hasMembers = false;
	for (const auto& kv: *pObject)
	{
		if (kv.first != "members") return AdminApi::error(400, "unknown field \"" + protocol::escaped(kv.first, 64) + "\" (members)");
		if (!uidList(kv.second, "members", change.members, failure)) return failure;
		hasMembers = true;
	}
	if (!hasMembers) return AdminApi::error(400, "members: required, an array of uids");
	return apply(change, request, 200);
}


AdminResponse GroupsApi::get(const std::string& gid) const
{
	store::Group group;
	try
	{
		if (!_context.store.findGroup(gid, group)) return AdminApi::error(404, "no group " + gid);
	}
	catch (Poco::Exception& exc)
	{
		return AdminApi::error(503, "the store cannot be read: " + exc.displayText());
	}
	return groupJson(group, 200);
}


AdminResponse GroupsApi::modify(const std::string& gid, const AdminRequest& request) const
{
	Poco::JSON::Object::Ptr pObject;
	AdminResponse failure;
	if (!AdminApi::parseObject(request.body, "{\"add\": [\"carol\"], \"remove\": [\"bob\"]}", pObject, failure)) return failure;
	store::GroupChange change;
	change.kind = store::GroupChange::MODIFY;
	change.gid = gid;
	for (const auto& kv: *pObject)
	{
		if (kv.first == "add")
		{
			if (!uidList(kv.second, "add", change.add, failure)) return failure;
		}
		else if (kv.first == "remove")
		{
			if (!uidList(kv.second, "remove", change.remove, failure)) return failure;
		}
		else return AdminApi::error(400, "unknown field \"" + protocol::escaped(kv.first, 64) + "\" (add, remove)");
	}
	return apply(change, request, 200);
}


AdminResponse GroupsApi::remove(const std::string& gid, const AdminRequest& request) const
{
	store::GroupChange change;
	change.kind = store::GroupChange::REMOVE;
	change.gid = gid;
	return apply(change, request, 204);
}


AdminResponse GroupsApi::list(const AdminRequest& request) const
{
	std::string prefix;
	std::size_t limit = DEFAULT_LIST_LIMIT;
	AdminResponse failure;
	if (!AdminApi::prefixAndLimit(request, MAX_LIST_LIMIT, prefix, limit, failure)) return failure;
	bool truncated = false;
	std::vector<std::string> gids;
	try
	{
		gids = _context.store.listGroups(prefix, limit, truncated);
	}
	catch (Poco::Exception& exc)
	{
		return AdminApi::error(503, "the store cannot be read: " + exc.displayText());
	}
	Poco::JSON::Array groups;
	for (const std::string& gid: gids) groups.add(gid);
	Poco::JSON::Object o;
	o.set("groups", groups);
	o.set("truncated", truncated);
	return AdminApi::ok(o);
}


AdminResponse GroupsApi::apply(store::GroupChange& change, const AdminRequest& request, int okStatus) const
{
	change.maxMembers = _context.sessions.config().maxGroupMembers;
	change.nowMs = Poco::Timestamp().epochMicroseconds() / 1000;
	struct Answer
	{
		Poco::Event done;
		store::GroupResult result;
	};
	auto pAnswer = std::make_shared<Answer>();
	_context.store.changeGroup(change, [pAnswer](const store::GroupResult& result)
	{
		pAnswer->result = result;
		pAnswer->done.set();
	});
	// The store answers once the change is committed; a disk that hangs
	// must not hold the admin thread for ever.
	if (!pAnswer->done.tryWait(STORE_TIMEOUT_MS)) return AdminApi::error(503, "the store did not answer in time; the change may still be applied");
	const store::GroupResult& result = pAnswer->result;
	switch (result.outcome)
	{
	case store::GroupResult::OK:
		break;
	case store::GroupResult::NOT_FOUND:
		return AdminApi::error(404, "no group " + change.gid);
	case store::GroupResult::TOO_MANY_MEMBERS:
		return AdminApi::error(400, result.error + " (group.maxMembers)");
	case store::GroupResult::STORE_FULL:
	case store::GroupResult::FAILED:
		return AdminApi::error(503, result.error);
	}
	static const char* const NAMES[] = {"put", "change", "delete"};
	_logger.information("admin: %s group %s: %z members (asked from %s)", std::string(NAMES[change.kind]), change.gid,
		result.group.members.size(), request.peer);
	if (okStatus == 204)
	{
		AdminResponse r;
		r.status = 204;
		r.contentType.clear();
		return r;
	}
	return groupJson(result.group, okStatus);
}


bool GroupsApi::uidList(const Poco::Dynamic::Var& value, const std::string& field, std::vector<std::string>& uids, AdminResponse& failure)
{
	if (value.type() != typeid(Poco::JSON::Array::Ptr))
	{
		failure = AdminApi::error(400, field + ": expected an array of uids");
		return false;
	}
	Poco::JSON::Array::Ptr pArray = value.extract<Poco::JSON::Array::Ptr>();
	for (std::size_t i = 0; i < pArray->size(); ++i)
	{
		const Poco::Dynamic::Var item = pArray->get(static_cast<unsigned>(i));
		if (!item.isString() || !protocol::isValidUid(item.extract<std::string>()))
		{
			failure = AdminApi::error(400, field + "[" + std::to_string(i) + "]: not a valid uid: " + GID_RULE);
			return false;
		}
		uids.push_back(item.extract<std::string>());
	}
	return true;
}


AdminResponse GroupsApi::groupJson(const store::Group& group, int status)
{
	Poco::JSON::Array members;
	for (const std::string& uid: group.members) members.add(uid);
	Poco::JSON::Object o;
	o.set("gid", group.gid);
	o.set("members", members);
	o.set("created_ms", group.createdMs);
	AdminResponse r = AdminApi::ok(o);
	r.status = status;
	return r;
}

} } // namespace imgate::admin
