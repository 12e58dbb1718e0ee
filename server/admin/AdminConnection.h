//
// AdminConnection.h
//
// Layer: admin
// One admin HTTP connection on the listener's event loop: gathers the
// request head and body within total deadlines, hands the request to an
// admin thread, writes the answer.
//

#ifndef imgate_admin_AdminConnection_INCLUDED
#define imgate_admin_AdminConnection_INCLUDED

#include "server/admin/AdminApi.h"
#include "server/net/Connection.h"
#include "server/net/EventLoop.h"
#include "server/net/PeerAddress.h"
#include <string>

namespace imgate {
namespace admin {

class AdminFront
	/// What an AdminConnection needs from its listener (AdminServer).
{
public:
	virtual ~AdminFront();

	virtual bool wantsBody(const AdminRequest& request) const = 0;
		/// AdminApi::wantsBody(): only an authorized POST has its body read.

	virtual std::size_t maxBodyBytes() const = 0;

	virtual bool dispatch(const AdminRequest& request, net::EventLoop& loop, Poco::UInt64 connectionId) = 0;
		/// Runs request on an admin thread and posts the answer back to the
		/// connection's respond() on loop. False if every admin thread is
		/// busy and the queue is full.
};


class AdminConnection: public net::Connection
	/// Loop thread only (the admin listener's loop). No thread waits for a
	/// client: a slow one holds a few hundred bytes until its deadline,
	/// never an admin thread, so /healthz answers however many there are.
	///
	/// Deadlines, each total (not per read): the head within HEAD_SECONDS
	/// of the accept (408), a body within BODY_SECONDS of the head (408),
	/// and no pause of more than BODY_IDLE_SECONDS inside it (408: "stopped
	/// short"). A body is read only when the front wants it (an authorized
	/// POST), up to maxBodyBytes (413). One request per connection: the
	/// answer says Connection: Close, and bytes after the request are
	/// never read.
{
public:
	enum
	{
		HEAD_SECONDS = 5,
		BODY_SECONDS = 5,
		BODY_IDLE_SECONDS = 1,
		CLOSE_LINGER_SECONDS = 2
	};

	AdminConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, AdminFront& front);
	~AdminConnection() override;

	void respond(const AdminResponse& response);
		/// Writes the answer and closes after it is flushed.

	static std::string format(const AdminResponse& response, bool headOnly);
		/// The whole HTTP/1.1 answer: status line, headers, body (none for
		/// a HEAD request, whose Content-Length is the body's all the same).

	static AdminResponse error(int status, const std::string& message);
		/// {"error": message} with status.

protected:
	void onData(const char* data, std::size_t length) override;
	void onTimer() override;
	void onClose() override;
	bool onEndOfInput() override;
		/// A client may half-close once its request is sent: it is still
		/// answered. One that closes before its request is complete gets
		/// 400 saying so (or nothing, if it sent nothing).

private:
	enum State
	{
		HEAD,
		BODY,
		WAITING, /// for an admin thread's answer
		DONE
	};

	void headComplete(std::size_t headLength);
	void bodyComplete();
	void dispatch();
	void fail(int status, const std::string& message);

	AdminFront& _front;
	std::string _peer;
	std::string _bytes;          /// The head as it comes, then the body.
	AdminRequest _request;
	Poco::UInt64 _bodyLength = 0;
	Poco::UInt32 _bodyStart = 0;   /// Ticks.
	Poco::UInt32 _lastByte = 0;
	bool _headOnly = false;       /// A HEAD request.
	State _state = HEAD;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminConnection_INCLUDED
