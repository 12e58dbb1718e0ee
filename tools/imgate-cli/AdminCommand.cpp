//
// AdminCommand.cpp
//

#include "tools/imgate-cli/AdminCommand.h"
#include "Poco/Environment.h"
#include "Poco/FileStream.h"
#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/NumberParser.h"
#include "Poco/StreamCopier.h"
#include "Poco/String.h"
#include "Poco/URI.h"
#include <sstream>

namespace imgate {
namespace client {

namespace {

struct Answer
{
	int status = 0;
	Poco::JSON::Object::Ptr pBody;
};


std::string readToken(const AdminCommand::Options& o)
{
	if (!o.tokenFile.empty())
	{
		Poco::FileInputStream in(o.tokenFile);
		std::string text;
		Poco::StreamCopier::copyToString(in, text);
		return Poco::trim(text);
	}
	return Poco::trim(Poco::Environment::get("IMGATE_ADMIN_TOKEN", ""));
}


Answer call(const AdminCommand::Options& o, const std::string& method, const std::string& path, const std::string& body)
{
	Poco::Net::HTTPClientSession session(o.host, o.port);
	session.setTimeout(Poco::Timespan(10, 0));
	Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
	const std::string token = readToken(o);
	if (!token.empty()) request.set("Authorization", "Bearer " + token);
	if (method == "POST" || method == "PUT" || method == "DELETE")
	{
		request.setContentType("application/json");
		request.setContentLength(static_cast<std::streamsize>(body.size()));
	}
	session.sendRequest(request) << body;
	Poco::Net::HTTPResponse response;
	std::istream& in = session.receiveResponse(response);
	std::string text;
	Poco::StreamCopier::copyToString(in, text);
	Answer a;
	a.status = response.getStatus();
	if (a.status == 204) a.pBody = new Poco::JSON::Object; // No Content
	else a.pBody = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
	return a;
}


std::string field(const Poco::JSON::Object::Ptr& p, const std::string& name)
{
	return p->has(name) ? p->get(name).toString() : std::string();
}


void printSessions(const Poco::JSON::Object::Ptr& p, std::ostream& out)
{
	Poco::JSON::Array::Ptr pSessions = p->getArray("sessions");
	out << "uid\tpeer\tdevice\tlogin_time\tin_flight\n";
	for (std::size_t i = 0; i < pSessions->size(); ++i)
	{
		Poco::JSON::Object::Ptr s = pSessions->getObject(static_cast<unsigned>(i));
		out << field(s, "uid") << '\t' << field(s, "peer") << '\t' << field(s, "device") << '\t'
			<< field(s, "login_time") << '\t' << field(s, "in_flight") << '\n';
	}
	out << field(p, "count") << " sessions";
	if (p->getValue<bool>("truncated")) out << " (more match: raise --limit or narrow --prefix)";
	if (!p->getValue<bool>("complete")) out << " (incomplete: an event loop did not answer in time)";
	out << '\n';
}


void printBans(const Poco::JSON::Object::Ptr& p, std::ostream& out)
{
	Poco::JSON::Array::Ptr pBans = p->getArray("bans");
	out << "address\tuid\tseconds_left\torigin\treason\n";
	for (std::size_t i = 0; i < pBans->size(); ++i)
	{
		Poco::JSON::Object::Ptr b = pBans->getObject(static_cast<unsigned>(i));
		const std::string seconds = field(b, "seconds");
		out << field(b, "address") << '\t' << field(b, "uid") << '\t' << (seconds == "0" ? std::string("until lifted") : seconds)
			<< '\t' << field(b, "origin") << '\t' << field(b, "reason") << '\n';
	}
	out << field(p, "count") << " bans\n";
}


void printGroup(const Poco::JSON::Object::Ptr& p, std::ostream& out)
{
	Poco::JSON::Array::Ptr pMembers = p->getArray("members");
	out << "group " << field(p, "gid") << ": " << pMembers->size() << " members\n";
	for (std::size_t i = 0; i < pMembers->size(); ++i) out << pMembers->getElement<std::string>(static_cast<unsigned>(i)) << '\n';
}


void printGroups(const Poco::JSON::Object::Ptr& p, std::ostream& out)
{
	Poco::JSON::Array::Ptr pGroups = p->getArray("groups");
	for (std::size_t i = 0; i < pGroups->size(); ++i) out << pGroups->getElement<std::string>(static_cast<unsigned>(i)) << '\n';
	out << pGroups->size() << " groups";
	if (p->getValue<bool>("truncated")) out << " (more match: raise --limit or narrow --prefix)";
	out << '\n';
}


std::string membersBody(const std::string& field, const std::vector<std::string>& args, std::size_t first)
{
	Poco::JSON::Array uids;
	for (std::size_t i = first; i < args.size(); ++i) uids.add(args[i]);
	Poco::JSON::Object o;
	o.set(field, uids);
	std::ostringstream text;
	o.stringify(text);
	return text.str();
}


void printObject(const Poco::JSON::Object::Ptr& p, std::ostream& out)
{
	std::vector<std::string> names;
	p->getNames(names);
	for (const auto& name: names) out << name << ": " << p->get(name).toString() << '\n';
}

} // namespace


const char* AdminCommand::usage()
{
	return "       imgate-cli admin [--admin-host H] [--admin-port P] [--admin-token-file F] stats\n"
	       "       imgate-cli admin ... sessions [--prefix P] [--limit N] | session UID | kick UID [MESSAGE]\n"
	       "       imgate-cli admin ... bans | ban address|uid VALUE [SECONDS [REASON]] | unban address|uid VALUE\n"
	       "       imgate-cli admin ... group list [--prefix P] [--limit N] | group show|delete GID\n"
	       "       imgate-cli admin ... group create GID [UID...] | group add|remove GID UID...\n";
}


int AdminCommand::run(const Options& o, std::ostream& out, std::ostream& err)
{
	const std::vector<std::string>& a = o.args;
	// A uid travels in the path: escape what a path cannot hold.
	std::string uid;
	if (a.size() >= 2) Poco::URI::encode(a[1], "/?#%", uid);
	std::string method = "GET";
	std::string path;
	std::string body;
	if (a.size() == 1 && a[0] == "stats") path = "/v1/stats";
	else if (a.size() == 1 && a[0] == "sessions")
	{
		Poco::URI uri("/v1/sessions");
		if (!o.prefix.empty()) uri.addQueryParameter("prefix", o.prefix);
		if (o.limit > 0) uri.addQueryParameter("limit", std::to_string(o.limit));
		path = uri.getPathAndQuery();
	}
	else if (a.size() == 2 && a[0] == "session") path = "/v1/sessions/" + uid;
	else if ((a.size() == 2 || a.size() == 3) && a[0] == "kick")
	{
		method = "POST";
		path = "/v1/sessions/" + uid + "/kick";
		if (a.size() == 3)
		{
			Poco::JSON::Object o2;
			o2.set("message", a[2]);
			std::ostringstream text;
			o2.stringify(text);
			body = text.str();
		}
	}
	else if (a.size() == 1 && a[0] == "bans") path = "/v1/bans";
	else if (a.size() >= 3 && a.size() <= 5 && a[0] == "ban" && (a[1] == "address" || a[1] == "uid"))
	{
		method = "POST";
		path = "/v1/bans";
		Poco::JSON::Object request;
		request.set(a[1], a[2]);
		if (a.size() >= 4)
		{
			unsigned seconds = 0;
			if (!Poco::NumberParser::tryParseUnsigned(a[3], seconds))
			{
				err << "imgate-cli: ban: SECONDS must be a whole number (0: until lifted)\n";
				return EXIT_USAGE;
			}
			request.set("seconds", seconds);
		}
		if (a.size() == 5) request.set("reason", a[4]);
		std::ostringstream text;
		request.stringify(text);
		body = text.str();
	}
	else if (a.size() >= 2 && a[0] == "group")
	{
		std::string gid;
		if (a.size() >= 3) Poco::URI::encode(a[2], "/?#%", gid);
		if (a.size() == 2 && a[1] == "list")
		{
			Poco::URI uri("/v1/groups");
			if (!o.prefix.empty()) uri.addQueryParameter("prefix", o.prefix);
			if (o.limit > 0) uri.addQueryParameter("limit", std::to_string(o.limit));
			path = uri.getPathAndQuery();
		}
		else if (a.size() == 3 && a[1] == "show") path = "/v1/groups/" + gid;
		else if (a.size() == 3 && a[1] == "delete")
		{
			method = "DELETE";
			path = "/v1/groups/" + gid;
		}
		else if (a.size() >= 3 && a[1] == "create")
		{
			method = "PUT";
			path = "/v1/groups/" + gid;
			body = membersBody("members", a, 3);
		}
		else if (a.size() >= 4 && (a[1] == "add" || a[1] == "remove"))
		{
			method = "POST";
			path = "/v1/groups/" + gid + "/members";
			body = membersBody(a[1], a, 3);
		}
		else
		{
			err << "imgate-cli: admin group takes list, show GID, delete GID, create GID [UID...], add GID UID... or remove GID UID...\n";
			return EXIT_USAGE;
		}
	}
	else if (a.size() == 3 && a[0] == "unban" && (a[1] == "address" || a[1] == "uid"))
	{
		method = "DELETE";
		Poco::URI uri("/v1/bans");
		uri.addQueryParameter(a[1], a[2]);
		path = uri.getPathAndQuery();
	}
	else
	{
		err << "imgate-cli: admin takes stats, sessions, session UID, kick UID [MESSAGE], bans,\n"
		       "            ban address|uid VALUE [SECONDS [REASON]] or unban address|uid VALUE\n";
		return EXIT_USAGE;
	}
	Answer answer;
	try
	{
		answer = call(o, method, path, body);
	}
	catch (Poco::JSON::JSONException& exc)
	{
		err << "imgate-cli: the admin listener did not answer JSON: " << exc.message() << '\n';
		return EXIT_CONNECTION;
	}
	catch (Poco::Exception& exc)
	{
		err << "imgate-cli: admin " << o.host << ":" << o.port << ": " << exc.displayText() << '\n';
		return EXIT_CONNECTION;
	}
	if (answer.status != 200 && answer.status != 204)
	{
		err << "imgate-cli: " << answer.status << ": " << field(answer.pBody, "error") << '\n';
		return EXIT_ERROR_STATUS;
	}
	if (a[0] == "sessions") printSessions(answer.pBody, out);
	else if (a[0] == "kick") out << "kicked " << field(answer.pBody, "uid") << '\n';
	else if (a[0] == "bans") printBans(answer.pBody, out);
	else if (a[0] == "ban")
	{
		const std::string seconds = field(answer.pBody, "seconds");
		out << "banned " << a[1] << " " << a[2] << (seconds == "0" ? " until lifted" : " for " + seconds + " s") << '\n';
	}
	else if (a[0] == "unban") out << "lifted the ban of " << a[1] << " " << a[2] << '\n';
	else if (a[0] == "group" && a[1] == "list") printGroups(answer.pBody, out);
	else if (a[0] == "group" && a[1] == "delete") out << "deleted group " << a[2] << '\n';
	else if (a[0] == "group") printGroup(answer.pBody, out);
	else printObject(answer.pBody, out);
	return EXIT_OK;
}

} } // namespace imgate::client
