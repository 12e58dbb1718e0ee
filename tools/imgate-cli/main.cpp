//
// main.cpp
//
// imgate-cli: a small protocol-v1 client for people and scripts.
//
//   imgate-cli CONNECTION --uid U [--token T] [--device D] send [--transient] (TO | --group G) TEXT
//   imgate-cli CONNECTION --uid U [--token T] [--device D] listen [--carbons] [--count N] [--seconds S]
//   imgate-cli CONNECTION --uid U [--token T] [--device D] history [--with UID | --group G] [--limit N]
//   imgate-cli CONNECTION ping
//     CONNECTION: [--host H] [--port P] [--tls [--ca FILE]] | --ws URL [--ca FILE] [--origin O]
//   imgate-cli token (--secret S | --secret-file F) --uid U [--ttl SECONDS] [--issuer I] [--audience A]
//   imgate-cli secret --secret-file F [--group G]
//   imgate-cli admin [--admin-host H] [--admin-port P] [--admin-token-file F] stats|sessions|session UID|kick UID [MESSAGE]
//
// Exit codes: 0 success; 1 the server answered with an error status;
// 2 usage; 3 cannot connect, timeout or connection lost.
//

#include "tools/imgate-cli/ImgateClient.h"
#include "tools/imgate-cli/AdminCommand.h"
#include "tools/imgate-cli/SessionCommand.h"
#include "Poco/URI.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/Exception.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"
#include "Poco/String.h"
#include <fstream>
#include <sstream>
#include "Poco/NumberParser.h"
#include "Poco/Timestamp.h"
#include <iostream>
#include <map>
#include <random>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

using imgate::client::ImgateClient;
using imgate::client::Reply;
using imgate::protocol::Command;
using imgate::protocol::Status;

