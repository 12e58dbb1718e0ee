//
// BlockingClient.cpp
//

#include "imgate/client/BlockingClient.h"
#include "Poco/Exception.h"

namespace imgate {
namespace client {

namespace {

ClientOptions manual(ClientOptions options)
{
	options.acknowledgeAfterHandler = false;
	return options;
}


template <class T>
T waitFor(std::future<T>& future, Poco::Timespan timeout, const char* what)
{
	if (future.wait_for(std::chrono::microseconds(timeout.totalMicroseconds())) != std::future_status::ready)
		throw Poco::TimeoutException(std::string("no ") + what + " within " + std::to_string(timeout.totalMilliseconds()) + " ms");
	return future.get();
}

} // namespace


BlockingClient::BlockingClient(ClientOptions options):
	_client(manual(std::move(options)))
{
	_client.onMessage([this](const Message& m)
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_messages.push_back(m);
		_arrived.notify_all();
	});
	_client.onState([this](State state, const std::string&)
	{
		if (state != State::CLOSED) return;
		std::lock_guard<std::mutex> lock(_mutex);
		_ended = true;
		_arrived.notify_all();
	});
	_client.start();
}


BlockingClient::~BlockingClient()
{
	close(Poco::Timespan(1, 0));
}


void BlockingClient::login(Poco::Timespan timeout)
{
	if (_client.waitState(State::ONLINE, timeout)) return;
	std::string why;
	if (_client.endStatus(why) != StatusCode::OK) throw Poco::IOException("the client ended: " + why);
	throw Poco::TimeoutException("not logged in within " + std::to_string(timeout.totalMilliseconds()) + " ms");
}


SendResult BlockingClient::send(const std::string& toUid, const std::string& payload, Poco::Timespan timeout)
{
	Client::Outgoing message;
	message.toUid = toUid;
	message.payload = payload;
	return send(message, timeout);
}


SendResult BlockingClient::sendToGroup(const std::string& groupId, const std::string& payload, Poco::Timespan timeout)
{
	Client::Outgoing message;
	message.toGroup = groupId;
	message.payload = payload;
	return send(message, timeout);
}


SendResult BlockingClient::send(const Client::Outgoing& message, Poco::Timespan timeout)
{
	std::future<SendResult> future = _client.send(message);
	return waitFor(future, timeout, "MSG_SEND_ACK");
}


HistoryPage BlockingClient::history(const HistoryQuery& query, Poco::Timespan timeout)
{
	std::future<HistoryPage> future = _client.history(query);
	return waitFor(future, timeout, "HISTORY_RESP");
}


bool BlockingClient::receive(Message& message, Poco::Timespan timeout)
{
	acknowledgeLast();
	std::unique_lock<std::mutex> lock(_mutex);
	_arrived.wait_for(lock, std::chrono::microseconds(timeout.totalMicroseconds()), [this]() { return !_messages.empty() || _ended; });
	if (_messages.empty()) return false;
	message = std::move(_messages.front());
	_messages.pop_front();
	// Transient messages are never acknowledged.
	_lastReturned = message.transient ? 0 : message.msgId;
	return true;
}


void BlockingClient::acknowledgeLast()
{
	Poco::UInt64 id;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		id = _lastReturned;
		_lastReturned = 0;
	}
	if (id != 0) _client.acknowledge(id);
}


void BlockingClient::close(Poco::Timespan wait)
{
	acknowledgeLast();
	_client.close(wait);
}

} } // namespace imgate::client
