//
// AdminConnection.h
//
// Layer: admin
// One admin HTTP connection on the listener's event loop: gathers the
// request head and body within total deadlines, hands the request to an
// admin thread, writes the answer and closes without losing it.
//

#ifndef imgate_admin_AdminConnection_INCLUDED
#define imgate_admin_AdminConnection_INCLUDED

#include "server/admin/AdminApi.h"
#include "server/admin/AdminConnectionTable.h"
#include "server/net/Connection.h"
#include "server/net/EventLoop.h"
#include "server/net/PeerAddress.h"
#include <atomic>
#include <memory>
#include <string>

namespace imgate {
namespace admin {

class AdminFront
	/// What an AdminConnection needs from its listener (AdminServer).
{
public:
	class Job
		/// Shared by a connection (its loop) and the admin thread that
		/// runs its request: whichever comes first decides whether a
		/// request still queued runs, or is given up at its deadline.
	{
	public:
		bool start();
			/// Admin thread, before running the request: false if the
			/// connection gave up on it (it must not run at all).

		bool abandon();
			/// Loop thread: true if the request had not started (now it
			/// never will); false if it is running or has run.

	private:
		enum
		{
			QUEUED,
			RUNNING,
			ABANDONED
		};
		std::atomic<int> _state{QUEUED};
	};

	virtual ~AdminFront();

	virtual bool wantsBody(const AdminRequest& request) const = 0;
		/// AdminApi::wantsBody(): only an authorized POST has its body read.

	virtual std::size_t maxBodyBytes() const = 0;

	virtual bool dispatch(const AdminRequest& request, net::EventLoop& loop, Poco::UInt64 connectionId, const std::shared_ptr<Job>& pJob) = 0;
		/// Runs request on an admin thread, unless pJob->start() says the
		/// connection gave up, and posts the answer back to the
		/// connection's respond() on loop. False if every admin thread is
		/// busy and the queue is full.

	virtual AdminConnectionTable& table() = 0;
		/// The listener's connections; each adds and removes itself.
};


class AdminConnection: public net::Connection, public AdminConnectionTable::Entry
	/// Loop thread only (the admin listener's loop). No thread waits for a
	/// client: a slow one holds a few hundred bytes until its deadline,
	/// never an admin thread, so /healthz answers however many there are;
	/// and when they fill the table, the oldest that has not sent its
	/// request makes room for a new one (AdminConnectionTable).
	///
	/// Deadlines, each total (not per read): the first byte within
	/// FIRST_BYTE_SECONDS of the accept (else closed without an answer:
	/// nothing was asked), the head within HEAD_SECONDS of the accept
	/// (408), a body within BODY_SECONDS of the head (408), with no pause
	/// of more than BODY_IDLE_SECONDS inside it (408: "stopped short"), and
	/// the admin thread's answer within ANSWER_SECONDS of the complete
	/// request (503: a request still queued then is never run; one
	/// running may still take effect; an answer that comes within the
	/// deadline is always written). A body is read only when the front
	/// wants it (an authorized POST), up to maxBodyBytes (413). One request
	/// per connection: the answer says Connection: Close.
	///
	/// Closing: the answer gets WRITE_SECONDS to reach the kernel; then
	/// the sending side is shut down (the client reads the answer, then
	/// the end) and what the client still sends is read and dropped, for
	/// at most LINGER_SECONDS and LINGER_BYTES, until it closes too. A
	/// plain close with unread bytes would send a reset, and a client
	/// still writing its request would get a send error instead of the
	/// answer.
{
public:
	enum
	{
		FIRST_BYTE_SECONDS = 1,
		HEAD_SECONDS = 5,
		BODY_SECONDS = 5,
		BODY_IDLE_SECONDS = 1,
		ANSWER_SECONDS = 30,
		WRITE_SECONDS = 2,
		LINGER_SECONDS = 2,
		LINGER_BYTES = 1024 * 1024
	};

	AdminConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer,
		AdminFront& front, const std::string& addressKey);
		/// Adds itself to front.table() (admit() first) under addressKey.

	~AdminConnection() override;

	void respond(const AdminResponse& response);
		/// The admin thread's answer: written if the connection still
		/// waits for it (not after its deadline).

	void refuse(int status, const std::string& message);
		/// Answers error(status, message) at once, if no request is being
		/// answered yet: for a connection the table had no room for.

	static std::string format(const AdminResponse& response, bool headOnly);
		/// The whole HTTP/1.1 answer: status line, headers, body (none for
		/// a HEAD request, whose Content-Length is the body's all the same).

	static AdminResponse error(int status, const std::string& message);
		/// {"error": message} with status.

	AdminConnectionTable::Rank evictionRank() const override;
	void evict() override;
		/// Best effort, a 503 saying why (not to a connection that has its
		/// answer already), then closes at once.
	std::string describe() const override;

protected:
	void onData(const char* data, std::size_t length) override;
	void onTimer() override;
	void onClose() override;
	void onWriteProgress() override;
	bool onEndOfInput() override;
		/// A client may half-close once its request is sent: it is still
		/// answered. One that closes before its request is complete gets
		/// 400 saying so (or nothing, if it sent nothing).

private:
	enum State
	{
		HEAD,
		BODY,
		WAITING,   /// for an admin thread's answer
		WRITING,   /// the answer
		LINGERING  /// answer written, sending side shut down: dropping input until the client closes
	};

	void headComplete(std::size_t headLength);
	void bodyComplete();
	void dispatch();
	void fail(int status, const std::string& message);
	void answer(const AdminResponse& response);
	void written();

	AdminFront& _front;
	std::string _peer;
	std::string _bytes;          /// The head as it comes, then the body.
	AdminRequest _request;
	std::shared_ptr<AdminFront::Job> _pJob;
	Poco::UInt64 _bodyLength = 0;
	std::size_t _scanned = 0;     /// Bytes of the head already searched for its end.
	std::size_t _dropped = 0;     /// Bytes read and dropped while lingering.
	Poco::UInt32 _accepted;       /// Ticks.
	Poco::UInt32 _bodyStart = 0;
	Poco::UInt32 _lastByte = 0;
	bool _headOnly = false;       /// A HEAD request.
	bool _inputEnded = false;     /// The client has shut down its sending side.
	State _state = HEAD;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminConnection_INCLUDED
