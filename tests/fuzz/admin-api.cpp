//
// admin-api.cpp
//
// Fuzz target: the admin API (server/admin/AdminApi) on the requests an
// operator's tool sends: the JSON bodies of POST /v1/bans and
// POST /v1/sessions/UID/kick, the query of DELETE /v1/bans, any method
// and path, and the address parser behind them (canonicalAddressOrBlock).
//
// AdminApi answers through a context of a running server; here that is
// the real thing without threads: one event loop that never runs, the
// memory store, no sessions, and the real blacklist plugin (its .so,
// built like the rest) so that bans are kept and listed. Requests that
// wait for the loops (GET /v1/sessions, GET /v1/sessions/UID) are left
// out. After each input every ban is lifted again, so inputs do not
// depend on each other.
//
// Checked: handle() answers every request (an exception would be a 500);
// only the statuses of docs/operations.md; JSON answers parse as a JSON
// object; a 405 says what is allowed; a ban answered 200 is listed, and
// every listed ban can be lifted; 507 never (the ban table is empty
// before each input); a canonical address is its own canonical form; a
// group answered 200 (PUT, POST members, GET) is stored as answered, its
// members sorted, unique, well formed and within group.maxMembers. Groups
// are deleted after each input like bans.
//
// Input: a mode byte, then text. Mode % 5: 0 = the body of POST /v1/bans;
// 1 = the query of DELETE /v1/bans ("k=v&k=v", already decoded); 2 =
// "UID\nBODY" for POST /v1/sessions/UID/kick; 3 = "METHOD PATH\nBODY";
// 4 = an address for canonicalAddressOrBlock.
//

#include "tests/fuzz/FuzzCheck.h"
#include "server/admin/AdminApi.h"
#include "server/admin/AdminContext.h"
#include "server/net/LoopPool.h"
#include "server/plugin/FilterChain.h"
#include "server/plugin/PluginHost.h"
#include "server/session/SessionConfig.h"
#include "server/session/SessionManager.h"
#include "server/session/SessionQuery.h"
#include "server/store/MemoryMessageStore.h"
#include "imgate/Address.h"
#include "Poco/JSON/Array.h"
#include "server/protocol/Uid.h"
#include "Poco/AutoPtr.h"
#include "Poco/Exception.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Logger.h"
#include "Poco/NullChannel.h"
#include "Poco/StringTokenizer.h"
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

using namespace imgate;

