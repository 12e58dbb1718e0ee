//
// AdminServer.cpp
//
// Layer: admin
//

#include "server/admin/AdminServer.h"
#include "Poco/FileStream.h"
#include "Poco/Net/HTTPRequestHandler.h"
#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerRequestImpl.h"
#include "Poco/Logger.h"
#include "Poco/Timestamp.h"
#include "Poco/Net/HTTPServerResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/String.h"
#include "Poco/URI.h"
#include <cctype>
#include <sstream>

namespace imgate {
namespace admin {

namespace {

class Handler: public Poco::Net::HTTPRequestHandler
	/// One request: read a bounded body, ask the AdminApi, write its answer.
{
public:
	Handler(const AdminApi& api, std::size_t maxBodyBytes):
		_api(api),
		_maxBodyBytes(maxBodyBytes)
	{
	}

	void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override
	{
		AdminResponse answer;
		try
		{
			answer = answerFor(request);
		}
		catch (Poco::Exception& exc)
		{
			answer.status = 400;
			answer.body = "{\"error\":\"bad request\"}\n";
		}
		catch (std::exception& exc)
		{
			Poco::Logger::get("imgate.admin").error("%s %s: %s", AdminApi::printable(request.getMethod()),
				AdminApi::printable(request.getURI()), std::string(exc.what()));
			answer.status = 500;
			answer.body = "{\"error\":\"internal error\"}\n";
		}
		// One request per connection: a kept-alive client would hold one of
		// the few admin threads while it idles, and a body left unread must
		// never be taken for the next request.
		response.setKeepAlive(false);
		response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
		response.setContentType(answer.contentType);
		response.set("Cache-Control", "no-store");
		if (!answer.allow.empty()) response.set("Allow", answer.allow);
		if (answer.challenge) response.set("WWW-Authenticate", "Bearer");
		response.setContentLength(static_cast<std::streamsize>(answer.body.size()));
		std::ostream& out = response.send();
		if (request.getMethod() != "HEAD") out << answer.body;
	}

private:
	AdminResponse answerFor(Poco::Net::HTTPServerRequest& request)
	{
		AdminRequest r;
		r.method = request.getMethod();
		r.authorization = request.get("Authorization", "");
		r.peer = request.clientAddress().toString();
		Poco::URI uri(request.getURI());
		r.path = uri.getPath();
		for (const auto& kv: uri.getQueryParameters()) r.query.push_back(kv);
		// A body is read only for an authorized POST under /v1/; without a
		// length or chunks a request has none (reading would wait for the
		// client to close the connection).
		const bool hasBody = request.getChunkedTransferEncoding() || (request.hasContentLength() && request.getContentLength() > 0);
		if (!hasBody || !_api.wantsBody(r)) return _api.handle(r);
		if (request.getContentLength() > static_cast<std::streamsize>(_maxBodyBytes)) return tooLarge();
		// However slowly it comes, the whole body gets BODY_SECONDS.
		static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket().setReceiveTimeout(Poco::Timespan(1, 0));
		const Poco::Timestamp started;
		std::istream& in = request.stream();
		// Byte by byte from the stream's buffer: a block read would wait
		// for a full block however long a slow client takes to send it.
		for (int c = in.get(); c != std::char_traits<char>::eof(); c = in.get())
		{
			r.body += static_cast<char>(c);
			if (r.body.size() > _maxBodyBytes) return tooLarge();
			if (started.isElapsed(AdminServer::BODY_SECONDS * Poco::Timestamp::resolution()))
			{
				AdminResponse late;
				late.status = 408;
				late.body = "{\"error\":\"the body did not arrive within " + std::to_string(AdminServer::BODY_SECONDS) + " s\"}\n";
				return late;
			}
		}
		// A receive timeout ends the stream like its end: never act on a
		// body that stopped short.
		if (in.bad() || (request.hasContentLength() && static_cast<std::streamsize>(r.body.size()) != request.getContentLength()))
		{
			AdminResponse cut;
			cut.status = 408;
			cut.body = "{\"error\":\"the body stopped short of its length\"}\n";
			return cut;
		}
		return _api.handle(r);
	}

	AdminResponse tooLarge() const
	{
		AdminResponse answer;
		answer.status = 413;
		answer.body = "{\"error\":\"the body is larger than admin.maxBodyBytes (" + std::to_string(_maxBodyBytes) + ")\"}\n";
		return answer;
	}

	const AdminApi& _api;
	const std::size_t _maxBodyBytes;
};


class HandlerFactory: public Poco::Net::HTTPRequestHandlerFactory
{
public:
	HandlerFactory(const AdminApi& api, std::size_t maxBodyBytes):
		_api(api),
		_maxBodyBytes(maxBodyBytes)
	{
	}

	Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
	{
		return new Handler(_api, _maxBodyBytes);
	}

private:
	const AdminApi& _api;
	const std::size_t _maxBodyBytes;
};

} // namespace


std::string AdminServer::readToken(const std::string& path)
{
	std::string text;
	try
	{
		Poco::FileInputStream in(path);
		std::ostringstream all;
		all << in.rdbuf();
		text = all.str();
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::InvalidArgumentException("admin.tokenFile: cannot read " + path + ": " + exc.message());
	}
	Poco::trimInPlace(text);
	if (text.empty()) throw Poco::InvalidArgumentException("admin.tokenFile: " + path + " is empty");
	if (text.size() < MIN_TOKEN_LENGTH)
		throw Poco::InvalidArgumentException("admin.tokenFile: the token in " + path + " is shorter than "
			+ std::to_string(MIN_TOKEN_LENGTH) + " characters");
	for (char c: text)
	{
		if (std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
			throw Poco::InvalidArgumentException("admin.tokenFile: the token in " + path + " must be one word of printable characters");
	}
	return text;
}


AdminServer::AdminServer(const AdminContext& context, const Options& options)
{
	const std::string token = options.tokenFile.empty() ? std::string() : readToken(options.tokenFile);
	_pApi.reset(new AdminApi(context, token, options.allowNoToken));
	Poco::Net::ServerSocket socket;
	try
	{
		socket.bind(Poco::Net::SocketAddress(options.address, static_cast<Poco::UInt16>(options.port)), true);
		socket.listen(64);
	}
	catch (Poco::Exception& exc)
	{
		throw Poco::Net::NetException("admin.address/admin.port: cannot listen on " + options.address + ":"
			+ std::to_string(options.port) + ": " + exc.message());
	}
	_port = socket.address().port();
	Poco::Net::HTTPServerParams::Ptr pParams = new Poco::Net::HTTPServerParams;
	pParams->setMaxThreads(static_cast<int>(options.threads));
	pParams->setMaxQueued(MAX_QUEUED);
	pParams->setTimeout(Poco::Timespan(10, 0));
	pParams->setKeepAlive(false); // see Handler::handleRequest
	pParams->setServerName("imgated");
	_pThreads.reset(new Poco::ThreadPool("imgate-admin", 1, static_cast<int>(options.threads) + 1));
	_pServer.reset(new Poco::Net::HTTPServer(new HandlerFactory(*_pApi, options.maxBodyBytes), *_pThreads, socket, pParams));
}


AdminServer::~AdminServer()
{
	stop();
}


void AdminServer::start()
{
	_pServer->start();
}


void AdminServer::stop()
{
	if (_stopped) return;
	_stopped = true;
	_pServer->stopAll(true);
	_pThreads->joinAll();
}


Poco::UInt16 AdminServer::port() const
{
	return _port;
}

} } // namespace imgate::admin
