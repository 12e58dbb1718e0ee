//
// AdminApi.h
//
// Layer: admin
// What the admin listener answers, as plain requests and responses (the
// HTTP glue is AdminServer): /metrics, /healthz, /readyz and the /v1/ API
// (docs/operations.md, "Admin API").
//

#ifndef imgate_admin_AdminApi_INCLUDED
#define imgate_admin_AdminApi_INCLUDED

#include "server/admin/AdminContext.h"
#include "server/admin/AdminListenerCounters.h"
#include "Poco/JSON/Object.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include "Poco/Clock.h"
#include "Poco/Timestamp.h"
#include <string>
#include <vector>
#include <utility>

namespace imgate {
namespace admin {

struct AdminRequest
{
	std::string method;
	std::string path;           /// Without the query.
	std::vector<std::pair<std::string, std::string>> query; /// Decoded.
	std::string authorization;  /// The Authorization header, or "".
	std::string body;
	std::string peer;           /// For the log.
};


struct AdminResponse
{
	int status = 200;
	std::string contentType = "application/json";
	std::string body;
	std::string allow;          /// For 405.
	bool challenge = false;     /// For 401: WWW-Authenticate: Bearer.
};


class AdminApi
	/// Any admin thread; holds no state but the token.
	///
	/// /v1/ needs "Authorization: Bearer TOKEN" when a token is set; a
	/// wrong or missing one gets 401 with no detail. Without a token the
	/// API answers 403, unless allowNoToken (loopback only, checked by the
	/// settings). Errors are JSON: {"error": "..."}.
{
public:
	enum
	{
		MAX_LIST_LIMIT = 10000,  /// GET /v1/sessions?limit=
		DEFAULT_LIST_LIMIT = 100,
		QUERY_TIMEOUT_MS = 2000, /// How long a request waits for the loops.
		MAX_KICK_MESSAGE = 256,
		MAX_BAN_SECONDS = 31536000, /// A year.
		MAX_BAN_REASON = 256,
		MAX_REFUSAL_LOGS = 10   /// Refused admin requests logged per minute.
	};

	AdminApi(const AdminContext& context, const std::string& token, bool allowNoToken,
		const AdminListenerCounters* pListener = nullptr);
		/// token: "" for none. pListener: the admin listener's own counters
		/// for /metrics (borrowed; null leaves them out).

	AdminResponse handle(const AdminRequest& request) const;

	bool wantsBody(const AdminRequest& request) const;
		/// Whether request (without its body yet) is one whose body is read:
		/// an authorized POST or PUT under /v1/. Any other body is never read, so
		/// no one without the token can hold an admin thread by sending one
		/// slowly.

	static bool numbersInRange(const std::string& json, std::string& problem);
		/// False, with problem naming the key and the number, if the JSON
		/// text has an integer literal beyond +-(2^63 - 1), which POCO's
		/// parser would silently wrap (2^64 reads as 0) or keep unsigned.
		/// Text that is not JSON passes: the parser reports it.

	static bool sameSecret(const std::string& a, const std::string& b);
		/// Compares in time independent of where they differ.

	static bool canonicalAddressOrBlock(const std::string& text, std::string& canonical, std::string& error);
		/// An IPv4 or IPv6 address, or a CIDR block without host bits
		/// ("10.0.0.0/8"), parsed by the SDK's imgate::AddressRange::parse()
		/// (the blacklist's files are read the same way); canonical is its
		/// one spelling (AddressRange::toString(): inet_ntop, an IPv4-mapped
		/// address as its IPv4 one, the prefix only if shorter than the
		/// address). error says what is wrong, starting "address: ".

	static AdminResponse error(int status, const std::string& message);
		/// status with {"error": message} (bytes that are not UTF-8 as \\xNN).
	static AdminResponse ok(const Poco::JSON::Object& object);
		/// 200 with object.
	static bool parseObject(const std::string& body, const std::string& example, Poco::JSON::Object::Ptr& pObject, AdminResponse& failure);
		/// body as a JSON object; else failure is the 400 naming the
		/// problem (not JSON, or not an object: example shows one).
	static AdminResponse methodNotAllowed(const std::string& allow);
	static bool prefixAndLimit(const AdminRequest& request, std::size_t maxLimit, std::string& prefix, std::size_t& limit, AdminResponse& failure);
		/// The query ?prefix=P&limit=N (either may be missing: prefix and
		/// limit keep their values); else failure is the 400 naming the
		/// parameter.

private:
	AdminResponse metrics() const;
	AdminResponse health() const;
	AdminResponse readiness() const;
	AdminResponse api(const AdminRequest& request) const;
	AdminResponse stats() const;
	AdminResponse listSessions(const AdminRequest& request) const;
	AdminResponse findSession(const std::string& uid) const;
	AdminResponse kick(const std::string& uid, const AdminRequest& request) const;
	AdminResponse listBans() const;
	AdminResponse addBan(const AdminRequest& request) const;
	AdminResponse removeBan(const AdminRequest& request) const;
	bool authorized(const AdminRequest& request) const;
	void logRefusal(const AdminRequest& request) const;
		/// At most MAX_REFUSAL_LOGS lines a minute, then a count.

	const AdminContext& _context;
	const AdminListenerCounters* _pListener;
	const std::string _token;
	const bool _allowNoToken;
	Poco::Logger& _logger;
	mutable Poco::FastMutex _refusalMutex;
	mutable Poco::Clock _refusalWindow; /// Monotonic: a clock step must not mute the log.
	mutable unsigned _refusals = 0;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminApi_INCLUDED