namespace {

const int EXIT_ERROR_STATUS = 1;
const int EXIT_USAGE = 2;
const int EXIT_CONNECTION = 3;

void usage(std::ostream& out)
{
	out << "usage: imgate-cli CONNECTION --uid U [--token T] [--device D] send [--transient] (TO | --group G) TEXT\n"
	       "       imgate-cli CONNECTION --uid U [--token T] [--device D] listen [--carbons] [--count N] [--seconds S]\n"
	       "       imgate-cli CONNECTION --uid U [--token T] [--device D] history [--with UID | --group G] [--limit N]\n"
	       "       imgate-cli CONNECTION ping\n"
	       "       imgate-cli token (--secret S | --secret-file F) --uid U [--ttl SECONDS] [--issuer I] [--audience A]\n"
	       "       imgate-cli secret --secret-file F [--group G]\n"
	    << imgate::client::AdminCommand::usage() <<
	       "       imgate-cli --help | --version\n"
	       "CONNECTION is [--host H] [--port P] (plain TCP; default 127.0.0.1:7700),\n"
	       "[--host H] --port P --tls [--ca FILE] (TLS on the server's tls.port), or\n"
	       "--ws URL [--ca FILE] [--origin O] (WebSocket: ws://HOST:PORT/imgate, or\n"
	       "wss://... over TLS). The server's certificate is verified against the CA\n"
	       "certificates in FILE (PEM), else the system's (/etc/ssl/certs), and must\n"
	       "name the host connected to (an IP address must be in the certificate).\n"
	       "listen prints each delivery as\n"
	       "'msg_id=N from=UID [group=G | to=UID] [transient]: TEXT', acknowledges it, and\n"
	       "runs until KICK, --count deliveries or --seconds seconds; --carbons also shows\n"
	       "what the uid sends from other devices (session.devicePolicy = perDevice).\n"
	       "history prints the uid's stored messages, newest first (protocol 1.1). token prints an HS256 JWT for the auth-jwt\n"
	       "plugin (sub = uid, exp = now + ttl, default 3600 s). secret writes a new random\n"
	       "HS256 secret (64 hex digits) to F, mode 0640 (group G if given), and never\n"
	       "overwrites an existing F. admin talks to the admin API (default\n"
	       "127.0.0.1:7780; token from --admin-token-file or IMGATE_ADMIN_TOKEN).\n"
	       "Exit codes: 0 ok, 1 error status from the server\n"
	       "(or F exists), 2 usage, 3 connection failure or timeout.\n";
}

std::string describe(const Reply& reply)
{
	std::string text = imgate::protocol::statusName(reply.status);
	std::string message;
	if (reply.command() == Command::LOGIN_RESP) message = reply.parse<imgate::v1::LoginResponse>().message();
	else if (reply.command() == Command::ERROR) message = reply.parse<imgate::v1::Error>().message();
	if (!message.empty()) text += ": " + message;
	return text;
}

struct Options
{
	std::string host = "127.0.0.1";
	Poco::UInt16 port = 7700;
	bool tls = false;       /// --tls
	std::string ca;         /// --ca: PEM CA certificates (TLS, wss)
	std::string ws;         /// --ws URL
	std::string origin;     /// --origin (WebSocket)
	std::string uid;
	std::string token;
	std::string device = "imgate-cli";
	std::string command;
	std::vector<std::string> args;
	long count = 0;
	long seconds = 0;
	std::string secret;
	std::string secretFile;
	long ttl = 3600;
	std::string issuer;
	std::string audience;
	std::string group;      /// secret: the file's group; send, history: the chat group
	std::string with;       /// history --with
	bool transient = false; /// send --transient
	bool carbons = false;   /// listen --carbons
	long limit = 0;         /// history --limit
	imgate::client::AdminCommand::Options admin;
};

bool parseNumber(const std::string& text, long min, long max, long& value)
{
	int v;
	if (!Poco::NumberParser::tryParse(text, v) || v < min || v > max) return false;
	value = v;
	return true;
}

int runToken(const Options& o)
{
	std::string secret = o.secret;
	if (!o.secretFile.empty())
	{
		std::ifstream in(o.secretFile, std::ios::binary);
		if (!in)
		{
			std::cerr << "imgate-cli: cannot read " << o.secretFile << std::endl;
			return EXIT_USAGE;
		}
		std::ostringstream ss;
		ss << in.rdbuf();
		secret = Poco::trimRight(ss.str());
	}
	if (secret.size() < 32)
	{
		std::cerr << "imgate-cli: an HS256 secret needs at least 32 bytes" << std::endl;
		return EXIT_USAGE;
	}
	Poco::JWT::Token token;
	token.setType("JWT");
	token.setSubject(o.uid);
	Poco::Int64 now = Poco::Timestamp().epochTime();
	token.payload().set("iat", now);
	token.payload().set("exp", now + o.ttl);
	if (!o.issuer.empty()) token.setIssuer(o.issuer);
	if (!o.audience.empty()) token.setAudience(o.audience);
	Poco::JWT::Signer signer(secret);
	std::cout << signer.sign(token, Poco::JWT::Signer::ALGO_HS256) << std::endl;
	return 0;
}

int runSecret(const Options& o)
	/// Made for package scripts: all or nothing, never over an existing file.
{
	const std::string& path = o.secretFile;
	gid_t gid = static_cast<gid_t>(-1);
	if (!o.group.empty())
	{
		struct group* pGroup = getgrnam(o.group.c_str());
		if (!pGroup)
		{
			std::cerr << "imgate-cli: no group " << o.group << std::endl;
			return EXIT_USAGE;
		}
		gid = pGroup->gr_gid;
	}
	if (access(path.c_str(), F_OK) == 0)
	{
		std::cerr << "imgate-cli: " << path << " exists; not overwritten" << std::endl;
		return EXIT_ERROR_STATUS;
	}
	unsigned char bytes[32];
	std::ifstream random("/dev/urandom", std::ios::binary);
	if (!random.read(reinterpret_cast<char*>(bytes), sizeof(bytes)))
	{
		std::cerr << "imgate-cli: cannot read /dev/urandom" << std::endl;
		return EXIT_ERROR_STATUS;
	}
	static const char HEX[] = "0123456789abcdef";
	std::string text;
	for (unsigned char b: bytes)
	{
		text += HEX[b >> 4];
		text += HEX[b & 15];
	}
	text += '\n';
	const std::string temp = path + ".new";
	auto fail = [&](const std::string& what)
	{
		std::cerr << "imgate-cli: " << what << ": " << std::strerror(errno) << std::endl;
		unlink(temp.c_str());
		return EXIT_ERROR_STATUS;
	};
	unlink(temp.c_str()); // a leftover of an interrupted run
	int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) return fail("cannot create " + temp);
	bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
		&& (gid == static_cast<gid_t>(-1) || fchown(fd, static_cast<uid_t>(-1), gid) == 0)
		&& fchmod(fd, 0640) == 0 && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	errno = saved;
	if (!ok) return fail("cannot write " + temp);
	// link() fails if path appeared meanwhile: an existing secret always wins.
	if (link(temp.c_str(), path.c_str()) != 0) return fail("cannot create " + path);
	unlink(temp.c_str());
	std::cout << "wrote a new secret to " << path << std::endl;
	return 0;
}