namespace {

const std::string TOKEN = "fuzz-admin-token-0123456789";


const imgate::fuzz::FuzzCheck check("admin-api");


bool quietLogs()
{
	Poco::Logger::root().setChannel(Poco::AutoPtr<Poco::Channel>(new Poco::NullChannel));
	Poco::Logger::root().setLevel(Poco::Message::PRIO_FATAL);
	return true;
}


store::MemoryMessageStore::Limits storeLimits()
{
	store::MemoryMessageStore::Limits limits;
	limits.maxPendingPerRecipient = 16;
	limits.maxBytes = 1 << 16;
	limits.idempotencyEntries = 16;
	return limits;
}


plugin::PluginHost* loadBlacklist(plugin::PluginHost* pHost)
{
	pHost->load("blacklist", BLACKLIST_PLUGIN, std::map<std::string, std::string>());
	return pHost;
}


struct Server
	/// What AdminContext borrows, as a server owns it.
{
	bool quiet = quietLogs();
	net::LoopPool loops{1, 16};
	store::MemoryMessageStore store{storeLimits()};
	plugin::PluginHost host;
	plugin::FilterChain filters{*loadBlacklist(&host)};
	session::SessionConfig config;
	session::SessionManager sessions{config, loops, store, filters};
	session::SessionQuery query{loops, sessions.directory()};
	std::atomic<bool> accepting{true};
	admin::AdminContext context{loops, sessions, query, store, filters, accepting, "fuzz", Poco::Timestamp()};
	admin::AdminApi api{context, TOKEN, false};
};


void checkResponse(const admin::AdminRequest& request, const admin::AdminResponse& r)
{
	const std::string what = request.method + " " + request.path + ": " + std::to_string(r.status) + " " + r.body;
	switch (r.status)
	{
	case 200: case 204: case 400: case 401: case 403: case 404: case 405: case 409: case 503:
		break;
	case 507:
		check.fail("507 with an empty ban table: " + what);
	default:
		check.fail("an unexpected status: " + what);
	}
	if (r.status == 405 && r.allow.empty()) check.fail("405 without Allow: " + what);
	if (r.status == 401 && !r.challenge) check.fail("401 without a challenge: " + what);
	if (r.contentType != "application/json") return;
	try
	{
		Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
	}
	catch (Poco::Exception& exc)
	{
		check.fail("a JSON answer that is not a JSON object (" + exc.displayText() + "): " + what);
	}
}


void checkBanListed(Server& server, const admin::AdminResponse& r)
{
	Poco::JSON::Object::Ptr pAnswer = Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
	const std::string address = pAnswer->optValue<std::string>("address", "");
	const std::string uid = pAnswer->optValue<std::string>("uid", "");
	bool addressListed = address.empty(), uidListed = uid.empty();
	for (const BanRequest& ban: server.filters.listBans())
	{
		addressListed = addressListed || ban.address == address || ban.address == addressBlock(address);
		uidListed = uidListed || ban.uid == uid;
	}
	if (!addressListed || !uidListed) check.fail("a ban answered 200 is not listed: " + r.body);
}


void liftAll(Server& server)
{
	for (const BanRequest& ban: server.filters.listBans())
	{
		BanRequest lift;
		lift.address = ban.address;
		lift.uid = ban.uid;
		lift.origin = "fuzz";
		if (!server.filters.unban(lift)) check.fail("a listed ban cannot be lifted: address=" + ban.address + " uid=" + ban.uid);
	}
	if (!server.filters.listBans().empty()) check.fail("bans listed after each was lifted");
}


void removeGroups(Server& server)
	/// And every group, so that inputs do not depend on each other.
{
	bool truncated = false;
	for (const std::string& gid: server.store.listGroups("", 100000, truncated))
	{
		store::GroupChange remove;
		remove.kind = store::GroupChange::REMOVE;
		remove.gid = gid;
		bool done = false;
		server.store.changeGroup(remove, [&done](const store::GroupResult& r) { done = r.outcome == store::GroupResult::OK; });
		if (!done) check.fail("a listed group cannot be deleted: " + gid);
	}
	if (!server.store.listGroups("", 1, truncated).empty()) check.fail("groups listed after each was deleted");
}


void checkGroupAnswer(Server& server, const admin::AdminRequest& request, const admin::AdminResponse& r)
	/// A group answered 200 is stored as answered: members sorted, unique,
	/// well-formed, at most group.maxMembers.
{
	if (r.status != 200 || request.path.compare(0, 11, "/v1/groups/") != 0) return;
	Poco::JSON::Object::Ptr pAnswer = Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
	if (!pAnswer->has("gid")) return; // the list ("/v1/groups/" is "/v1/groups")
	const std::string gid = pAnswer->optValue<std::string>("gid", "");
	store::Group group;
	if (!server.store.findGroup(gid, group)) check.fail("a group answered 200 is not stored: " + r.body);
	Poco::JSON::Array::Ptr pMembers = pAnswer->getArray("members");
	if (!pMembers || pMembers->size() != group.members.size()) check.fail("a group's answer and store differ: " + r.body);
	if (group.members.size() > server.config.maxGroupMembers) check.fail("more members than group.maxMembers: " + r.body);
	for (std::size_t i = 0; i < group.members.size(); ++i)
	{
		if (pMembers->getElement<std::string>(static_cast<unsigned>(i)) != group.members[i]) check.fail("a group's answer and store differ: " + r.body);
		if (i > 0 && !(group.members[i - 1] < group.members[i])) check.fail("members not sorted and unique: " + r.body);
		if (!protocol::isValidUid(group.members[i])) check.fail("a malformed member was stored: " + r.body);
	}
}


void checkAddress(const std::string& text)
{
	std::string canonical, error;
	if (!admin::AdminApi::canonicalAddressOrBlock(text, canonical, error))
	{
		if (error.empty()) check.fail("an address refused without a reason: " + text);
		return;
	}
	std::string again;
	if (!admin::AdminApi::canonicalAddressOrBlock(canonical, again, error) || again != canonical)
		check.fail("the canonical form of " + text + " is " + canonical + ", whose canonical form is " + again);
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	static Server server;
	if (size < 1) return 0;
	const unsigned mode = data[0] % 5;
	const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
	const std::size_t newline = text.find('\n');
	const std::string first = text.substr(0, newline);
	const std::string rest = newline == std::string::npos ? std::string() : text.substr(newline + 1);

	if (mode == 4)
	{
		checkAddress(text);
		return 0;
	}
	admin::AdminRequest request;
	request.authorization = "Bearer " + TOKEN;
	request.peer = "127.0.0.1:1";
	switch (mode)
	{
	case 0:
		request.method = "POST";
		request.path = "/v1/bans";
		request.body = text;
		break;
	case 1:
		request.method = "DELETE";
		request.path = "/v1/bans";
		{
			Poco::StringTokenizer pairs(text, "&");
			for (const std::string& pair: pairs)
			{
				const std::size_t eq = pair.find('=');
				request.query.emplace_back(pair.substr(0, eq), eq == std::string::npos ? std::string() : pair.substr(eq + 1));
			}
		}
		break;
	case 2:
		request.method = "POST";
		request.path = "/v1/sessions/" + first + "/kick";
		request.body = rest;
		break;
	default:
	{
		const std::size_t space = first.find(' ');
		request.method = first.substr(0, space);
		request.path = space == std::string::npos ? std::string("/") : first.substr(space + 1);
		request.body = rest;
		// These wait (up to 2 s) for event loops that do not run here.
		Poco::StringTokenizer parts(request.path, "/", Poco::StringTokenizer::TOK_IGNORE_EMPTY);
		if (request.method == "GET" && (parts.count() == 2 || parts.count() == 3) && parts[0] == "v1" && parts[1] == "sessions"
			&& (request.path == "/v1" || request.path.compare(0, 4, "/v1/") == 0))
			return 0;
		break;
	}
	}

	admin::AdminResponse response;
	try
	{
		response = server.api.handle(request);
	}
	catch (Poco::Exception& exc)
	{
		check.fail("handle() threw " + exc.displayText() + " for " + request.method + " " + request.path);
	}
	catch (std::exception& exc)
	{
		check.fail(std::string("handle() threw ") + exc.what() + " for " + request.method + " " + request.path);
	}
	checkResponse(request, response);
	if (request.method == "POST" && request.path == "/v1/bans" && response.status == 200) checkBanListed(server, response);
	checkGroupAnswer(server, request, response);
	liftAll(server);
	removeGroups(server);
	return 0;
}
