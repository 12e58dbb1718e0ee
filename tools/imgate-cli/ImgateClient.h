//
// ImgateClient.h
//
// A blocking protocol-v1 client on one TCP connection, for imgate-cli,
// the integration tests and small tools. Not for servers.
//

#ifndef imgate_client_ImgateClient_INCLUDED
#define imgate_client_ImgateClient_INCLUDED

#include "server/protocol/Command.h"
#include "server/protocol/FrameDecoder.h"
#include "server/protocol/Status.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Timespan.h"
#include <deque>
#include <functional>
#include <vector>
#include <string>

namespace google {
namespace protobuf {
class MessageLite;
} }

namespace imgate {
namespace client {

struct Reply
	/// One frame received from the server.
{
	Poco::UInt16 cmd = 0;
	Poco::UInt16 status = 0;
	Poco::UInt32 seq = 0;
	std::string body;

	protocol::Command command() const { return static_cast<protocol::Command>(cmd); }
	protocol::Status result() const { return static_cast<protocol::Status>(status); }

	template <class M>
	M parse() const
		/// The body as message M; throws Poco::DataFormatException if it does not parse.
	{
		M m;
		if (!m.ParseFromString(body)) throw Poco::DataFormatException("body does not parse");
		return m;
	}
};


class ImgateClient
	/// One thread at a time. Frames that arrive while waiting for a
	/// particular reply are queued and returned by later receive() calls, so
	/// nothing the server sends is lost.
{
public:
	ImgateClient(const std::string& host, Poco::UInt16 port, Poco::Timespan connectTimeout = Poco::Timespan(5, 0),
		const std::string& sourceAddress = "");
		/// Connects (from sourceAddress, if given); throws
		/// Poco::Net::NetException naming host and port.

	~ImgateClient();

	void sendRaw(const std::string& bytes);
	void send(protocol::Command cmd, Poco::UInt32 seq, const google::protobuf::MessageLite& body);
	void send(protocol::Command cmd, Poco::UInt32 seq);

	Poco::UInt32 nextSeq();
		/// 1, 2, 3, ...

	bool receive(Reply& reply, Poco::Timespan timeout);
		/// The next frame (queued first). False on timeout or when the server
		/// closed the connection (then closed() is true).

	bool receiveReply(Reply& reply, protocol::Command cmd, Poco::UInt32 seq, Poco::Timespan timeout);
		/// Waits for the frame with this cmd and seq, or an ERROR with this
		/// seq (returned instead); other frames stay queued.

	bool receiveCommand(Reply& reply, protocol::Command cmd, Poco::Timespan timeout);
		/// Waits for the next frame with this cmd; other frames stay queued.

	Reply login(const std::string& uid, const std::string& token, const std::string& device = "", Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// Sends LOGIN and returns LOGIN_RESP. Throws Poco::TimeoutException.

	Reply sendMessage(const std::string& toUid, Poco::UInt64 clientMsgId, const std::string& payload, Poco::Timespan timeout = Poco::Timespan(5, 0));
		/// Sends MSG_SEND and returns its MSG_SEND_ACK. Throws Poco::TimeoutException.

	void ackDeliveries(const std::vector<Poco::UInt64>& msgIds);
		/// Sends MSG_DELIVER_ACK.

	bool closed() const;
		/// True once the server closed the connection.

	bool waitClosed(Poco::Timespan timeout);
		/// Reads (and queues) until the server closes; false on timeout.

	void close();

	Poco::Net::StreamSocket& socket();

private:
	bool readSome(Poco::Timespan timeout);
	bool receiveMatching(Reply& reply, Poco::Timespan timeout, const std::function<bool(const Reply&)>& match);

	Poco::Net::StreamSocket _socket;
	protocol::FrameDecoder _decoder;
	std::deque<Reply> _queue;
	Poco::UInt32 _seq = 0;
	bool _closed = false;
};


inline bool ImgateClient::closed() const
{
	return _closed;
}


inline Poco::Net::StreamSocket& ImgateClient::socket()
{
	return _socket;
}

} } // namespace imgate::client

#endif // imgate_client_ImgateClient_INCLUDED