int runSession(const Options& o)
	/// send, listen, history: on the client library, without reconnects.
{
	imgate::client::SessionCommand::Options so;
	imgate::client::ClientOptions& c = so.client;
	c.host = o.host;
	c.port = o.port;
	c.tls = o.tls;
	c.caFile = o.ca;
	if (!o.ws.empty())
	{
		Poco::URI uri(o.ws);
		if (uri.getHost().empty()) throw Poco::SyntaxException("no host in the URL", o.ws);
		c.tls = Poco::icompare(uri.getScheme(), "wss") == 0;
		c.host = uri.getHost();
		c.port = uri.getSpecifiedPort() ? uri.getSpecifiedPort() : (c.tls ? 443 : 80);
		c.webSocketPath = uri.getPathEtc().empty() ? "/" : uri.getPathEtc();
		c.origin = o.origin;
	}
	c.uid = o.uid;
	c.token = o.token;
	c.device = o.device;
	c.carbons = o.carbons;
	c.clientVersion = std::string("imgate-cli/") + IMGATE_VERSION;
	c.connectTimeout = Poco::Timespan(5, 0);
	so.command = o.command;
	so.args = o.args;
	so.group = o.group;
	so.with = o.with;
	so.transient = o.transient;
	so.count = o.count;
	so.seconds = o.seconds;
	so.limit = o.limit;
	return imgate::client::SessionCommand::run(so);
}


int runPing(ImgateClient& client)
{
	Poco::Timestamp start;
	Poco::UInt32 seq = client.nextSeq();
	client.send(Command::HEARTBEAT, seq);
	Reply reply;
	if (!client.receiveReply(reply, Command::HEARTBEAT_RESP, seq, Poco::Timespan(5, 0)))
	{
		std::cerr << "imgate-cli: no HEARTBEAT_RESP within 5 s" << std::endl;
		return EXIT_CONNECTION;
	}
	if (reply.result() != Status::OK)
	{
		std::cerr << "imgate-cli: ping failed: " << describe(reply) << std::endl;
		return EXIT_ERROR_STATUS;
	}
	std::cout << "pong in " << start.elapsed() / 1000.0 << " ms" << std::endl;
	return 0;
}

} // namespace


