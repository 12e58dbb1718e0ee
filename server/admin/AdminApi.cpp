//
// AdminApi.cpp
//
// Layer: admin
//

#include "server/admin/AdminApi.h"
#include <algorithm>
#include <cctype>
#include "server/admin/MetricsReport.h"
#include "server/admin/GroupsApi.h"
#include "server/protocol/LogText.h"
#include "server/metrics/Exposition.h"
#include "server/protocol/Uid.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Array.h"
#include "Poco/JSON/Parser.h"
#include "Poco/JSON/JSONException.h"
#include "imgate/Address.h"
#include "Poco/Clock.h"
#include "Poco/NumberParser.h"
#include "Poco/StringTokenizer.h"
#include <sstream>

namespace imgate {
namespace admin {

namespace {

std::string json(const Poco::JSON::Object& object)
{
	std::ostringstream out;
	object.stringify(out);
	out << '\n';
	return out.str();
}


AdminResponse text(int status, const std::string& body)
{
	AdminResponse r;
	r.status = status;
	r.contentType = "text/plain; charset=utf-8";
	r.body = body;
	return r;
}


Poco::JSON::Object summaryJson(const session::SessionSummary& s)
{
	Poco::JSON::Object o;
	o.set("uid", s.uid);
	o.set("peer", s.peer);
	o.set("device", s.device);
	o.set("transport", s.transport);
	o.set("login_time", static_cast<Poco::UInt64>(s.loginTime));
	o.set("in_flight", static_cast<Poco::UInt64>(s.inFlight));
	o.set("loop", static_cast<Poco::UInt64>(s.loop));
	return o;
}


Poco::JSON::Object banTarget(const BanRequest& ban)
	/// {"address": ..., "uid": ...}, each only if set.
{
	Poco::JSON::Object o;
	if (!ban.address.empty()) o.set("address", ban.address);
	if (!ban.uid.empty()) o.set("uid", ban.uid);
	return o;
}


const std::string UID_RULE = "1 to 64 characters of A-Z a-z 0-9 _ . @ -";


std::vector<std::string> segments(const std::string& path)
{
	Poco::StringTokenizer t(path, "/", Poco::StringTokenizer::TOK_IGNORE_EMPTY);
	return std::vector<std::string>(t.begin(), t.end());
}

} // namespace


AdminApi::AdminApi(const AdminContext& context, const std::string& token, bool allowNoToken, const AdminListenerCounters* pListener):
	_context(context),
	_pListener(pListener),
	_token(token),
	_allowNoToken(allowNoToken),
	_logger(Poco::Logger::get("imgate.admin"))
{
}


bool AdminApi::sameSecret(const std::string& a, const std::string& b)
{
	// Compares every byte of the longer one, whatever the lengths.
	const std::size_t n = a.size() > b.size() ? a.size() : b.size();
	unsigned char diff = a.size() == b.size() ? 0 : 1;
	for (std::size_t i = 0; i < n; ++i)
	{
		const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
		const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
		diff = static_cast<unsigned char>(diff | (x ^ y));
	}
	return diff == 0;
}


AdminResponse AdminApi::ok(const Poco::JSON::Object& object)
{
	AdminResponse r;
	r.body = json(object);
	return r;
}


AdminResponse AdminApi::error(int status, const std::string& message)
{
	Poco::JSON::Object o;
	o.set("error", protocol::validUtf8(message));
	AdminResponse r;
	r.status = status;
	r.body = json(o);
	return r;
}


AdminResponse AdminApi::methodNotAllowed(const std::string& allow)
{
	AdminResponse r = error(405, "method not allowed; use " + allow);
	r.allow = allow;
	return r;
}


AdminResponse AdminApi::handle(const AdminRequest& request) const
{
	const std::string& path = request.path;
	if (path == "/metrics")
		return request.method == "GET" || request.method == "HEAD" ? metrics() : methodNotAllowed("GET, HEAD");
	if (path == "/healthz")
		return request.method == "GET" || request.method == "HEAD" ? health() : methodNotAllowed("GET, HEAD");
	if (path == "/readyz")
		return request.method == "GET" || request.method == "HEAD" ? readiness() : methodNotAllowed("GET, HEAD");
	if (path == "/v1" || path.compare(0, 4, "/v1/") == 0) return api(request);
	return error(404, "no such resource: " + protocol::escaped(path) + " (see docs/operations.md, \"Admin API\")");
}


bool AdminApi::wantsBody(const AdminRequest& request) const
{
	return (request.method == "POST" || request.method == "PUT") && request.path.compare(0, 4, "/v1/") == 0 && authorized(request);
}


void AdminApi::logRefusal(const AdminRequest& request) const
{
	Poco::FastMutex::ScopedLock lock(_refusalMutex);
	if (_refusalWindow.isElapsed(60 * Poco::Clock::resolution()))
	{
		if (_refusals > MAX_REFUSAL_LOGS)
			_logger.warning("admin API: %u more refused requests in the last minute were not logged", _refusals - MAX_REFUSAL_LOGS);
		_refusalWindow.update();
		_refusals = 0;
	}
	if (++_refusals > MAX_REFUSAL_LOGS) return;
	_logger.warning("admin API: refused %s %s from %s: missing or wrong token", protocol::escaped(request.method), protocol::escaped(request.path), request.peer);
}


AdminResponse AdminApi::metrics() const
{
	AdminResponse r;
	r.contentType = metrics::Exposition::CONTENT_TYPE;
	r.body = MetricsReport::render(_context, _pListener);
	return r;
}


AdminResponse AdminApi::health() const
{
	return text(200, "ok\n");
}


AdminResponse AdminApi::readiness() const
{
	std::string problems;
	if (!_context.accepting.load()) problems += "not accepting connections (starting or shutting down)\n";
	std::string why;
	if (!_context.store.writable(why)) problems += "store: " + why + "\n";
	if (!problems.empty()) return text(503, problems);
	// Without Redis a node still serves its sessions (and no other node
	// does better): ready, and says what it cannot do (docs/cluster.md).
	if (_context.pCluster && !_context.pCluster->healthy(why))
		return text(200, "ready, degraded: cluster: " + why + "; messages to users on other nodes wait for Redis or their next login\n");
	return text(200, "ready\n");
}


bool AdminApi::authorized(const AdminRequest& request) const
{
	if (_token.empty()) return _allowNoToken;
	const std::string prefix = "Bearer ";
	if (request.authorization.compare(0, prefix.size(), prefix) != 0) return false;
	return sameSecret(request.authorization.substr(prefix.size()), _token);
}


AdminResponse AdminApi::api(const AdminRequest& request) const
{
	if (_token.empty() && !_allowNoToken)
		return error(403, "the admin API is off: set admin.tokenFile (docs/configuration.md)");
	if (!authorized(request))
	{
		logRefusal(request);
		AdminResponse r = error(401, "unauthorized");
		r.challenge = true;
		return r;
	}
	const std::vector<std::string> parts = segments(request.path); // "v1", ...
	if (parts.size() == 2 && parts[1] == "stats")
		return request.method == "GET" ? stats() : methodNotAllowed("GET");
	if (parts.size() == 2 && parts[1] == "sessions")
		return request.method == "GET" ? listSessions(request) : methodNotAllowed("GET");
	if (parts.size() >= 3 && parts[1] == "sessions")
	{
		const std::string& uid = parts[2];
		if (!protocol::isValidUid(uid)) return error(400, "not a valid uid: " + UID_RULE);
		if (parts.size() == 3) return request.method == "GET" ? findSession(uid) : methodNotAllowed("GET");
		if (parts.size() == 4 && parts[3] == "kick") return request.method == "POST" ? kick(uid, request) : methodNotAllowed("POST");
	}
	if (parts.size() >= 2 && parts[1] == "groups") return GroupsApi(_context, _logger).handle(request, parts);
	if (parts.size() == 2 && parts[1] == "bans")
	{
		if (request.method == "GET") return listBans();
		if (request.method == "POST") return addBan(request);
		if (request.method == "DELETE") return removeBan(request);
		return methodNotAllowed("GET, POST, DELETE");
	}
	return error(404, "no such resource: " + protocol::escaped(request.path) + " (see docs/operations.md, \"Admin API\")");
}


AdminResponse AdminApi::stats() const
{
	Poco::JSON::Object o;
	o.set("version", _context.version);
	o.set("uptime_seconds", static_cast<Poco::UInt64>(_context.started.elapsed() / 1000000));
	o.set("sessions_online", static_cast<Poco::UInt64>(_context.sessions.directory().size()));
	o.set("connections_open", static_cast<Poco::UInt64>(_context.loops.connectionCount()));
	Poco::Int64 inFlight = 0;
	Poco::UInt64 accepted = 0, delivered = 0, acknowledged = 0;
	for (std::size_t i = 0; i < _context.loops.size(); ++i)
	{
		metrics::LoopCounters& c = _context.loops.loop(i).counters();
		inFlight += c.deliveriesInFlight.value();
		accepted += c.messagesAccepted.value();
		delivered += c.messagesDelivered.value();
		acknowledged += c.messagesAcknowledged.value();
	}
	o.set("messages_accepted", accepted);
	o.set("messages_delivered", delivered);
	o.set("messages_acknowledged", acknowledged);
	o.set("deliveries_in_flight", inFlight);
	o.set("store", _context.store.describe());
	std::string why;
	o.set("store_writable", _context.store.writable(why));
	o.set("accepting", _context.accepting.load());
	o.set("draining", _context.sessions.draining());
	if (_context.pCluster)
	{
		o.set("node", _context.pCluster->nodeId());
		o.set("cluster_redis_up", _context.pCluster->healthy(why));
	}
	Poco::JSON::Array plugins;
	for (std::size_t i = 0; i < _context.filters.size(); ++i) plugins.add(_context.filters.pluginName(i));
	o.set("plugins", plugins);
	o.set("resident_bytes", static_cast<Poco::Int64>(MetricsReport::residentBytes()));
	o.set("open_files", static_cast<Poco::Int64>(MetricsReport::openFiles()));
	return ok(o);
}


bool AdminApi::prefixAndLimit(const AdminRequest& request, std::size_t maxLimit, std::string& prefix, std::size_t& limit, AdminResponse& failure)
{
	for (const auto& kv: request.query)
	{
		if (kv.first == "prefix")
		{
			prefix = kv.second;
			if (prefix.size() > 64)
			{
				failure = error(400, "prefix: at most 64 characters");
				return false;
			}
		}
		else if (kv.first == "limit")
		{
			unsigned value = 0;
			if (!Poco::NumberParser::tryParseUnsigned(kv.second, value) || value < 1 || value > maxLimit)
			{
				failure = error(400, "limit: expected a whole number from 1 to " + std::to_string(maxLimit) + ", got \"" + protocol::escaped(kv.second, 32) + "\"");
				return false;
			}
			limit = value;
		}
		else
		{
			failure = error(400, "unknown query parameter \"" + protocol::escaped(kv.first, 64) + "\" (prefix, limit)");
			return false;
		}
	}
	return true;
}


AdminResponse AdminApi::listSessions(const AdminRequest& request) const
{
	std::string prefix;
	std::size_t limit = DEFAULT_LIST_LIMIT;
	AdminResponse failure;
	if (!prefixAndLimit(request, MAX_LIST_LIMIT, prefix, limit, failure)) return failure;
	session::SessionQuery::Page page = _context.query.list(prefix, limit, QUERY_TIMEOUT_MS);
	Poco::JSON::Array sessions;
	for (const auto& s: page.sessions) sessions.add(summaryJson(s));
	Poco::JSON::Object o;
	o.set("sessions", sessions);
	o.set("count", static_cast<Poco::UInt64>(page.sessions.size()));
	o.set("truncated", page.truncated);
	o.set("complete", page.complete);
	return ok(o);
}


AdminResponse AdminApi::findSession(const std::string& uid) const
{
	session::SessionSummary summary;
	if (!_context.query.find(uid, summary, QUERY_TIMEOUT_MS))
	{
		if (!_context.pCluster) return error(404, "uid " + uid + " is not online");
		// Online on another node? Say which; its own admin API has the details.
		std::vector<std::string> nodes;
		try
		{
			nodes = _context.pCluster->locate(uid);
		}
		catch (Poco::Exception& exc)
		{
			return error(503, "uid " + uid + " is not online on this node, and the cluster cannot be asked: " + exc.message());
		}
		if (nodes.empty()) return error(404, "uid " + uid + " is not online (on any node)");
		Poco::JSON::Object o;
		o.set("uid", uid);
		o.set("node", nodes.front());
		Poco::JSON::Array all;
		for (const std::string& node: nodes) all.add(node);
		o.set("nodes", all);
		o.set("local", false);
		return ok(o);
	}
	Poco::JSON::Object o = summaryJson(summary);
	if (_context.pCluster)
	{
		o.set("node", _context.pCluster->nodeId());
		o.set("local", true);
	}
	try
	{
		// Read on this (admin) thread, never on a loop.
		o.set("pending", static_cast<Poco::UInt64>(_context.store.pendingCount(uid)));
	}
	catch (Poco::Exception& exc)
	{
		o.set("pending_error", exc.message());
	}
	return ok(o);
}


AdminResponse AdminApi::kick(const std::string& uid, const AdminRequest& request) const
{
	std::string message = "kicked by an administrator";
	if (!request.body.empty())
	{
		Poco::JSON::Object::Ptr pObject;
		AdminResponse failure;
		if (!parseObject(request.body, "{\"message\": \"...\"}", pObject, failure)) return failure;
		for (const auto& kv: *pObject)
		{
			if (kv.first != "message") return error(400, "unknown field \"" + protocol::escaped(kv.first, 64) + "\" (message)");
			if (!kv.second.isString()) return error(400, "message: expected a string");
			message = kv.second.extract<std::string>();
		}
		if (message.size() > MAX_KICK_MESSAGE) return error(400, "message: at most " + std::to_string(MAX_KICK_MESSAGE) + " bytes");
	}
	bool kicked = _context.sessions.kickUid(uid, imgate::KickReason::ADMIN, message);
	Poco::JSON::Array nodes;
	if (kicked && _context.pCluster) nodes.add(_context.pCluster->nodeId());
	if (_context.pCluster)
	{
		// Its sessions on other nodes too (several, under perDevice).
		try
		{
			const std::vector<std::string> elsewhere = _context.pCluster->locate(uid);
			if (!elsewhere.empty())
			{
				_context.pCluster->kick(uid, message);
				for (const std::string& node: elsewhere) nodes.add(node);
				kicked = true;
			}
		}
		catch (Poco::Exception& exc)
		{
			if (!kicked) return error(503, "uid " + uid + " is not online on this node, and the cluster cannot be asked: " + exc.message());
		}
	}
	if (!kicked) return error(404, "uid " + uid + " is not online");
	_logger.information("admin: kick uid=%s (asked from %s)", uid, request.peer);
	Poco::JSON::Object o;
	o.set("uid", uid);
	o.set("kicked", true);
	if (_context.pCluster) o.set("nodes", nodes);
	return ok(o);
}

bool AdminApi::canonicalAddressOrBlock(const std::string& text, std::string& canonical, std::string& error)
{
	// The SDK's one parser, as the blacklist reads its files: strictly
	// (inet_pton: no "127.1", no leading zeros, no spaces, no zone, no host
	// bits), and in the one spelling the blacklist compares and lists.
	AddressRange range;
	if (!AddressRange::parse(text, range, error))
	{
		error = "address: " + error;
		return false;
	}
	canonical = range.toString();
	return true;
}


bool AdminApi::numbersInRange(const std::string& json, std::string& problem)
{
	// POCO 1.11's JSON parser wraps an integer above 2^64 - 1 around
	// (18446744073709551616 reads as 0) and keeps one above 2^63 - 1 as
	// unsigned, which no field here takes: find such a literal in the text
	// itself, with the key it belongs to.
	static const std::string INT64_MAX_TEXT = "9223372036854775807";
	std::string key;       // the last string that was followed by ':'
	std::string lastString;
	std::size_t i = 0;
	while (i < json.size())
	{
		const char c = json[i];
		if (c == '"')
		{
			std::size_t end = i + 1;
			while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
			lastString = json.substr(i + 1, end > json.size() ? std::string::npos : end - i - 1);
			i = end + 1;
			continue;
		}
		if (c == ':')
		{
			key = lastString;
			++i;
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9'))
		{
			std::size_t end = i + (c == '-' ? 1 : 0);
			while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
			const std::size_t first = i + (c == '-' ? 1 : 0);
			const bool fraction = end < json.size() && (json[end] == '.' || json[end] == 'e' || json[end] == 'E');
			std::size_t digitsStart = first;
			while (digitsStart + 1 < end && json[digitsStart] == '0') ++digitsStart;
			const std::size_t digits = end - digitsStart;
			if (!fraction && (digits > INT64_MAX_TEXT.size()
				|| (digits == INT64_MAX_TEXT.size() && json.compare(digitsStart, digits, INT64_MAX_TEXT) > 0)))
			{
				problem = (key.empty() ? std::string("a number") : key) + ": " + json.substr(i, std::min<std::size_t>(end - i, 40)) + " is out of range";
				return false;
			}
			while (end < json.size() && (std::isalnum(static_cast<unsigned char>(json[end])) || json[end] == '.' || json[end] == '+' || json[end] == '-')) ++end;
			i = end;
			continue;
		}
		++i;
	}
	return true;
}


bool AdminApi::parseObject(const std::string& body, const std::string& example, Poco::JSON::Object::Ptr& pObject, AdminResponse& failure)
{
	std::string problem;
	if (!numbersInRange(body, problem))
	{
		failure = error(400, problem);
		return false;
	}
	try
	{
		pObject = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
		return true;
	}
	catch (Poco::BadCastException&)
	{
		failure = error(400, "the body must be a JSON object, like " + example);
	}
	catch (Poco::Exception& exc)
	{
		failure = error(400, "the body is not valid JSON: " + (exc.message().empty() ? exc.displayText() : exc.message()));
	}
	return false;
}


AdminResponse AdminApi::listBans() const
{
	Poco::JSON::Array bans;
	for (const BanRequest& ban: _context.filters.listBans())
	{
		Poco::JSON::Object o = banTarget(ban);
		o.set("seconds", static_cast<Poco::UInt64>(ban.seconds));
		o.set("reason", ban.reason);
		o.set("origin", ban.origin);
		bans.add(o);
	}
	Poco::JSON::Object o;
	o.set("count", static_cast<Poco::UInt64>(bans.size()));
	o.set("bans", bans);
	return ok(o);
}


AdminResponse AdminApi::addBan(const AdminRequest& request) const
{
	if (!_context.filters.recordsBans())
		return error(409, "no loaded plugin records bans: load the blacklist plugin (plugins.load)");
	BanRequest ban;
	ban.origin = "admin";
	Poco::JSON::Object::Ptr pObject;
	AdminResponse failure;
	if (!parseObject(request.body, "{\"uid\": \"mallory\", \"seconds\": 3600}", pObject, failure)) return failure;
	for (const auto& kv: *pObject)
	{
		if (kv.first == "address" || kv.first == "uid" || kv.first == "reason")
		{
			if (!kv.second.isString()) return error(400, kv.first + ": expected a string");
			const std::string value = kv.second.extract<std::string>();
			(kv.first == "address" ? ban.address : kv.first == "uid" ? ban.uid : ban.reason) = value;
		}
		else if (kv.first == "seconds")
		{
			if (!kv.second.isInteger() || kv.second.type() == typeid(bool) || kv.second.convert<Poco::Int64>() < 0 || kv.second.convert<Poco::Int64>() > MAX_BAN_SECONDS)
				return error(400, "seconds: expected a whole number from 0 (until lifted) to " + std::to_string(MAX_BAN_SECONDS));
			ban.seconds = static_cast<unsigned>(kv.second.convert<Poco::Int64>());
		}
		else return error(400, "unknown field \"" + protocol::escaped(kv.first, 64) + "\" (address, uid, seconds, reason)");
	}
	if (ban.address.empty() && ban.uid.empty()) return error(400, "give an address (or CIDR block), a uid, or both");
	std::string problem;
	if (!ban.address.empty() && !canonicalAddressOrBlock(ban.address, ban.address, problem)) return error(400, problem);
	if (!ban.uid.empty() && !protocol::isValidUid(ban.uid)) return error(400, "uid: " + UID_RULE);
	if (ban.reason.size() > MAX_BAN_REASON) return error(400, "reason: at most " + std::to_string(MAX_BAN_REASON) + " bytes");
	if (ban.reason.empty()) ban.reason = "banned by an administrator";
	_logger.information("admin: ban address=%s uid=%s %s (asked from %s)", ban.address, ban.uid,
		ban.seconds ? "for " + std::to_string(ban.seconds) + " s" : std::string("until lifted"), request.peer);
	// Allowed (an operator may mean it), never silently: as for the ban files.
	const std::string everything = ban.address == "0.0.0.0/0" ? "every IPv4 address" : ban.address == "::/0" ? "every IPv6 address" : "";
	if (!everything.empty()) _logger.warning("admin: the ban of %s bans %s (asked from %s)", ban.address, everything, request.peer);
	// Straight to the plugins' ban stores, which say whether they kept it.
	if (!_context.filters.recordBan(ban)) return error(507, "no plugin recorded the ban (the blacklist's ban table may be full: see its log)");
	Poco::JSON::Object o = banTarget(ban);
	if (!everything.empty()) o.set("warning", ban.address + " bans " + everything);
	o.set("seconds", static_cast<Poco::UInt64>(ban.seconds));
	o.set("banned", true);
	return ok(o);
}


AdminResponse AdminApi::removeBan(const AdminRequest& request) const
{
	BanRequest ban;
	ban.origin = "admin";
	for (const auto& kv: request.query)
	{
		if (kv.first == "address") ban.address = kv.second;
		else if (kv.first == "uid") ban.uid = kv.second;
		else return error(400, "unknown query parameter \"" + protocol::escaped(kv.first, 64) + "\" (address, uid)");
	}
	if (ban.address.empty() == ban.uid.empty()) return error(400, "give exactly one of ?address= and ?uid=");
	std::string problem;
	if (!ban.address.empty() && !canonicalAddressOrBlock(ban.address, ban.address, problem)) return error(400, problem);
	if (!ban.uid.empty() && !protocol::isValidUid(ban.uid)) return error(400, "uid: " + UID_RULE);
	if (!_context.filters.unban(ban))
		return error(404, "no ban of " + (ban.address.empty() ? "uid " + ban.uid : "address " + ban.address) + " to lift (bans from the blacklist file stay: edit the file)");
	_logger.information("admin: lifted ban of address=%s uid=%s (asked from %s)", ban.address, ban.uid, request.peer);
	Poco::JSON::Object o = banTarget(ban);
	o.set("lifted", true);
	return ok(o);
}

} } // namespace imgate::admin
