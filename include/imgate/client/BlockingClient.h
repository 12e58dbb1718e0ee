//
// BlockingClient.h
//
// imgate C++ client: a small blocking facade over Client for programs
// without callbacks: log in, send and wait for the answer, receive the
// next message. docs/clients-cpp.md.
//

#ifndef imgate_client_BlockingClient_INCLUDED
#define imgate_client_BlockingClient_INCLUDED

#include "imgate/client/Client.h"
#include <condition_variable>
#include <deque>
#include <mutex>

namespace imgate {
namespace client {

class BlockingClient
	/// A Client on its own thread, with acknowledgeAfterHandler = false:
	/// a message that receive() returned is acknowledged when receive() is
	/// called again (or at close()), so a crash while the application works
	/// on it means it is delivered again. Everything else (reconnects, the
	/// outbox, repeats suppressed) is Client's. One application thread at a
	/// time for receive(); send() and history() from any thread.
{
public:
	explicit BlockingClient(ClientOptions options);
		/// Starts the client; nothing waits yet. Throws what Client's
		/// constructor throws.

	~BlockingClient();
		/// close() with a short wait.

	BlockingClient(const BlockingClient&) = delete;
	BlockingClient& operator = (const BlockingClient&) = delete;

	void login(Poco::Timespan timeout = Poco::Timespan(10, 0));
		/// Waits until the client is online. Throws Poco::TimeoutException,
		/// or Poco::IOException with endStatus()'s text when the client
		/// ended instead (a refused LOGIN, a KICK).

	SendResult send(const std::string& toUid, const std::string& payload, Poco::Timespan timeout = Poco::Timespan(30, 0));
	SendResult sendToGroup(const std::string& groupId, const std::string& payload, Poco::Timespan timeout = Poco::Timespan(30, 0));
	SendResult send(const Client::Outgoing& message, Poco::Timespan timeout = Poco::Timespan(30, 0));
		/// Waits for the result. On timeout throws Poco::TimeoutException;
		/// the send stays in the outbox and goes when it can.

	HistoryPage history(const HistoryQuery& query, Poco::Timespan timeout = Poco::Timespan(30, 0));
		/// Waits for the page; Poco::TimeoutException on timeout.

	bool receive(Message& message, Poco::Timespan timeout);
		/// Acknowledges the message the last call returned, then waits for
		/// the next one; false on timeout or once the client has ended.

	void close(Poco::Timespan wait = Poco::Timespan(5, 0));
		/// Acknowledges the last message returned, then Client::close().

	Client& client();
		/// The client underneath (state(), onKick(), ...; its onMessage is
		/// the facade's).

private:
	void acknowledgeLast();

	Client _client;
	std::mutex _mutex;
	std::condition_variable _arrived;
	std::deque<Message> _messages;
	Poco::UInt64 _lastReturned = 0;
	bool _ended = false;
};


inline Client& BlockingClient::client()
{
	return _client;
}

} } // namespace imgate::client

#endif // imgate_client_BlockingClient_INCLUDED
