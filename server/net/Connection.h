//
// Connection.h
//
// Layer: net
// One non-blocking client socket owned by one EventLoop: reads into the
// loop's buffer, buffers output only while there is something to send.
//

#ifndef imgate_net_Connection_INCLUDED
#define imgate_net_Connection_INCLUDED

#include "server/net/TimerWheel.h"
#include "Poco/Net/StreamSocket.h"
#include <memory>
#include <string>

namespace imgate {
namespace net {

class EventLoop;


class Connection: public TimerWheel::Entry
	/// Base of every connection handler; the net layer knows bytes only.
	/// Subclasses implement onData(), onTimer() and onClose().
	///
	/// Ownership: the EventLoop owns its connections (adopt()). Loop thread
	/// only, for every member but id() (asserted in debug builds). Other
	/// threads refer to a connection by id() and post work to its loop.
	///
	/// Output: append frames to output(); the loop writes every connection
	/// that has output at the end of its turn, so pipelined responses go out
	/// in one send(). While more than HIGH_WATER bytes wait to be sent the
	/// loop stops reading from this connection (TCP back-pressure).
	///
	/// A transport (TLS, WebSocket) transforms: its subclass calls
	/// setTransforming(), so output() returns its plainOutput(), and the loop
	/// calls encodeOutput() before each write, which turns that into bytes
	/// for the wire through wireOutput(). Plain connections pay nothing.
{
public:
	static constexpr std::size_t HIGH_WATER = 256 * 1024;

	Connection(EventLoop& loop, const Poco::Net::StreamSocket& socket);
	virtual ~Connection();

	Poco::UInt64 id() const;
		/// Unique in the process; never reused.

	EventLoop& loop() const;
	const Poco::Net::StreamSocket& socket() const;

	std::string& output();
		/// The output buffer, created on first use; the loop writes it at the
		/// end of the current turn and frees it when empty. A transforming
		/// connection's plainOutput().

	std::size_t outputSize() const;
		/// Bytes for the wire not yet handed to the kernel (for a
		/// transforming connection, what encodeOutput() made of its output).

	bool readPaused() const;
		/// True while the loop does not read from this connection because
		/// too much output waits (back-pressure) or it is closing.

	void close();
		/// Closes at once: the socket is closed, onClose() runs, and the loop
		/// destroys the object at the end of its turn. Idempotent.

	void closeAfterFlush(Poco::UInt32 lingerTicks);
		/// Stops reading, writes what is buffered and what expectsOutput()
		/// says is still coming, then closes; closes anyway after
		/// lingerTicks if the peer does not read or the output never comes.

	bool closing() const;
		/// True after close() or closeAfterFlush().

protected:
	virtual void onData(const char* data, std::size_t length) = 0;
		/// Bytes arrived. May call close() or closeAfterFlush().

	virtual void onTimer() = 0;
		/// The entry scheduled with loop().timers() has become due (not
		/// called for a connection that is closing after flush).

	virtual void onClose() = 0;
		/// Called once, when the connection closes for any reason.

	virtual void onWriteProgress();
		/// Some output was handed to the kernel. Default: nothing.

	virtual bool onEndOfInput();
		/// The peer shut down its sending side: no more bytes will come.
		/// Return true to close now (the default), or false to keep the
		/// connection open for writing (the loop no longer reads it; call
		/// closeAfterFlush() or close() when done), as an HTTP server does
		/// for a client that half-closes after its request.

	virtual bool expectsOutput() const;
		/// True while output is still to come that a closeAfterFlush() must
		/// wait for (replies to requests read before it, answered later by
		/// another thread). The loop asks when the buffer has emptied;
		/// append to output() when it comes. Default: false.

	void setTransforming();
		/// From the subclass's constructor: output() is plainOutput(), and
		/// encodeOutput() runs before each write.

	virtual std::string& plainOutput();
		/// A transforming connection's buffer of output to encode. Default:
		/// never called.

	virtual void encodeOutput();
		/// Loop thread, before each write of a transforming connection (and
		/// while it closes after flush): encode what plainOutput() holds
		/// into wireOutput(). Throwing closes the connection. Default: nothing.

	std::string& wireOutput();
		/// The buffer the loop writes to the socket (for a transforming
		/// connection; plain ones use output()).

	std::unique_ptr<std::string> takeSpareBuffer();
		/// An empty buffer from the loop's spares (or a new one), for a
		/// transforming connection's plainOutput().

	void giveSpareBuffer(std::unique_ptr<std::string> pBuffer);
		/// Hands an emptied buffer back to the loop (kept as a spare if
		/// there is room).
private:
	friend class EventLoop;

	enum Flag: Poco::UInt8
	{
		CLOSED       = 1,
		DRAINING     = 2,  // closeAfterFlush(): no more reads
		WANT_WRITE   = 4,  // EPOLLOUT registered
		READ_PAUSED  = 8,  // EPOLLIN removed: output above HIGH_WATER
		DIRTY        = 16, // in the loop's flush list
		INPUT_ENDED  = 32, // the peer sent its FIN and the connection stays: no more reads
		TRANSFORMS   = 64  // setTransforming(): output() is plainOutput()
	};

	EventLoop& _loop;
	Poco::Net::StreamSocket _socket;
	std::unique_ptr<std::string> _pOutput;
	Poco::UInt64 _id;
	Poco::UInt32 _outputSent = 0; /// Bytes at the front of *_pOutput already sent.
	Poco::UInt8 _flags = 0;
};


inline Poco::UInt64 Connection::id() const
{
	return _id;
}


inline EventLoop& Connection::loop() const
{
	return _loop;
}


inline const Poco::Net::StreamSocket& Connection::socket() const
{
	return _socket;
}


inline std::size_t Connection::outputSize() const
{
	return _pOutput ? _pOutput->size() - _outputSent : 0;
}


inline bool Connection::readPaused() const
{
	return (_flags & READ_PAUSED) != 0;
}


inline bool Connection::closing() const
{
	return (_flags & (CLOSED | DRAINING)) != 0;
}

} } // namespace imgate::net

#endif // imgate_net_Connection_INCLUDED
