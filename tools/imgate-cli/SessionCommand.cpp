//
// SessionCommand.cpp
//

#include "tools/imgate-cli/SessionCommand.h"
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace imgate {
namespace client {

namespace {

const Poco::Timespan ANSWER_TIMEOUT(15, 0);

template <class T>
bool ready(std::future<T>& future)
{
	return future.wait_for(std::chrono::microseconds(ANSWER_TIMEOUT.totalMicroseconds())) == std::future_status::ready;
}

} // namespace


int SessionCommand::run(const Options& options)
{
	Options o = options;
	o.client.reconnect = false;
	Client client(o.client);
	int code;
	if (o.command == "listen")
	{
		code = listen(client, o); // sets its handlers, then starts the client
	}
	else
	{
		client.start();
		code = o.command == "send" ? send(client, o) : history(client, o);
	}
	client.close(Poco::Timespan(2, 0));
	return code;
}


int SessionCommand::failed(const Client& client, const std::string& what, int status, const std::string& message)
{
	std::string why;
	const int ended = client.endStatus(why);
	if (ended == StatusCode::DISCONNECTED || status == StatusCode::DISCONNECTED)
	{
		std::cerr << "imgate-cli: " << (why.empty() ? message : why) << std::endl;
		return EXIT_CONNECTION;
	}
	std::cerr << "imgate-cli: " << what << " failed: " << (why.empty() ? message : why) << std::endl;
	return EXIT_ERROR_STATUS;
}


int SessionCommand::send(Client& client, const Options& o)
{
	Client::Outgoing message;
	if (o.group.empty()) message.toUid = o.args.at(0);
	else message.toGroup = o.group;
	message.payload = o.args.back();
	message.transient = o.transient;
	if (o.transient && !client.waitState(State::ONLINE, o.client.connectTimeout))
	{
		// A transient send is never queued: it needs the login first.
		return failed(client, "send", StatusCode::DISCONNECTED, "not logged in within the connect timeout");
	}
	std::future<SendResult> future = client.send(message);
	if (!ready(future))
	{
		std::cerr << "imgate-cli: no MSG_SEND_ACK within " << ANSWER_TIMEOUT.totalSeconds() << " s" << std::endl;
		return EXIT_CONNECTION;
	}
	const SendResult result = future.get();
	if (!result.ok()) return failed(client, "send", result.status, result.status < 0 ? result.message : statusName(result.status) + ": " + result.message);
	std::cout << (o.transient ? "sent transient" : "sent msg_id=" + std::to_string(result.msgId))
		<< (o.group.empty() ? " to=" + o.args.at(0) : " group=" + o.group) << std::endl;
	return EXIT_OK;
}


int SessionCommand::listen(Client& client, const Options& o)
{
	std::mutex mutex;
	std::condition_variable changed;
	long received = 0;
	bool kicked = false;
	client.onMessage([&](const Message& m)
	{
		std::lock_guard<std::mutex> lock(mutex);
		// Past --count: left unacknowledged for the next session (a handler
		// that throws does not acknowledge), not shown and lost.
		if (o.count > 0 && received >= o.count) throw std::runtime_error("--count reached");
		std::cout << describe(m, o.client.uid) << std::endl;
		++received;
		changed.notify_all();
	});
	client.onKick([&](const Kick& k)
	{
		std::cerr << "imgate-cli: kicked (" << kickReasonName(k.reason) << "): " << k.message << std::endl;
		std::lock_guard<std::mutex> lock(mutex);
		kicked = true;
		changed.notify_all();
	});
	client.onState([&](State state, const std::string&)
	{
		if (state == State::ONLINE) std::cout << "listening as " << o.client.uid << std::endl;
		std::lock_guard<std::mutex> lock(mutex);
		changed.notify_all();
	});
	client.start();
	std::unique_lock<std::mutex> lock(mutex);
	auto done = [&]() { return kicked || (o.count > 0 && received >= o.count) || client.state() == State::CLOSED; };
	if (o.seconds > 0) changed.wait_for(lock, std::chrono::seconds(o.seconds), done);
	else changed.wait(lock, done);
	const bool ended = client.state() == State::CLOSED; // before the close below
	const bool enough = o.count > 0 && received >= o.count;
	const bool wasKicked = kicked;
	lock.unlock();
	// The handlers use this function's locals: the client ends here.
	client.close(Poco::Timespan(2, 0));
	if (wasKicked) return EXIT_ERROR_STATUS;
	if (ended && !enough) return failed(client, "listen", StatusCode::DISCONNECTED, "connection closed by the server");
	return EXIT_OK;
}


int SessionCommand::history(Client& client, const Options& o)
{
	HistoryQuery query;
	query.withUid = o.with;
	query.groupId = o.group;
	query.limit = static_cast<unsigned>(o.limit);
	std::future<HistoryPage> future = client.history(query);
	if (!ready(future))
	{
		std::cerr << "imgate-cli: no HISTORY_RESP within " << ANSWER_TIMEOUT.totalSeconds() << " s" << std::endl;
		return EXIT_CONNECTION;
	}
	const HistoryPage page = future.get();
	if (!page.ok()) return failed(client, "history", page.status, page.status < 0 ? page.message : statusName(page.status) + ": " + page.message);
	for (const Message& m: page.messages) std::cout << describe(m, o.client.uid) << std::endl;
	if (page.more) std::cout << "(older messages exist: raise --limit, up to 200)" << std::endl;
	return EXIT_OK;
}


std::string SessionCommand::describe(const Message& m, const std::string& self)
{
	std::ostringstream out;
	out << "msg_id=" << m.msgId << " from=" << m.fromUid;
	if (!m.groupId.empty()) out << " group=" << m.groupId;
	else if (m.fromUid == self && !m.toUid.empty() && m.toUid != self) out << " to=" << m.toUid;
	if (m.transient) out << " transient";
	out << ": " << m.payload;
	return out.str();
}

} } // namespace imgate::client
