//
// session.cpp
//
// Fuzz target: one Session driven with arbitrary bytes, as a client would
// send them, through the real event loop and Connection code but no
// network: the session's socket is one end of a socketpair, and the loop
// runs turn by turn on the fuzzer's thread. Every frame reaches the
// decoder and the body parsers behind it (login, send, acknowledgement,
// logout; to oneself, so deliveries flow too), with the memory store.
//
// Input: a sequence of chunks, each a length byte L then L bytes (the last
// chunk takes what is left): the chunks are written one by one with a
// loop turn after each, so frames arrive split and pipelined. At the end
// the client hangs up; the session must be gone and nothing must leak.
//

#include "server/net/Connection.h"
#include "server/net/LoopPool.h"
#include "server/net/PeerAddress.h"
#include "server/plugin/FilterChain.h"
#include "server/session/SessionConfig.h"
#include "server/session/SessionManager.h"
#include "server/store/MemoryMessageStore.h"
#include "Poco/AutoPtr.h"
#include "Poco/Logger.h"
#include "Poco/NullChannel.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/StreamSocketImpl.h"
#include <cstdint>
#include <cstdlib>
#include <sys/socket.h>
#include <unistd.h>

using namespace imgate;

namespace {

class FixedClock: public net::Clock
	/// Time stands still: no timeout fires while the fuzzer works.
{
public:
	Poco::Int64 milliseconds() const override
	{
		return 0;
	}
};

void drain(int fd)
{
	char buffer[65536];
	while (::read(fd, buffer, sizeof(buffer)) > 0)
	{
	}
}

bool quietLogs()
{
	Poco::Logger::root().setChannel(Poco::AutoPtr<Poco::Channel>(new Poco::NullChannel));
	Poco::Logger::root().setLevel(Poco::Message::PRIO_FATAL);
	return true;
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	static const bool initialized = quietLogs();
	(void) initialized;
	static const FixedClock clock;

	session::SessionConfig config;
	config.allowAnonymous = true;
	config.maxBodySize = 4096;
	config.maxPayloadSize = 1024;
	config.window = 4;
	net::LoopPool loops(1, 16, clock);
	store::MemoryMessageStore::Limits limits;
	limits.maxPendingPerRecipient = 64;
	limits.maxBytes = 1 << 20;
	limits.idempotencyEntries = 64;
	store::MemoryMessageStore store(limits);
	plugin::FilterChain filters;
	session::SessionManager manager(config, loops, store, filters);
	net::EventLoop& loop = loops.loop(0);

	int fds[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
	Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fds[0]));
	loop.adopt(manager.createConnection(loop, socket, net::PeerAddress(), manager.admissionTicket()));

	std::size_t at = 0;
	while (at < size && loop.connectionCount() > 0)
	{
		std::size_t length = data[at++];
		if (length == 0 || length > size - at) length = size - at;
		if (length > 0 && ::write(fds[1], data + at, length) < 0) break; // the session closed and the buffer is full
		at += length;
		loop.runTurn(0);
		loop.runTurn(0); // the store's answers, posted to the loop
		drain(fds[1]);
	}
	::close(fds[1]);
	for (int i = 0; i < 8 && loop.connectionCount() > 0; ++i) loop.runTurn(0);
	if (loop.connectionCount() != 0) std::abort(); // a hung-up session must go
	return 0;
}