int main(int argc, char** argv)
{
	Options o;
	std::vector<std::string> args(argv + 1, argv + argc);
	for (std::size_t i = 0; i < args.size(); ++i)
	{
		const std::string& a = args[i];
		auto value = [&](const char* name) -> std::string
		{
			if (i + 1 >= args.size())
			{
				std::cerr << "imgate-cli: " << name << " needs a value" << std::endl;
				std::exit(EXIT_USAGE);
			}
			return args[++i];
		};
		if (a == "--help" || a == "-h") { usage(std::cout); return 0; }
		else if (a == "--version") { std::cout << "imgate-cli " << IMGATE_VERSION << " (protocol v1)" << std::endl; return 0; }
		else if (a == "--host") o.host = value("--host");
		else if (a == "--port")
		{
			long p;
			if (!parseNumber(value("--port"), 1, 65535, p)) { std::cerr << "imgate-cli: --port must be 1 to 65535" << std::endl; return EXIT_USAGE; }
			o.port = static_cast<Poco::UInt16>(p);
		}
		else if (a == "--tls") o.tls = true;
		else if (a == "--ca") o.ca = value("--ca");
		else if (a == "--ws") o.ws = value("--ws");
		else if (a == "--origin") o.origin = value("--origin");
		else if (a == "--uid") o.uid = value("--uid");
		else if (a == "--token") o.token = value("--token");
		else if (a == "--device") o.device = value("--device");
		else if (a == "--secret") o.secret = value("--secret");
		else if (a == "--secret-file") o.secretFile = value("--secret-file");
		else if (a == "--issuer") o.issuer = value("--issuer");
		else if (a == "--audience") o.audience = value("--audience");
		else if (a == "--group") o.group = value("--group");
		else if (a == "--with") o.with = value("--with");
		else if (a == "--transient") o.transient = true;
		else if (a == "--carbons") o.carbons = true;
		else if (a == "--admin-host") o.admin.host = value("--admin-host");
		else if (a == "--admin-port")
		{
			long p;
			if (!parseNumber(value("--admin-port"), 1, 65535, p)) { std::cerr << "imgate-cli: --admin-port must be 1 to 65535" << std::endl; return EXIT_USAGE; }
			o.admin.port = static_cast<Poco::UInt16>(p);
		}
		else if (a == "--admin-token-file") o.admin.tokenFile = value("--admin-token-file");
		else if (a == "--prefix") o.admin.prefix = value("--prefix");
		else if (a == "--limit")
		{
			if (!parseNumber(value("--limit"), 1, 10000, o.admin.limit)) { std::cerr << "imgate-cli: --limit must be 1 to 10000" << std::endl; return EXIT_USAGE; }
			o.limit = o.admin.limit;
		}
		else if (a == "--ttl")
		{
			if (!parseNumber(value("--ttl"), 1, 100000000, o.ttl)) { std::cerr << "imgate-cli: --ttl must be a positive number of seconds" << std::endl; return EXIT_USAGE; }
		}
		else if (a == "--count")
		{
			if (!parseNumber(value("--count"), 1, 1000000000, o.count)) { std::cerr << "imgate-cli: --count must be a positive number" << std::endl; return EXIT_USAGE; }
		}
		else if (a == "--seconds")
		{
			if (!parseNumber(value("--seconds"), 1, 1000000000, o.seconds)) { std::cerr << "imgate-cli: --seconds must be a positive number" << std::endl; return EXIT_USAGE; }
		}
		else if (!a.empty() && a[0] == '-') { std::cerr << "imgate-cli: unknown option " << a << std::endl; usage(std::cerr); return EXIT_USAGE; }
		else if (o.command.empty()) o.command = a;
		else o.args.push_back(a);
	}
	if (o.command.empty()) { usage(std::cerr); return EXIT_USAGE; }
	if (o.command == "send" && o.args.size() != (o.group.empty() ? 2u : 1u)) { std::cerr << "imgate-cli: send takes TO and TEXT, or --group G and TEXT" << std::endl; return EXIT_USAGE; }
	if ((o.command == "listen" || o.command == "ping" || o.command == "history") && !o.args.empty()) { std::cerr << "imgate-cli: " << o.command << " takes no arguments" << std::endl; return EXIT_USAGE; }
	if (o.command == "history" && !o.with.empty() && !o.group.empty()) { std::cerr << "imgate-cli: history takes --with or --group, not both" << std::endl; return EXIT_USAGE; }
	if (o.command == "token")
	{
		if (o.uid.empty() || o.secret.empty() == o.secretFile.empty() || !o.args.empty())
		{
			std::cerr << "imgate-cli: token needs --uid and exactly one of --secret, --secret-file" << std::endl;
			return EXIT_USAGE;
		}
		return runToken(o);
	}
	if (o.command == "admin")
	{
		o.admin.args = o.args;
		return imgate::client::AdminCommand::run(o.admin, std::cout, std::cerr);
	}
	if (o.command == "secret")
	{
		if (o.secretFile.empty() || !o.args.empty())
		{
			std::cerr << "imgate-cli: secret needs --secret-file" << std::endl;
			return EXIT_USAGE;
		}
		return runSecret(o);
	}
	if (o.command != "send" && o.command != "listen" && o.command != "ping" && o.command != "history") { std::cerr << "imgate-cli: unknown command " << o.command << std::endl; usage(std::cerr); return EXIT_USAGE; }
	if (o.command != "ping" && o.uid.empty()) { std::cerr << "imgate-cli: " << o.command << " needs --uid" << std::endl; return EXIT_USAGE; }
	const bool wss = Poco::icompare(o.ws.substr(0, 6), "wss://") == 0;
	if (!o.ws.empty() && !wss && Poco::icompare(o.ws.substr(0, 5), "ws://") != 0) { std::cerr << "imgate-cli: --ws needs a ws:// or wss:// URL" << std::endl; return EXIT_USAGE; }
	if (!o.ws.empty() && o.tls) { std::cerr << "imgate-cli: --ws and --tls exclude each other (wss:// is WebSocket over TLS)" << std::endl; return EXIT_USAGE; }
	if (!o.ca.empty() && !o.tls && !wss) { std::cerr << "imgate-cli: --ca only with --tls or a wss:// URL" << std::endl; return EXIT_USAGE; }
	if (!o.origin.empty() && o.ws.empty()) { std::cerr << "imgate-cli: --origin only with --ws" << std::endl; return EXIT_USAGE; }

	try
	{
		if (o.command != "ping") return runSession(o);
		std::unique_ptr<ImgateClient> pClient;
		imgate::client::TlsOptions tls;
		tls.caFile = o.ca;
		tls.useSystemCAs = true;
		if (o.tls)
		{
			pClient = ImgateClient::connectTls(o.host, o.port, tls);
		}
		else if (!o.ws.empty())
		{
			imgate::client::WebSocketOptions options;
			options.tls = tls;
			options.origin = o.origin;
			pClient = ImgateClient::connectWebSocket(o.ws, options);
		}
		else pClient.reset(new ImgateClient(o.host, o.port));
		return runPing(*pClient);
	}
	catch (Poco::OpenFileException& exc)
	{
		std::cerr << "imgate-cli: " << exc.displayText() << std::endl;
		return EXIT_USAGE;
	}
	catch (Poco::Exception& exc)
	{
		std::cerr << "imgate-cli: " << exc.displayText() << std::endl;
		return EXIT_CONNECTION;
	}
}
